// TEST SUPPORT ONLY: a small KernelTraceSession (runtime/kernel-source.ts)
// over a private tracefs instance, so the kernel probes' integration test can
// run on the real kernel before/independently of the kernel back end. It
// reads per_cpu/cpuN/trace_pipe_raw pages (non-blocking), decodes the ring
// buffer's compressed headers, sorts each read round by timestamp, and
// decodes fields from the events' `format`. The product uses the kernel
// back end's session instead.

import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, writeFileSync, constants } from "node:fs";
import { join } from "node:path";
import type { DecodedEvent, FieldValue } from "../../runtime/kernel-dispatch.js";
import type { KernelTraceSession } from "../../runtime/kernel-source.js";
import type { Long } from "../../runtime/int64.js";
import { readTracepointFormat, type TracepointField, type TracepointFormat } from "../../src/targets/tracepoints.js";

const TRACEFS = "/sys/kernel/tracing";
const PAGE = 4096;
let seq = 0;

interface Raw {
  ts: bigint;
  cpu: number;
  data: Buffer;
}

function readInt(b: Buffer, off: number, size: number, signed: boolean): Long {
  switch (size) {
    case 1:
      return signed ? b.readInt8(off) : b.readUInt8(off);
    case 2:
      return signed ? b.readInt16LE(off) : b.readUInt16LE(off);
    case 4:
      return signed ? b.readInt32LE(off) : b.readUInt32LE(off);
    default: {
      const v = b.readBigInt64LE(off);
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
  }
}

function cstr(b: Buffer, start: number, end: number): string {
  const nul = b.indexOf(0, start);
  return b.toString("latin1", start, nul >= 0 && nul < end ? nul : end);
}

function field(b: Buffer, f: TracepointField): FieldValue {
  if (f.dynamic) {
    const loc = b.readUInt32LE(f.offset);
    let off = loc & 0xffff;
    const len = loc >>> 16;
    if (f.dynamic === "rel_loc") off += f.offset + 4;
    return f.shape === "string" ? cstr(b, off, off + len) : b.toString("latin1", off, off + len);
  }
  if (f.shape === "string") return cstr(b, f.offset, f.offset + f.size);
  if (f.shape === "int-array") {
    const out: Long[] = [];
    for (let i = 0; i < (f.arrayLen ?? 0); i++) out.push(readInt(b, f.offset + i * f.elemSize!, f.elemSize!, f.signed));
    return out;
  }
  if (f.shape === "bytes") return b.toString("latin1", f.offset, f.offset + f.size);
  return readInt(b, f.offset, f.size, f.signed);
}

/** Decode one trace_pipe_raw page into raw events. */
export function decodePage(page: Buffer, len: number, cpu: number, out: Raw[]): void {
  let ts = page.readBigUInt64LE(0);
  const commit = Number(page.readBigUInt64LE(8) & 0xfffffn);
  const end = Math.min(16 + commit, len);
  let p = 16;
  while (p + 4 <= end) {
    const h = page.readUInt32LE(p);
    const typeLen = h & 0x1f;
    const delta = BigInt(h >>> 5);
    if (typeLen === 29) {
      if (delta === 0n) break;
      p += 4 + page.readUInt32LE(p + 4);
      continue;
    }
    if (typeLen === 30) {
      ts += (BigInt(page.readUInt32LE(p + 4)) << 27n) | delta;
      p += 8;
      continue;
    }
    if (typeLen === 31) {
      const abs = (BigInt(page.readUInt32LE(p + 4)) << 27n) | delta;
      ts = (ts & ~((1n << 59n) - 1n)) | abs;
      p += 8;
      continue;
    }
    ts += delta;
    let dataStart: number;
    let dataLen: number;
    if (typeLen === 0) {
      dataLen = page.readUInt32LE(p + 4) - 4;
      dataStart = p + 8;
    } else {
      dataLen = typeLen * 4;
      dataStart = p + 4;
    }
    out.push({ ts, cpu, data: Buffer.from(page.subarray(dataStart, dataStart + dataLen)) });
    p = dataStart + dataLen;
  }
}

export class MiniTraceSession implements KernelTraceSession {
  /** the most recent session, for tests to inspect what reached user space */
  static last: MiniTraceSession | undefined;
  /** events delivered, by "system:event" */
  readonly delivered = new Map<string, number>();
  /** filters written, by "system:event" */
  readonly filters = new Map<string, string>();
  readonly dir: string;
  readonly traceClock: string;
  private readonly formats = new Map<number, TracepointFormat>();
  private fds: { cpu: number; fd: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private listen: ((handle: number, ev: DecodedEvent) => () => void) | undefined;
  /** per handle: the event object its listener reads, and the listener */
  private readonly listeners = new Map<number, { ev: { current: DecodedEvent }; run: () => void }>();
  private readonly page = Buffer.alloc(PAGE);

  private constructor(name: string) {
    this.dir = join(TRACEFS, "instances", name);
    mkdirSync(this.dir);
    writeFileSync(join(this.dir, "trace_clock"), "mono");
    this.traceClock = "mono";
    writeFileSync(join(this.dir, "buffer_size_kb"), "32768");
  }

  /** Remove instances left by killed test runs (their pid is gone). */
  static reap(): void {
    const dir = join(TRACEFS, "instances");
    for (const name of readdirSync(dir)) {
      const m = /^tstap_test_(\d+)_\d+$/.exec(name);
      if (!m || existsSync(`/proc/${m[1]}`)) continue;
      try {
        writeFileSync(join(dir, name, "events", "enable"), "0");
        rmdirSync(join(dir, name));
      } catch {
        // busy or gone: the next run tries again
      }
    }
  }

  static async open(): Promise<MiniTraceSession> {
    MiniTraceSession.last = new MiniTraceSession(`tstap_test_${process.pid}_${seq++}`);
    return MiniTraceSession.last;
  }

  async addEvent(system: string, event: string, filter?: string): Promise<number> {
    const fmt = readTracepointFormat(system, event)!;
    this.formats.set(fmt.id, fmt);
    const ed = join(this.dir, "events", system, event);
    if (filter !== undefined) {
      writeFileSync(join(ed, "filter"), filter);
      this.filters.set(`${system}:${event}`, filter);
    }
    writeFileSync(join(ed, "enable"), "1");
    return fmt.id;
  }

  pidsSet = false;

  async setEventPids(pids: number[], followForks: boolean): Promise<void> {
    this.pidsSet = true;
    writeFileSync(join(this.dir, "set_event_pid"), pids.join(" "));
    if (followForks) writeFileSync(join(this.dir, "options", "event-fork"), "1");
  }

  async setOption(name: string, on: boolean): Promise<void> {
    writeFileSync(join(this.dir, "options", name), on ? "1" : "0");
  }

  async start(listen: (handle: number, ev: DecodedEvent) => () => void): Promise<void> {
    this.listen = listen;
    for (const d of readdirSync(join(this.dir, "per_cpu"))) {
      const cpu = Number(d.replace("cpu", ""));
      this.fds.push({ cpu, fd: openSync(join(this.dir, "per_cpu", d, "trace_pipe_raw"), constants.O_RDONLY | constants.O_NONBLOCK) });
    }
    const tick = (): void => {
      this.pump();
      this.timer = setTimeout(tick, 2);
    };
    this.timer = setTimeout(tick, 2);
  }

  /** One round: every page available on every CPU, merged by timestamp. */
  private pump(): number {
    const raws: Raw[] = [];
    for (const { cpu, fd } of this.fds) {
      for (let pages = 0; pages < 4096; pages++) {
        let n: number;
        try {
          n = readSync(fd, this.page, 0, PAGE, null);
        } catch {
          break; // EAGAIN: nothing more now
        }
        if (n <= 0) break;
        decodePage(this.page, n, cpu, raws);
      }
    }
    raws.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    for (const r of raws) {
      const type = r.data.readUInt16LE(0);
      const fmt = this.formats.get(type);
      if (!fmt || !this.listen) continue;
      const key = `${fmt.system}:${fmt.event}`;
      this.delivered.set(key, (this.delivered.get(key) ?? 0) + 1);
      const data = r.data;
      const byName = new Map(fmt.fields.map((f) => [f.name, f]));
      let l = this.listeners.get(type);
      if (!l) {
        // the contract: one event object per handle, read by its listener; here it forwards to the current record
        const holder: { current: DecodedEvent } = { current: undefined as unknown as DecodedEvent };
        const ev: DecodedEvent = {
          get tid() {
            return holder.current.tid;
          },
          get cpu() {
            return holder.current.cpu;
          },
          get tsNs() {
            return holder.current.tsNs;
          },
          get: (name) => holder.current.get(name),
          names: () => holder.current.names(),
        };
        l = { ev: holder, run: this.listen(type, ev) };
        this.listeners.set(type, l);
      }
      l.ev.current = {
        tid: data.readInt32LE(4),
        cpu: r.cpu,
        tsNs: r.ts,
        get: (name) => {
          const f = byName.get(name);
          return f ? field(data, f) : undefined;
        },
        names: () => fmt.fields.map((f) => f.name),
      };
      l.run();
    }
    return raws.length;
  }

  /**
   * Everything recorded before the call. Bounded by rounds, not by "until
   * empty": with raw_syscalls enabled, our own reads make new events forever.
   */
  async drain(): Promise<void> {
    for (let round = 0; round < 8 && this.pump() > 0; round++) {
      // a few rounds catch what was in flight on other CPUs
    }
  }

  catchUp(): void {
    this.pump();
  }

  async close(): Promise<{ lost: number }> {
    if (this.timer) clearTimeout(this.timer);
    writeFileSync(join(this.dir, "tracing_on"), "0");
    await this.drain();
    let lost = 0;
    for (const { cpu, fd } of this.fds) {
      const stats = readFileSync(join(this.dir, "per_cpu", `cpu${cpu}`, "stats"), "latin1");
      lost += Number(/^overrun: (\d+)/m.exec(stats)?.[1] ?? 0) + Number(/^dropped events: (\d+)/m.exec(stats)?.[1] ?? 0);
      if (process.env.MINI_DEBUG) process.stderr.write(`cpu${cpu}: ${stats.replace(/\n/g, " | ")}\n`);
      closeSync(fd);
    }
    this.fds = [];
    writeFileSync(join(this.dir, "events", "enable"), "0");
    if (existsSync(this.dir)) rmdirSync(this.dir);
    return { lost };
  }
}
