// JIT symbol maps (/tmp/perf-PID.map, written by node --perf-basic-prof, JVM perf agents, LuaJIT...): parsing and lookup.

import { readFileSync } from "node:fs";
import { inOtherMountNamespace } from "./proc.js";
import { countAtOrBelow } from "./sorted.js";

export interface PerfMapEntry {
  start: number;
  size: number;
  name: string;
}

/**
 * Parse a perf map: one `START SIZE NAME` line per JIT'd function, hex
 * numbers with or without 0x, NAME to the end of the line (spaces
 * allowed). Lines that do not parse (a partly written last line) are
 * skipped. Sorted by start; for code regions reused by a later line, the
 * later line wins (the runtime wrote it last).
 */
export function parsePerfMap(text: string): PerfMapEntry[] {
  const out: (PerfMapEntry & { seq: number })[] = [];
  let seq = 0;
  for (const line of text.split("\n")) {
    const m = /^(?:0x)?([0-9a-fA-F]+) (?:0x)?([0-9a-fA-F]+) (.+)$/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1]!, 16);
    const size = parseInt(m[2]!, 16);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || size === 0) continue;
    out.push({ start, size, name: m[3]!, seq: seq++ });
  }
  out.sort((a, b) => a.start - b.start || b.seq - a.seq);
  // drop entries that a later-written entry at the same start replaced
  const dedup = out.filter((e, i) => i === 0 || out[i - 1]!.start !== e.start);
  return dedup.map(({ start, size, name }) => ({ start, size, name }));
}

/** The entry covering `address`, undefined when none does. */
export function perfMapLookup(entries: readonly PerfMapEntry[], address: number): PerfMapEntry | undefined {
  const e = entries[countAtOrBelow(entries, (x) => x.start, address) - 1];
  return e !== undefined && address < e.start + e.size ? e : undefined;
}

/**
 * Where process `pid`'s perf map is: /tmp/perf-PID.map, or for a process in
 * another mount (and pid) namespace, its own /tmp under /proc/PID/root,
 * named by its pid inside its namespace (the runtime names it by getpid()).
 */
export function perfMapPath(pid: number): string {
  let nsPid = pid;
  try {
    const m = /^NSpid:\s+([\d\s]+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    const ids = m?.[1]!.trim().split(/\s+/).map(Number);
    if (ids !== undefined && ids.length > 0) nsPid = ids[ids.length - 1]!;
  } catch {
    // no status: the process is gone; use its pid as we see it
  }
  return inOtherMountNamespace(pid) ? `/proc/${pid}/root/tmp/perf-${nsPid}.map` : `/tmp/perf-${nsPid}.map`;
}

/** The process's perf map now, undefined when it writes none. */
export function readPerfMap(pid: number): PerfMapEntry[] | undefined {
  try {
    return parsePerfMap(readFileSync(perfMapPath(pid), "utf8"));
  } catch {
    return undefined;
  }
}
