// stap's `-v` pass report: one line per pass on stderr, with the memory the
// process holds after the pass and the time the pass took, in stap's shape:
//   Pass 1: parsed user script and 9 library scripts using 90112virt/61236res/37868shr/43720data kb, in 120usr/30sys/152real ms.
// The numbers are this process's own: /proc/self/statm read as stap reads
// it (total size, resident, shared, data+stack, in kB), CPU time from
// getrusage (user, system; children included, as stap's times() counts
// them), wall-clock time from a monotonic clock.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { onForget } from "../../runtime/host-state.js";

/** A point in time a pass's cost is measured from. */
export interface PassClock {
  userUs: number;
  systemUs: number;
  realMs: number;
}

/** The clock a pass report measures from; `reported` false (no -v for that pass) reads nothing. */
export function startClock(reported = true): PassClock {
  if (!reported) return { userUs: 0, systemUs: 0, realMs: 0 };
  const r = process.resourceUsage();
  // the -c command and other children count too, as stap's tms_cutime does
  const children = childCpu();
  return { userUs: r.userCPUTime + children.user, systemUs: r.systemCPUTime + children.system, realMs: performance.now() };
}

/** CPU time of reaped children, in µs (from /proc/self/stat's cutime/cstime). */
function childCpu(): { user: number; system: number } {
  try {
    const stat = readFileSync("/proc/self/stat", "latin1");
    // fields after the ")" that ends the command name: state is field 3, cutime 16, cstime 17
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const tick = 1e6 / 100; // USER_HZ is 100 on every Linux ABI
    return { user: Number(f[13]) * tick, system: Number(f[14]) * tick };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** `in Uusr/Ssys/Rreal ms.`: the time since `from`, in whole milliseconds. */
export function timesSince(from: PassClock): string {
  const now = startClock();
  const ms = (us: number): number => Math.max(0, Math.trunc(us / 1000));
  return `in ${ms(now.userUs - from.userUs)}usr/${ms(now.systemUs - from.systemUs)}sys/${Math.max(0, Math.trunc(now.realMs - from.realMs))}real ms.`;
}

/** `using Vvirt/Rres/Sshr/Ddata kb, `: this process's memory now, read as stap reads /proc/self/statm. */
export function memoryUsage(): string {
  try {
    const pages = readFileSync("/proc/self/statm", "latin1").trim().split(/\s+/).map(Number);
    const kb = (n: number | undefined): number => Math.trunc(((n ?? 0) * pageSize()) / 1024);
    return `using ${kb(pages[0])}virt/${kb(pages[1])}res/${kb(pages[2])}shr/${kb(pages[5])}data kb, `;
  } catch {
    return "";
  }
}

let pageBytes: number | undefined;
onForget(() => {
  pageBytes = undefined;
});

/** The page size statm counts in: VmSize (kB) over statm's total pages. */
function pageSize(): number {
  if (pageBytes !== undefined) return pageBytes;
  pageBytes = 4096;
  try {
    const status = readFileSync("/proc/self/status", "latin1");
    const vmKb = Number(/^VmSize:\s+(\d+) kB/m.exec(status)?.[1]);
    const pages = Number(readFileSync("/proc/self/statm", "latin1").split(" ")[0]);
    const ratio = (vmKb * 1024) / pages;
    // the two reads are a moment apart: round to the power of two it must be
    if (ratio > 0 && Number.isFinite(ratio)) pageBytes = 2 ** Math.round(Math.log2(ratio));
  } catch {
    // keep 4096
  }
  return pageBytes;
}

/** stap's `%d probe, ` / `%d probes, `. */
export function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
