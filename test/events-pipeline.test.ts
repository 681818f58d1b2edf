// runtime/events/pipeline.ts and view.ts on hand-built ring-buffer pages:
// every record kind of header_event, missed-events flags, the merge across
// CPUs, and field readers of every shape.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { EventPipeline, EventView, compileFieldGetter, fieldReader, formatReaders, parseTracepointFormat } from "../runtime/events/index.js";

/** Builds one page: records are [kind, ...] written after the 16-byte header. */
class PageWriter {
  readonly buf = Buffer.alloc(4096);
  pos = 16;
  constructor(ts: bigint) {
    this.buf.writeBigUInt64LE(ts, 0);
  }
  /** a data event: payload = common_type u16, flags, preempt, common_pid i32, then extra */
  data(delta: number, type: number, pid: number, extra: Buffer = Buffer.alloc(0), big = false): this {
    const payload = Buffer.alloc(8 + extra.length);
    payload.writeUInt16LE(type, 0);
    payload.writeInt32LE(pid, 4);
    extra.copy(payload, 8);
    const len = (payload.length + 3) & ~3;
    if (!big && len <= 112) {
      this.buf.writeUInt32LE(((delta << 5) | (len >> 2)) >>> 0, this.pos);
      payload.copy(this.buf, this.pos + 4);
      this.pos += 4 + len;
    } else {
      this.buf.writeUInt32LE((delta << 5) >>> 0, this.pos);
      this.buf.writeUInt32LE(len + 4, this.pos + 4);
      payload.copy(this.buf, this.pos + 8);
      this.pos += 8 + len;
    }
    return this;
  }
  extend(total: number): this {
    this.buf.writeUInt32LE((((total % 2 ** 27) << 5) | 30) >>> 0, this.pos);
    this.buf.writeUInt32LE(Math.floor(total / 2 ** 27), this.pos + 4);
    this.pos += 8;
    return this;
  }
  absolute(ts: number): this {
    this.buf.writeUInt32LE((((ts % 2 ** 27) << 5) | 31) >>> 0, this.pos);
    this.buf.writeUInt32LE(Math.floor(ts / 2 ** 27), this.pos + 4);
    this.pos += 8;
    return this;
  }
  padding(delta: number, len: number): this {
    this.buf.writeUInt32LE(((delta << 5) | 29) >>> 0, this.pos);
    this.buf.writeUInt32LE(len, this.pos + 4);
    this.pos += 4 + len;
    return this;
  }
  done(missed?: number | "unknown"): Buffer {
    let flags = (this.pos - 16) >>> 0;
    if (missed === "unknown") flags |= 0x80000000;
    else if (missed !== undefined) {
      flags |= 0xc0000000;
      this.buf.writeBigUInt64LE(BigInt(missed), this.pos);
    }
    this.buf.writeUInt32LE(flags >>> 0, 8);
    return this.buf;
  }
}

function collect(p: EventPipeline): { type: number; cpu: number; ts: number; pid: number; len: number }[] {
  const out: { type: number; cpu: number; ts: number; pid: number; len: number }[] = [];
  for (let t = 0; t < 10; t++) p.on(t, (v) => out.push({ type: v.type, cpu: v.cpu, ts: v.ts, pid: v.pid, len: v.len }));
  p.dispatch();
  return out;
}

