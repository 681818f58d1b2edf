// The event path's CPU cost: raw trace_pipe_raw pages captured from a real
// run of 1,000,000 syscalls:sys_enter_getppid events, run (a) through the
// live path of a compiled script (bench/replay.ts: pipeline, PageEvent,
// dispatcher, run loop, generated handler counting `pid() == target()`),
// (b) through the pipeline alone to a counting callback, against (c) a bare
// decode loop over the same pages (headers walked, common_pid summed,
// nothing else). All run in this process on the same captured buffers, timed
// by this process's CPU time (the machine may be shared: wall time is not).

import { spawnSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EventPipeline, PAGE_HEADER } from "../runtime/events/index.js";
import { TraceInstance } from "../runtime/tracefs/index.js";
import { reapLeftovers } from "../runtime/tracefs/reap.js";
import { replayer } from "./replay.js";

const EVENTS = 1_000_000;

export interface Captured {
  pages: { cpu: number; buf: Buffer }[];
  /** the ring buffer's sub-buffer ("page") size: what one read(2) returns */
  pageSize: number;
  id: number;
  pid: number;
}

function getppidProgram(dir: string): string {
  const src = join(dir, "getppid.c");
  const exe = join(dir, "getppid");
  writeFileSync(src, "#include <stdlib.h>\n#include <unistd.h>\n#include <sys/syscall.h>\nint main(int c, char **v) { long n = atol(v[1]); for (long i = 0; i < n; i++) syscall(SYS_getppid); return 0; }\n");
  const r = spawnSync("gcc", ["-O2", "-o", exe, src], { encoding: "latin1" });
  if (r.status !== 0) throw new Error(`gcc failed: ${r.stderr}`);
  return exe;
}

