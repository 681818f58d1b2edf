// The `format` file of a trace event (events/SYSTEM/EVENT/format): its id
// and the offset, size, sign and shape of each field. Used at run time to
// decode events and at compile time (src/targets/tracepoints.ts re-exports
// it) to type `$field` reads.
//
// Field shapes:
//   integers of any width and sign (`int`, `u8`, `pid_t`, `bool`, pointers)
//       → "int", sign- or zero-extended as the format's `signed:` says, and
//       read as the script's signed 64-bit long (an unsigned 64-bit value
//       above 2^63 reads negative, as every long does in stap). A field
//       stored wider than its C type (the syscalls events keep `int dfd` in
//       8 bytes) reads as its C type: `narrow` says how.
//   `char NAME[N]` and `__data_loc char[] NAME` → "string" (bytes up to NUL)
//   other fixed arrays (`unsigned long args[6]`) → "int-array"
//   other `__data_loc` / `__rel_loc` arrays, odd sizes, a dynamic event's
//   array fetch (`u64 buf[]`, its size the whole array) → "bytes"

import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface TracepointField {
  name: string;
  /** the C type as the format writes it, `__data_loc`/array suffix removed */
  cType: string;
  offset: number;
  size: number;
  signed: boolean;
  /** how the field reads in a script */
  shape: "int" | "string" | "int-array" | "bytes";
  /** `char[N]`/`T[N]`: N (elements) */
  arrayLen?: number;
  /** __data_loc (u32: offset | len << 16) or __rel_loc (relative offset) */
  dynamic?: "data_loc" | "rel_loc";
  /** element size of an int-array */
  elemSize?: number;
  /** an "int" stored in more bytes than its C type has: read the low `bytes` with that type's sign */
  narrow?: { bytes: 1 | 2 | 4; signed: boolean };
}

export interface TracepointFormat {
  system: string;
  event: string;
  id: number;
  /** the event's own fields, common_* excluded, in format order */
  fields: TracepointField[];
  /** the common_* fields (common_type, common_flags, common_preempt_count, common_pid, ...) */
  common?: TracepointField[];
}

export function parseTracepointFormat(system: string, event: string, text: string): TracepointFormat {
  const idm = /^ID:\s*(\d+)/m.exec(text);
  const fields: TracepointField[] = [];
  const common: TracepointField[] = [];
  const re = /^\s*field:(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const f = parseField(m[1]!.trim(), Number(m[2]), Number(m[3]), m[4] === "1");
    if (!f) continue;
    if (f.name.startsWith("common_")) common.push(f);
    else fields.push(f);
  }
  return { system, event, id: idm ? Number(idm[1]) : -1, fields, common };
}

export function parseField(decl: string, offset: number, size: number, signed: boolean): TracepointField | undefined {
  // "char comm[16]", "__data_loc char[] name", "unsigned long args[6]", "int x"
  const m = /^(.*?)\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\[(\d*)\])?$/.exec(decl);
  if (!m) return undefined;
  let cType = m[1]!.trim();
  const name = m[2]!;
  const arr = m[3] !== undefined ? (m[4] === "" ? 0 : Number(m[4])) : undefined;
  let dynamic: TracepointField["dynamic"];
  if (/^__data_loc\b/.test(cType)) dynamic = "data_loc";
  else if (/^__rel_loc\b/.test(cType)) dynamic = "rel_loc";
  if (dynamic) cType = cType.replace(/^__(data|rel)_loc\s*/, "");
  const elem = cType.replace(/\[\d*\]$/, "").trim();
  const isChar = /^(const\s+)?(unsigned\s+|signed\s+)?char$/.test(elem);
  if (dynamic) {
    return { name, cType: elem + "[]", offset, size, signed, shape: isChar ? "string" : "bytes", dynamic };
  }
  if (arr !== undefined) {
    // a dynamic event's array fetch (`+0(%di):u64[13]`) is `u64 buf[]` with the whole size: its raw bytes
    if (arr === 0 && !isChar) return { name, cType: `${elem}[]`, offset, size, signed, shape: "bytes" };
    if (isChar) return { name, cType: `${elem}[${arr}]`, offset, size, signed, shape: "string", arrayLen: arr };
    const elemSize = arr > 0 ? size / arr : size;
    if (![1, 2, 4, 8].includes(elemSize)) return { name, cType: `${elem}[${arr}]`, offset, size, signed, shape: "bytes", arrayLen: arr };
    return { name, cType: `${elem}[${arr}]`, offset, size, signed, shape: "int-array", arrayLen: arr, elemSize };
  }
  if (![1, 2, 4, 8].includes(size)) return { name, cType, offset, size, signed, shape: "bytes" };
  const declared = declaredInt(cType);
  if (declared && declared.bytes < size) return { name, cType, offset, size, signed, shape: "int", narrow: declared as TracepointField["narrow"] };
  return { name, cType, offset, size, signed, shape: "int" };
}

// C integer types by width and sign (x86-64: char is signed, long is 8 bytes),
// the kernel's typedefs among them as the event formats write them
const C_INTS: [RegExp, number, boolean][] = [
  [/^(signed )?char$|^(__)?s8$|^int8_t$/, 1, true],
  [/^unsigned char$|^(__)?u8$|^uint8_t$|^bool$|^_Bool$/, 1, false],
  [/^(signed )?short( int)?$|^(__)?s16$|^int16_t$/, 2, true],
  [/^unsigned short( int)?$|^(__)?u16$|^uint16_t$|^umode_t$|^__kernel_mode_t$/, 2, false],
  [/^(signed )?int$|^signed$|^(__)?s32$|^int32_t$|^pid_t$|^key_t$|^mqd_t$|^clockid_t$|^timer_t$|^rwf_t$|^__kernel_(pid|key|mqd|clockid|timer)_t$/, 4, true],
  [/^unsigned( int)?$|^(__)?u32$|^uint32_t$|^uid_t$|^gid_t$|^qid_t$|^__kernel_(uid|gid)(32)?_t$|^old_(uid|gid)_t$/, 4, false],
  [/^(signed )?long( int)?$|^(signed )?long long( int)?$|^(__)?s64$|^int64_t$|^ssize_t$|^loff_t$|^off_t$|^time_t$|^__kernel_(old_)?time_t$|^clock_t$/, 8, true],
  [/^unsigned long( int)?$|^unsigned long long( int)?$|^(__)?u64$|^uint64_t$|^size_t$|^aio_context_t$/, 8, false],
];

/** The width and sign of a C integer type name; undefined for pointers and types not known here. */
export function declaredInt(cType: string): { bytes: number; signed: boolean } | undefined {
  const t = cType.replace(/\b(const|volatile)\b/g, "").replace(/\s+/g, " ").trim();
  if (t.includes("*")) return undefined;
  for (const [re, bytes, signed] of C_INTS) if (re.test(t)) return { bytes, signed };
  return undefined;
}


/** Reads and parses EVENTS_DIR/SYSTEM/EVENT/format; undefined when it does not exist. */
export function readTracepointFormatAt(eventsDir: string, system: string, event: string): TracepointFormat | undefined {
  let text: string;
  try {
    text = readFileSync(join(eventsDir, system, event, "format"), "latin1");
  } catch {
    return undefined;
  }
  return parseTracepointFormat(system, event, text);
}