describe("page decoding", () => {
  it("reads every record kind and keeps time", () => {
    const p = new EventPipeline(1000n);
    const page = new PageWriter(1000n)
      .data(5, 1, 10)
      .extend(2 ** 27 * 3 + 7)
      .data(1, 2, 11, Buffer.alloc(120), false)
      .padding(4, 12)
      .data(0, 3, 12, Buffer.alloc(4), true)
      .absolute(5_000_000)
      .data(2, 4, 13)
      .done();
    p.pushCopy(0, page);
    expect(collect(p)).toEqual([
      { type: 1, cpu: 0, ts: 5, pid: 10, len: 8 },
      { type: 2, cpu: 0, ts: 5 + 2 ** 27 * 3 + 7 + 1, pid: 11, len: 128 },
      { type: 3, cpu: 0, ts: 5 + 2 ** 27 * 3 + 7 + 1 + 4, pid: 12, len: 12 },
      { type: 4, cpu: 0, ts: 5_000_000 - 1000 + 2, pid: 13, len: 8 },
    ]);
  });

  it("stops at end-of-page padding and counts missed events", () => {
    const p = new EventPipeline(0n);
    const a = new PageWriter(100n).data(1, 1, 1);
    a.buf.writeUInt32LE(29, a.pos); // padding with delta 0: the rest is padding
    a.pos += 4;
    p.pushCopy(0, a.done(17));
    p.pushCopy(0, new PageWriter(200n).data(1, 1, 2).done("unknown"));
    expect(collect(p).map((e) => [e.pid, e.ts])).toEqual([
      [1, 101],
      [2, 201],
    ]);
    expect(p.stats.missedInPages).toBe(17);
    expect(p.stats.pagesWithUnknownMissed).toBe(1);
  });

  it("merges CPUs by timestamp and holds events past the watermark", () => {
    const p = new EventPipeline(0n);
    p.pushCopy(0, new PageWriter(0n).data(10, 1, 1).data(10, 1, 2).data(30, 1, 3).done());
    p.pushCopy(1, new PageWriter(0n).data(5, 1, 11).data(10, 1, 12).data(10, 1, 13).done());
    p.pushCopy(1, new PageWriter(40n).data(15, 1, 14).done());
    const seen: number[] = [];
    p.on(1, (v) => seen.push(v.pid));
    expect(p.dispatch(25)).toBe(5);
    expect(seen).toEqual([11, 1, 12, 2, 13]);
    expect(p.dispatch()).toBe(2);
    expect(seen).toEqual([11, 1, 12, 2, 13, 3, 14]);
  });
});

describe("handlers by event type id", () => {
  it("are an array without holes, for the thousands-high ids of dynamic events too", () => {
    const p = new EventPipeline(0n);
    const seen: number[] = [];
    p.on(2401, (v) => seen.push(v.pid));
    p.on(7, (v) => seen.push(-v.pid));
    expect(p.handlers.length).toBe(2402);
    // a hole (a missing own index) is what makes V8 store a sparse array as a hash table
    expect(Object.keys(p.handlers).length).toBe(2402);
    p.pushCopy(0, new PageWriter(0n).data(1, 2401, 5).data(1, 7, 6).data(1, 300, 7).done());
    p.dispatch();
    expect(seen).toEqual([5, -6]);
  });
});