/** Runs the program under a private instance and keeps every page it produced. */
export function capture(): Captured {
  const dir = mkdtempSync(join(tmpdir(), "tstap-firehose-"));
  reapLeftovers();
  const inst = TraceInstance.create({ bufferKb: 48 * 1024 });
  try {
    const exe = getppidProgram(dir);
    const sub = Number(inst.read("buffer_subbuf_size_kb").trim());
    const pageSize = sub > 0 ? sub * 1024 : 4096;
    const id = inst.enableEvent("syscalls", "sys_enter_getppid");
    inst.tracingOn(true);
    const r = spawnSync(exe, [String(EVENTS)]);
    inst.tracingOn(false);
    const pages: { cpu: number; buf: Buffer }[] = [];
    for (const cpu of inst.cpus()) {
      const fd = openSync(join(inst.dir, "per_cpu", `cpu${cpu}`, "trace_pipe_raw"), constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        for (;;) {
          const buf = Buffer.alloc(pageSize);
          let n = 0;
          try {
            n = readSync(fd, buf, 0, pageSize, null);
          } catch {
            break;
          }
          if (n <= 0) break;
          pages.push({ cpu, buf });
        }
      } finally {
        closeSync(fd);
      }
    }
    return { pages, pageSize, id, pid: r.pid! };
  } finally {
    inst.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The floor: walk every record header, sum common_pid of data events. */
export function bareDecode(pages: { buf: Buffer }[]): { events: number; sum: number } {
  let events = 0;
  let sum = 0;
  for (const { buf } of pages) {
    const u32 = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
    const end = PAGE_HEADER + (buf.readUInt32LE(8) & ((1 << 27) - 1));
    let pos = PAGE_HEADER;
    while (pos + 4 <= end) {
      const h = u32[pos >>> 2]!;
      const tl = h & 31;
      if (tl === 0) {
        const len = u32[(pos >>> 2) + 1]! - 4;
        sum += u32[(pos >>> 2) + 3]! | 0;
        events++;
        pos += 8 + len;
      } else if (tl <= 28) {
        sum += u32[(pos >>> 2) + 2]! | 0;
        events++;
        pos += 4 + tl * 4;
      } else if (tl === 29) {
        if (h >>> 5 === 0) break;
        pos += 4 + u32[(pos >>> 2) + 1]!;
      } else pos += 8;
    }
  }
  return { events, sum };
}

/** Events per second of CPU time (best of a few passes of at least `minSeconds` each). */
export function rate(fn: () => number, minSeconds = 0.3, passes = 3): { perSec: number; events: number } {
  fn(); // warm-up
  let best = 0;
  let events = 0;
  for (let p = 0; p < passes; p++) {
    let n = 0;
    const c0 = process.cpuUsage();
    let t = 0;
    do {
      n += fn();
      const c = process.cpuUsage(c0);
      t = (c.user + c.system) / 1e6;
    } while (t < minSeconds);
    events += n;
    best = Math.max(best, n / t);
  }
  return { perSec: best, events };
}

/** Pages fed between two dispatches: 1 MiB of them, whatever the page size. */
function batchPages(pageSize: number): number {
  return Math.max(1, Math.floor((1 << 20) / pageSize));
}

/** The script's first pass over the pages in a fresh node run as bin/tstap runs one (bench/cold-pass.ts). */
function coldPass(cap: Captured): string {
  const dir = mkdtempSync(join(tmpdir(), "tstap-cold-"));
  try {
    const file = join(dir, "pages");
    writeFileSync(file, Buffer.concat(cap.pages.map((p) => p.buf.subarray(0, cap.pageSize))));
    const script = join(dirname(fileURLToPath(import.meta.url)), "cold-pass.js");
    const args = ["--no-concurrent-recompilation", "--no-lazy-feedback-allocation", script, file, String(cap.pageSize), String(cap.pid), cap.pages.map((p) => p.cpu).join(",")];
    const r = spawnSync(process.execPath, args, { encoding: "latin1" });
    const m = /^(\d+) (\S+) (\d+)$/.exec(r.stdout.trim());
    if (r.status !== 0 || !m) return `failed (${r.stderr.trim().split("\n").slice(-1)[0] ?? r.status})`;
    if (m[3] !== String(EVENTS)) return `counted ${m[3]} of the program's ${EVENTS} events: wrong`;
    return `${m[2]} ns/event over ${m[1]} events`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const COUNT_SCRIPT = 'global n; probe kernel.trace("syscalls:sys_enter_getppid") { if (pid() == target()) n++ } probe end { println(n) }';

export async function benchFirehose(): Promise<string[]> {
  const cap = capture();
  const total = bareDecode(cap.pages).events;
  if (total < EVENTS) throw new Error(`captured only ${total} of ${EVENTS} events (lost?)`);
  const cold = coldPass(cap);
  let counted = 0;
  const pipeline = new EventPipeline(0n, cap.pageSize);
  pipeline.on(cap.id, (v) => {
    if (v.pid === cap.pid) counted++;
  });
  const bare = rate(() => bareDecode(cap.pages).events);
  // pages go in 1 MiB at a time, as the live reads deliver them between dispatches
  const batch = batchPages(cap.pageSize);
  const feed = (): number => {
    let n = 0;
    for (let i = 0; i < cap.pages.length; i++) {
      pipeline.pushCopy(cap.pages[i]!.cpu, cap.pages[i]!.buf);
      if (i % batch === batch - 1) n += pipeline.dispatch();
    }
    return n + pipeline.dispatch();
  };
  const piped = rate(feed);
  counted = 0;
  feed();
  const per = counted;
  const live = await replayer(COUNT_SCRIPT, cap.pid, cap.pageSize);
  let passes = 0;
  const script = rate(() => {
    passes++;
    return live.pass(cap.pages);
  });
  // checked: over all its passes the script counted exactly the program's events
  const printed = live.end().trim();
  const expected = passes * EVENTS;
  if (printed !== String(expected)) throw new Error(`the script counted ${printed} over ${passes} passes, not ${expected}`);
  const cpus = new Set(cap.pages.map((p) => p.cpu)).size;
  const ns = (r: { perSec: number }): string => `${(1e9 / r.perSec).toFixed(1)} ns/event`;
  return [
    `captured: ${total} sys_enter_getppid events in ${cap.pages.length} pages from ${cpus} CPU(s); rates per second of CPU time, best of 3`,
    `bare decode loop:                     ${(bare.perSec / 1e6).toFixed(1)} M events/s (${ns(bare)})`,
    `pipeline to a counting callback:      ${(piped.perSec / 1e6).toFixed(1)} M events/s (${ns(piped)}; a pass counts ${per}, expected ${EVENTS})`,
    `compiled script, live path from page: ${(script.perSec / 1e6).toFixed(1)} M events/s (${ns(script)}; ${passes} passes counted ${printed}, expected ${expected})`,
    `compiled script, first pass cold:     ${cold} (a node of its own with bin/tstap's V8 flags: the warm-up a live run's first events pay)`,
    `ratios to the bare loop: pipeline ${(piped.perSec / bare.perSec).toFixed(2)}, script ${(script.perSec / bare.perSec).toFixed(2)}`,
  ];
}
