// The event as handlers see it on the hot path: one reusable EventView per
// pipeline, refilled for each event (no per-event allocation), and field
// readers compiled once per format field. Strings are decoded only when a
// reader is called (latin1: byte strings, as the runtime's strings are).

import type { TracepointField, TracepointFormat } from "./format.js";

type Long = number | bigint;

/** A field value: ints as Long (number when safe, else bigint), strings as byte strings, int arrays as Long[]. */
export type FieldValue = Long | string | readonly Long[];

const EMPTY = Buffer.alloc(0);
const EMPTY_WORDS = new Uint32Array(0);

export class EventView {
  /** common_type: the event's id (events/S/E/id) */
  type = 0;
  cpu = 0;
  /** trace-clock ns since the pipeline's base (`base`, a bigint); a double from the start (pipeline.ts's CpuStream says why) */
  ts = NaN;
  /** common_pid (the task's tid) */
  pid = 0;
  /** the page holding the payload; payload = buf[off, off + len) */
  buf: Buffer = EMPTY;
  /** the same page as 32-bit words (buf's bytes, little-endian here): aligned int fields read from it in one load */
  u32: Uint32Array = EMPTY_WORDS;
  /** a multiple of 4, as every ring-buffer record's payload is: a field at an offset that is one too is word-aligned */
  off = 0;
  len = 0;
  constructor(
    /** trace-clock ns of ts == 0 */
    public base: bigint = 0n,
  ) {}

  /** Points the view at BUF (its words made here, BUF copied when not word-aligned): for views filled by hand, not the decode loop. */
  setPage(buf: Buffer): void {
    const b = buf.byteOffset % 4 === 0 ? buf : Buffer.from(buf);
    this.buf = b;
    this.u32 = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
  }

  /** The absolute trace-clock time (allocates a bigint: not for the hot path). */
  tsNs(): bigint {
    return this.base + BigInt(this.ts);
  }
}

export type FieldReader = (v: EventView) => FieldValue;

/** A 64-bit field as a script long: signed whatever the C type, as stap's longs are. */
function long64(buf: Buffer, o: number): Long {
  const lo = buf.readUInt32LE(o);
  const hi = buf.readInt32LE(o + 4);
  // |value| < 2^53 when the high word fits in 21 bits (-2^21 <= hi < 2^21)
  if (hi < 0x200000 && hi >= -0x200000) return hi * 0x100000000 + lo;
  return buf.readBigInt64LE(o);
}

/** An integer reader of SIZE bytes at payload offset OFF (8 bytes read signed: a script long). */
export function intReader(off: number, size: number, signed: boolean): (v: EventView) => Long {
  switch (size) {
    case 1:
      return signed ? (v) => v.buf.readInt8(v.off + off) : (v) => v.buf[v.off + off]!;
    case 2:
      return signed ? (v) => v.buf.readInt16LE(v.off + off) : (v) => v.buf.readUInt16LE(v.off + off);
    case 4:
      return signed ? (v) => v.buf.readInt32LE(v.off + off) : (v) => v.buf.readUInt32LE(v.off + off);
    case 8:
      return (v) => long64(v.buf, v.off + off);
    default:
      throw new Error(`internal: no ${size}-byte integer reader`);
  }
}

function cstring(buf: Buffer, start: number, end: number): string {
  let e = start;
  while (e < end && buf[e] !== 0) e++;
  return buf.toString("latin1", start, e);
}

/** Where a __data_loc/__rel_loc field's bytes are: [start, end) in the page. */
function dynamicSpan(v: EventView, f: TracepointField): [number, number] {
  const loc = v.buf.readUInt32LE(v.off + f.offset);
  let start = loc & 0xffff;
  const len = loc >>> 16;
  // __rel_loc offsets count from the end of the field itself
  if (f.dynamic === "rel_loc") start += f.offset + f.size;
  start += v.off;
  const end = Math.min(start + len, v.off + v.len);
  return [Math.min(start, end), end];
}

/** The reader of one format field. */
export function fieldReader(f: TracepointField): FieldReader {
  if (f.dynamic) {
    if (f.shape === "string") {
      return (v) => {
        const [s, e] = dynamicSpan(v, f);
        return cstring(v.buf, s, e);
      };
    }
    return (v) => {
      const [s, e] = dynamicSpan(v, f);
      return v.buf.toString("latin1", s, e);
    };
  }
  const off = f.offset;
  switch (f.shape) {
    case "string":
      return (v) => cstring(v.buf, v.off + off, v.off + off + f.size);
    case "bytes":
      return (v) => v.buf.toString("latin1", v.off + off, v.off + off + f.size);
    case "int-array": {
      const n = f.arrayLen ?? 0;
      const es = f.elemSize ?? 8;
      const elems = Array.from({ length: n }, (_, i) => intReader(off + i * es, es, f.signed));
      return (v) => elems.map((r) => r(v));
    }
    default:
      // a narrowed field's value is its low bytes (little-endian)
      return f.narrow ? intReader(off, f.narrow.bytes, f.narrow.signed) : intReader(off, f.size, f.signed);
  }
}

/** Readers of every field of a format (own and common_*), by name. */
export function formatReaders(fmt: TracepointFormat): Map<string, FieldReader> {
  const m = new Map<string, FieldReader>();
  for (const f of fmt.common ?? []) m.set(f.name, fieldReader(f));
  for (const f of fmt.fields) m.set(f.name, fieldReader(f));
  return m;
}

/**
 * Fields a dynamic event's fetch could not read: a `__data_loc` string the
 * kernel stored with length 0 (a fetched string that faulted; one that was
 * read holds at least its NUL). By name, for the format's dynamic fields.
 */
export function faultTesters(fmt: TracepointFormat): Map<string, (v: EventView) => boolean> {
  const m = new Map<string, (v: EventView) => boolean>();
  for (const f of fmt.fields) {
    if (f.dynamic !== "data_loc") continue;
    const off = f.offset;
    m.set(f.name, (v) => v.buf.readUInt32LE(v.off + off) >>> 16 === 0);
  }
  return m;
}