describe("the merge, on random pages", () => {
  // each CPU's records in order, any mix of record kinds, pages fed and
  // dispatched in random slices with random watermarks: every event comes
  // out once, in time order, each CPU's in its own order
  it("delivers every event once, in time order, whatever the slicing", () => {
    const record = fc.oneof(
      fc.record({ kind: fc.constant("small" as const), delta: fc.integer({ min: 0, max: 2000 }), extra: fc.integer({ min: 0, max: 25 }) }),
      fc.record({ kind: fc.constant("big" as const), delta: fc.integer({ min: 0, max: 2000 }), extra: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant("extend" as const), delta: fc.integer({ min: 0, max: 2 ** 28 }), extra: fc.constant(0) }),
      fc.record({ kind: fc.constant("padding" as const), delta: fc.integer({ min: 1, max: 50 }), extra: fc.integer({ min: 1, max: 6 }) }),
    );
    const cpuPages = fc.array(fc.array(record, { minLength: 0, maxLength: 30 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.array(cpuPages, { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 10 }), (cpus, cuts) => {
        const p = new EventPipeline(0n);
        const expected: { cpu: number; ts: number; pid: number }[] = [];
        const queue: { cpu: number; page: Buffer }[] = [];
        let pid = 1;
        cpus.forEach((pages, cpu) => {
          let ts = 1000;
          for (const recs of pages) {
            const w = new PageWriter(BigInt(ts));
            for (const r of recs) {
              if (w.pos > 3500) break;
              if (r.kind === "extend") {
                w.extend(r.delta);
                ts += r.delta;
              } else if (r.kind === "padding") {
                w.padding(r.delta, r.extra * 4);
                ts += r.delta;
              } else {
                w.data(r.delta, 1, pid, Buffer.alloc(r.extra * 4), r.kind === "big");
                ts += r.delta;
                expected.push({ cpu, ts, pid: pid++ });
              }
            }
            queue.push({ cpu, page: w.done() });
          }
        });
        const seen: { cpu: number; ts: number; pid: number }[] = [];
        p.on(1, (v) => seen.push({ cpu: v.cpu, ts: v.ts, pid: v.pid }));
        // feed in slices, dispatching up to a watermark between them
        let at = 0;
        for (const c of cuts) {
          const n = Math.min(queue.length - at, c);
          for (let i = 0; i < n; i++, at++) p.pushCopy(queue[at]!.cpu, queue[at]!.page);
          const pending = p.earliest();
          if (pending !== Infinity) p.dispatch(pending + c * 100);
        }
        while (at < queue.length) p.pushCopy(queue[at]!.cpu, queue[at++]!.page);
        p.dispatch();
        expect(seen.map((e) => e.pid).sort((a, b) => a - b)).toEqual(expected.map((e) => e.pid));
        const byPid = new Map(expected.map((e) => [e.pid, e]));
        for (const e of seen) expect(e).toEqual(byPid.get(e.pid));
        // time order holds within each dispatch call; across calls a watermark never lets an earlier event through late
        // when all pages are in before it: check the final order is sorted where no slicing could interfere
        for (let cpu = 0; cpu < cpus.length; cpu++) {
          const mine = seen.filter((e) => e.cpu === cpu).map((e) => e.pid);
          expect(mine).toEqual([...mine].sort((a, b) => a - b));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("fed whole, delivers in time order across CPUs", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 200 }), { minLength: 1, maxLength: 4 }), (cpus) => {
        const p = new EventPipeline(0n);
        let pid = 1;
        cpus.forEach((deltas, cpu) => {
          let w = new PageWriter(0n);
          let ts = 0;
          for (const d of deltas) {
            if (w.pos > 4000) {
              p.pushCopy(cpu, w.done());
              w = new PageWriter(BigInt(ts));
            }
            w.data(d, 1, pid++);
            ts += d;
          }
          p.pushCopy(cpu, w.done());
        });
        const ts: number[] = [];
        p.on(1, (v) => ts.push(v.ts));
        expect(p.dispatch()).toBe(pid - 1);
        expect(ts).toEqual([...ts].sort((a, b) => a - b));
      }),
      { numRuns: 200 },
    );
  });
});

describe("events off the hot path", () => {
  // type 1 has a call site in the generated loop, type 2 is left to
  // dispatch() (the task table's events), type 9 has no handler: all come
  // out in one time order across CPUs, whatever the watermarks
  it("are delivered in time order with the others, each once", () => {
    const kinds = fc.constantFrom(1, 2, 9);
    const cpuEvents = fc.array(fc.record({ type: kinds, delta: fc.integer({ min: 0, max: 300 }), big: fc.boolean() }), { maxLength: 300 });
    fc.assert(
      fc.property(fc.array(cpuEvents, { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: 0, max: 20_000 }), { maxLength: 5 }), (cpus, limits) => {
        const p = new EventPipeline(0n);
        const all: { ts: number; pid: number; type: number }[] = [];
        let pid = 1;
        cpus.forEach((evs, cpu) => {
          let w = new PageWriter(0n);
          let ts = 0;
          for (const e of evs) {
            if (w.pos > 3900) {
              p.pushCopy(cpu, w.done());
              w = new PageWriter(BigInt(ts));
            }
            w.data(e.delta, e.type, pid, Buffer.alloc(0), e.big);
            ts += e.delta;
            all.push({ ts, pid: pid++, type: e.type });
          }
          p.pushCopy(cpu, w.done());
        });
        const seen: { ts: number; pid: number; type: number }[] = [];
        p.on(1, (v) => seen.push({ ts: v.ts, pid: v.pid, type: 1 }));
        p.on(2, (v) => seen.push({ ts: v.ts, pid: v.pid, type: 2 }), true);
        let dispatched = 0;
        for (const l of [...limits].sort((a, b) => a - b)) dispatched += p.dispatch(l);
        dispatched += p.dispatch();
        expect(dispatched).toBe(all.length);
        const handled = all.filter((e) => e.type !== 9);
        expect(seen.map((e) => e.pid).sort((a, b) => a - b)).toEqual(handled.map((e) => e.pid));
        for (const e of seen) expect(e).toEqual(handled.find((x) => x.pid === e.pid));
        const ts = seen.map((e) => e.ts);
        expect(ts).toEqual([...ts].sort((a, b) => a - b));
      }),
      { numRuns: 200 },
    );
  });

  it("a handler added after the first dispatch gets its call site (the loop is made again)", () => {
    const p = new EventPipeline(0n);
    const seen: string[] = [];
    p.on(1, (v) => seen.push(`a${v.pid}`));
    p.pushCopy(0, new PageWriter(0n).data(1, 1, 1).data(1, 3, 2).done());
    p.dispatch();
    p.on(3, (v) => seen.push(`b${v.pid}`));
    p.pushCopy(0, new PageWriter(10n).data(1, 1, 3).data(1, 3, 4).done());
    p.dispatch();
    expect(seen).toEqual(["a1", "a3", "b4"]);
  });
});

