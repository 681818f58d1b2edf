// The event pipeline's hot path: raw trace_pipe_raw pages captured from a
// real run of 1,000,000 syscalls:sys_enter_getppid events, decoded, merged
// across CPUs and dispatched to a counting handler, against a bare decode
// loop over the same pages (headers walked, common_pid summed, nothing
// else). Both run in this process on the same captured buffers.

import { spawnSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventPipeline, PAGE_HEADER } from "../runtime/events/index.js";
import { TraceInstance } from "../runtime/tracefs/index.js";
import { reapLeftovers } from "../runtime/tracefs/reap.js";

const EVENTS = 1_000_000;

interface Captured {
  pages: { cpu: number; buf: Buffer }[];
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
function capture(): Captured {
  const dir = mkdtempSync(join(tmpdir(), "tstap-firehose-"));
  reapLeftovers();
  const inst = TraceInstance.create({ bufferKb: 48 * 1024 });
  try {
    const exe = getppidProgram(dir);
    const id = inst.enableEvent("syscalls", "sys_enter_getppid");
    inst.tracingOn(true);
    const r = spawnSync(exe, [String(EVENTS)]);
    inst.tracingOn(false);
    const pages: { cpu: number; buf: Buffer }[] = [];
    for (const cpu of inst.cpus()) {
      const fd = openSync(join(inst.dir, "per_cpu", `cpu${cpu}`, "trace_pipe_raw"), constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        for (;;) {
          const buf = Buffer.alloc(4096);
          let n = 0;
          try {
            n = readSync(fd, buf, 0, 4096, null);
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
    return { pages, id, pid: r.pid! };
  } finally {
    inst.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The floor: walk every record header, sum common_pid of data events. */
function bareDecode(pages: { buf: Buffer }[]): { events: number; sum: number } {
  let events = 0;
  let sum = 0;
  for (const { buf } of pages) {
    const u32 = new Uint32Array(buf.buffer, buf.byteOffset, 1024);
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

function rate(fn: () => number, minSeconds = 1): { perSec: number; events: number } {
  fn(); // warm-up
  let events = 0;
  const t0 = process.hrtime.bigint();
  let t = 0;
  do {
    events += fn();
    t = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (t < minSeconds);
  return { perSec: events / t, events };
}

export async function benchFirehose(): Promise<string[]> {
  const cap = capture();
  const total = bareDecode(cap.pages).events;
  if (total < EVENTS) throw new Error(`captured only ${total} of ${EVENTS} events (lost?)`);
  let counted = 0;
  const pipeline = new EventPipeline(0n);
  pipeline.on(cap.id, (v) => {
    if (v.pid === cap.pid) counted++;
  });
  const bare = rate(() => bareDecode(cap.pages).events);
  const piped = rate(() => {
    for (const p of cap.pages) pipeline.pushCopy(p.cpu, p.buf);
    return pipeline.dispatch();
  });
  // one more pass, checked: the handler saw exactly the program's events
  counted = 0;
  for (const p of cap.pages) pipeline.pushCopy(p.cpu, p.buf);
  pipeline.dispatch();
  const per = counted;
  const cpus = new Set(cap.pages.map((p) => p.cpu)).size;
  return [
    `captured: ${total} sys_enter_getppid events in ${cap.pages.length} pages from ${cpus} CPU(s)`,
    `bare decode loop:            ${(bare.perSec / 1e6).toFixed(1)} M events/s`,
    `decode+merge+dispatch+count: ${(piped.perSec / 1e6).toFixed(1)} M events/s (a pass counts ${per} events of the program, expected ${EVENTS})`,
    `dispatch / bare ratio:       ${(piped.perSec / bare.perSec).toFixed(2)}`,
  ];
}
