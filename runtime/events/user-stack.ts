// The user stack the kernel records after an event when the instance's
// options/userstacktrace is on: an ftrace record of its own
// (events/ftrace/user_stack/format: `unsigned int tgid; unsigned long
// caller[N]`, N = 8 on x86-64), written on the same CPU right after the
// event, in the same task. caller[0] is the user instruction pointer, the
// rest the return addresses of a frame-pointer walk; unused slots are 0
// (ULONG_MAX ended the list on kernels before 5.x).

import { readTracepointFormatAt } from "./format.js";
import type { EventPipeline } from "./pipeline.js";
import type { EventView } from "./view.js";

export interface UserStackRecord {
  /** the record's type id (common_type) */
  type: number;
  /** payload offset and count of caller[] */
  callersOff: number;
  callers: number;
}

/** The user_stack record layout of this kernel, from its format file; undefined when the kernel has none. */
export function userStackRecord(eventsDir: string): UserStackRecord | undefined {
  const fmt = readTracepointFormatAt(eventsDir, "ftrace", "user_stack");
  const f = fmt?.fields.find((x) => x.name === "caller");
  if (!fmt || !f || f.size % 8 !== 0) return undefined;
  return { type: fmt.id, callersOff: f.offset, callers: f.size / 8 };
}

const END = 0xffffffffffffffffn;

/**
 * The user stack recorded for the event `view` is at (during its handler):
 * addresses, innermost first; empty when the kernel recorded none (a kernel
 * thread, an event in NMI) or walked nothing. `caller`: at a function's
 * first instruction, the return address on top of the stack (the event's
 * `$stack0`): the frame pointer is still the caller's there, so the walk
 * went from the caller's frame to its own caller and skipped the caller.
 */
export function userStackOf(pipeline: EventPipeline, view: EventView, rec: UserStackRecord, caller?: number): number[] {
  const r = pipeline.followingRecord(rec.type, view.pid);
  if (r === undefined) return [];
  const [buf, off, len] = r;
  const out: number[] = [];
  for (let i = 0; i < rec.callers; i++) {
    const o = off + rec.callersOff + i * 8;
    if (o + 8 > off + len) break;
    const a = buf.readBigUInt64LE(o);
    if (a === 0n || a === END) break;
    out.push(Number(a));
  }
  if (caller !== undefined && caller !== 0 && out.length > 0 && out[1] !== caller) out.splice(1, 0, caller);
  return out;
}