const FORMAT = `name: demo
ID: 7
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:s8 a;	offset:8;	size:1;	signed:1;
	field:u8 b;	offset:9;	size:1;	signed:0;
	field:s16 c;	offset:10;	size:2;	signed:1;
	field:u16 d;	offset:12;	size:2;	signed:0;
	field:s32 e;	offset:16;	size:4;	signed:1;
	field:u32 f;	offset:20;	size:4;	signed:0;
	field:s64 g;	offset:24;	size:8;	signed:1;
	field:u64 h;	offset:32;	size:8;	signed:0;
	field:char comm[16];	offset:40;	size:16;	signed:0;
	field:__data_loc char[] name;	offset:56;	size:4;	signed:0;
	field:__rel_loc char[] rel;	offset:60;	size:4;	signed:0;
	field:unsigned long args[2];	offset:64;	size:16;	signed:0;
	field:__data_loc u8[] raw;	offset:80;	size:4;	signed:0;
	field:int dfd;	offset:128;	size:8;	signed:0;
	field:umode_t mode;	offset:136;	size:8;	signed:0;

print fmt: "x"
`;

describe("field readers", () => {
  it("decode every width, sign and shape", () => {
    const fmt = parseTracepointFormat("demo", "demo", FORMAT);
    const b = Buffer.alloc(144);
    b.writeUInt16LE(7, 0);
    b.writeInt32LE(-5, 4);
    b.writeInt8(-2, 8);
    b.writeUInt8(250, 9);
    b.writeInt16LE(-300, 10);
    b.writeUInt16LE(65000, 12);
    b.writeInt32LE(-70000, 16);
    b.writeUInt32LE(4000000000, 20);
    b.writeBigInt64LE(-(2n ** 62n), 24);
    b.writeBigUInt64LE(2n ** 64n - 1n, 32);
    b.write("bash\0junk", 40, "latin1");
    b.write("/bin/ls\0", 84, "latin1");
    b.writeUInt32LE((8 << 16) | 84, 56);
    // __rel_loc: offset counted from the end of the field (60 + 4)
    b.write("rel\xe9\0", 100, "latin1");
    b.writeUInt32LE((5 << 16) | (100 - 64), 60);
    b.writeBigUInt64LE(1n, 64);
    b.writeBigUInt64LE(0xffffffffn, 72);
    b.write("\x01\x02\x00\x03", 110, "latin1");
    b.writeUInt32LE((4 << 16) | 110, 80);
    b.writeBigUInt64LE(0xffffff9cn, 128); // AT_FDCWD passed as an int: upper register half zero
    b.writeBigUInt64LE(0xdead000001a4n, 136);
    const v = new EventView(0n);
    v.setPage(Buffer.concat([Buffer.alloc(12), b]));
    v.off = 12;
    v.len = 144;
    const r = formatReaders(fmt);
    const compiled = compileFieldGetter(fmt);
    // the readers by name, and the generated getter PageEvent.get calls: the same values
    for (const get of [(n: string): unknown => r.get(n)!(v), (n: string): unknown => compiled(v, n)]) {
      b.writeBigInt64LE(-(2n ** 62n), 24);
      v.setPage(Buffer.concat([Buffer.alloc(12), b]));
      expect([get("common_type"), get("common_pid"), get("common_flags")]).toEqual([7, -5, 0]);
      expect([get("a"), get("b"), get("c"), get("d"), get("e"), get("f")]).toEqual([-2, 250, -300, 65000, -70000, 4000000000]);
      expect(get("g")).toBe(-(2n ** 62n));
      // every long is signed 64-bit: an unsigned 64-bit field above 2^63 reads negative
      expect(get("h")).toBe(-1);
      // a field stored wider than its C type reads as that type
      expect(fmt.fields.find((f) => f.name === "dfd")!.narrow).toEqual({ bytes: 4, signed: true });
      expect([get("dfd"), get("mode")]).toEqual([-100, 0o644]);
      expect(get("comm")).toBe("bash");
      expect(get("name")).toBe("/bin/ls");
      expect(get("rel")).toBe("rel\xe9");
      expect(get("args")).toEqual([1, 0xffffffff]);
      expect(get("raw")).toBe("\x01\x02\x00\x03");
      // small 64-bit values stay numbers
      b.writeBigInt64LE(-3n, 24);
      v.setPage(Buffer.concat([Buffer.alloc(12), b]));
      expect(get("g")).toBe(-3);
    }
    expect(compiled(v, "no_such_field")).toBeUndefined();
    expect(fieldReader(fmt.fields[0]!)(v)).toBe(-2);
  });
});

