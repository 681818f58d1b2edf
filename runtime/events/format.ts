// The `format` file of a trace event (events/SYSTEM/EVENT/format): its id
// and the offset, size, sign and shape of each field. Used at run time to
// decode events and at compile time (src/targets/tracepoints.ts re-exports
// it) to type `$field` reads.
//
// Field shapes:
//   integers of any width and sign (`int`, `u8`, `pid_t`, `bool`, pointers)
//       → "int", sign- or zero-extended as the format's `signed:` says
//   `char NAME[N]` and `__data_loc char[] NAME` → "string" (bytes up to NUL)
//   other fixed arrays (`unsigned long args[6]`) → "int-array"
//   other `__data_loc` / `__rel_loc` arrays, odd sizes → "bytes"

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
    if (isChar) return { name, cType: `${elem}[${arr}]`, offset, size, signed, shape: "string", arrayLen: arr };
    const elemSize = arr > 0 ? size / arr : size;
    if (![1, 2, 4, 8].includes(elemSize)) return { name, cType: `${elem}[${arr}]`, offset, size, signed, shape: "bytes", arrayLen: arr };
    return { name, cType: `${elem}[${arr}]`, offset, size, signed, shape: "int-array", arrayLen: arr, elemSize };
  }
  if (![1, 2, 4, 8].includes(size)) return { name, cType, offset, size, signed, shape: "bytes" };
  return { name, cType, offset, size, signed, shape: "int" };
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
