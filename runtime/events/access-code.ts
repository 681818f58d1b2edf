// JavaScript expression text that reads a format field from an EventView
// named VIEW, for code generators that want field reads inlined into a
// handler instead of calling a reader closure. The expressions follow the
// value rules of view.ts: ints are numbers (64-bit ones, signed, go through
// $long64, which returns a bigint beyond 2^53), strings are latin1 byte
// strings cut at the first NUL.

import type { TracepointField, TracepointFormat } from "./format.js";
import type { EventView, FieldValue } from "./view.js";

/** Helpers the expressions call, to be in scope of the generated code. */
export const ACCESS_HELPERS = {
  $long64(buf: Buffer, o: number): number | bigint {
    const lo = buf.readUInt32LE(o);
    const hi = buf.readInt32LE(o + 4);
    if (hi < 0x200000 && hi >= -0x200000) return hi * 0x100000000 + lo;
    return buf.readBigInt64LE(o);
  },
  /** $long64 of a word-aligned field, from the page's words (u32[w], u32[w + 1]) */
  $long64w(u32: Uint32Array, buf: Buffer, w: number): number | bigint {
    const lo = u32[w]!;
    const hi = u32[w + 1]! | 0;
    if (hi < 0x200000 && hi >= -0x200000) return hi * 0x100000000 + lo;
    return buf.readBigInt64LE(w << 2);
  },
  $cstr(buf: Buffer, start: number, end: number): string {
    let e = start;
    while (e < end && buf[e] !== 0) e++;
    return buf.toString("latin1", start, e);
  },
  $dyn(buf: Buffer, base: number, len: number, fieldOff: number, rel: boolean, asString: boolean): string {
    const loc = buf.readUInt32LE(base + fieldOff);
    const start = base + (loc & 0xffff) + (rel ? fieldOff + 4 : 0);
    const end = Math.min(start + (loc >>> 16), base + len);
    return asString ? ACCESS_HELPERS.$cstr(buf, start, end) : buf.toString("latin1", start, end);
  },
};

function intExpr(view: string, off: number, size: number, signed: boolean): string {
  const at = `${view}.off + ${off}`;
  // a word-aligned field (the payload is, EventView.off): one typed-array load, no bounds-checked byte reads
  const word = off % 4 === 0 ? `(${at}) >>> 2` : undefined;
  if (word !== undefined && size === 4) return signed ? `(${view}.u32[${word}] | 0)` : `${view}.u32[${word}]`;
  if (word !== undefined && size === 8) return `$long64w(${view}.u32, ${view}.buf, ${word})`;
  switch (size) {
    case 1:
      return signed ? `${view}.buf.readInt8(${at})` : `${view}.buf[${at}]`;
    case 2:
      return `${view}.buf.read${signed ? "Int16LE" : "UInt16LE"}(${at})`;
    case 4:
      return `${view}.buf.read${signed ? "Int32LE" : "UInt32LE"}(${at})`;
    case 8:
      return `$long64(${view}.buf, ${at})`;
    default:
      throw new Error(`internal: no ${size}-byte integer access`);
  }
}

/** The expression reading field F of the event in VIEW (an int-array field needs `index`). */
export function fieldAccessCode(f: TracepointField, view: string, index?: number): string {
  if (f.dynamic) return `$dyn(${view}.buf, ${view}.off, ${view}.len, ${f.offset}, ${f.dynamic === "rel_loc"}, ${f.shape === "string"})`;
  switch (f.shape) {
    case "string":
      return `$cstr(${view}.buf, ${view}.off + ${f.offset}, ${view}.off + ${f.offset + f.size})`;
    case "bytes":
      return `${view}.buf.toString("latin1", ${view}.off + ${f.offset}, ${view}.off + ${f.offset + f.size})`;
    case "int-array": {
      const es = f.elemSize ?? 8;
      if (index === undefined || !Number.isInteger(index) || index < 0 || index >= (f.arrayLen ?? 0)) {
        throw new Error(`internal: ${f.name} needs an index in [0, ${f.arrayLen ?? 0})`);
      }
      return intExpr(view, f.offset + index * es, es, f.signed);
    }
    default:
      return f.narrow ? intExpr(view, f.offset, f.narrow.bytes, f.narrow.signed) : intExpr(view, f.offset, f.size, f.signed);
  }
}

/** Every field of one event format read from a view by name: what PageEvent.get calls. */
export type FieldGetter = (v: EventView, name: string) => FieldValue | undefined;

/**
 * The source of a FieldGetter for FMT (its common_* fields too): a case per
 * field name, each reading the page at the offset the format gives, so a
 * handler's `$field` is a string switch and a read, with no map lookup and
 * no reader closure per field.
 */
export function fieldGetterSource(fmt: TracepointFormat): string {
  const cases = [...(fmt.common ?? []), ...fmt.fields].map((f) => {
    const read = f.shape === "int-array" ? `[${Array.from({ length: f.arrayLen ?? 0 }, (_, i) => fieldAccessCode(f, "v", i)).join(", ")}]` : fieldAccessCode(f, "v");
    return `    case ${JSON.stringify(f.name)}:\n      return ${read};`;
  });
  return `"use strict";
// the fields of ${`${fmt.system}:${fmt.event}`.replace(/[^\w:.-]/g, "?")} (id ${Number(fmt.id)})
const { $long64, $long64w, $cstr, $dyn } = helpers;
return function get(v, name) {
  switch (name) {
${cases.join("\n")}
  }
  return undefined;
};
`;
}

/** Compiles fieldGetterSource(fmt). */
export function compileFieldGetter(fmt: TracepointFormat): FieldGetter {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function("helpers", fieldGetterSource(fmt))(ACCESS_HELPERS) as FieldGetter;
}