describe("inlined field access code", () => {
  it("reads the same values as the reader closures", async () => {
    const { fieldAccessCode, ACCESS_HELPERS } = await import("../runtime/events/index.js");
    const fmt = parseTracepointFormat("demo", "demo", FORMAT);
    const b = Buffer.alloc(144);
    b.writeInt16LE(-300, 10);
    b.writeBigInt64LE(-(2n ** 62n), 24);
    b.writeBigUInt64LE(5n, 32);
    b.write("bash\0", 40, "latin1");
    b.write("/bin/ls\0", 84, "latin1");
    b.writeUInt32LE((8 << 16) | 84, 56);
    b.write("rel\0", 100, "latin1");
    b.writeUInt32LE((4 << 16) | (100 - 64), 60);
    b.writeBigUInt64LE(9n, 72);
    b.writeBigUInt64LE(0xfffffffffffffff0n, 128);
    b.writeBigUInt64LE(0x1ffffn, 136);
    const v = new EventView(0n);
    v.setPage(b);
    v.len = 144;
    const readers = formatReaders(fmt);
    for (const f of fmt.fields) {
      const idx = f.shape === "int-array" ? 1 : undefined;
      const code = fieldAccessCode(f, "v", idx);
      const fn = new Function("v", "$long64", "$long64w", "$cstr", "$dyn", `return ${code};`) as (...a: unknown[]) => unknown;
      const got = fn(v, ACCESS_HELPERS.$long64, ACCESS_HELPERS.$long64w, ACCESS_HELPERS.$cstr, ACCESS_HELPERS.$dyn);
      const want = readers.get(f.name)!(v);
      expect(got, f.name).toEqual(idx === undefined ? want : (want as unknown[])[idx]);
    }
  });
});
