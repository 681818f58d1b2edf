// The user stack the kernel writes after an event (options/userstacktrace),
// found for the event being handled: runtime/events/user-stack.ts over
// EventPipeline.followingRecord, on hand-built ring-buffer pages.

import { describe, expect, it } from "vitest";
import { EventPipeline } from "../runtime/events/index.js";
import { userStackOf, type UserStackRecord } from "../runtime/events/user-stack.js";

const STACK = 13;
const rec: UserStackRecord = { type: STACK, callersOff: 16, callers: 8 };

/** One page of data records: [type, pid, payload bytes after the 8 common ones]. */
function page(records: [number, number, Buffer?][], opts: { extendFirst?: boolean } = {}): Buffer {
  const buf = Buffer.alloc(4096);
  let pos = 16;
  if (opts.extendFirst) {
    buf.writeUInt32LE(((1 << 5) | 30) >>> 0, pos); // a time extend between records
    buf.writeUInt32LE(0, pos + 4);
    pos += 8;
  }
  for (const [type, pid, extra = Buffer.alloc(0)] of records) {
    const payload = Buffer.alloc(8 + extra.length);
    payload.writeUInt16LE(type, 0);
    payload.writeInt32LE(pid, 4);
    extra.copy(payload, 8);
    const len = (payload.length + 3) & ~3;
    buf.writeUInt32LE(((1 << 5) | (len >> 2)) >>> 0, pos);
    payload.copy(buf, pos + 4);
    pos += 4 + len;
  }
  buf.writeUInt32LE(pos - 16, 8);
  return buf;
}

/** A user_stack payload after the common fields: tgid, pad, caller[8]. */
function stack(tgid: number, ...callers: bigint[]): Buffer {
  const b = Buffer.alloc(8 + 64);
  b.writeUInt32LE(tgid, 0);
  callers.forEach((c, i) => b.writeBigUInt64LE(c, 8 + i * 8));
  return b;
}

function stacksSeen(pages: Buffer[], wanted: number): number[][] {
  const pl = new EventPipeline(0n);
  const seen: number[][] = [];
  pl.on(wanted, (v) => seen.push(userStackOf(pl, v, rec)));
  pages.forEach((p) => pl.pushCopy(0, p));
  pl.dispatch();
  return seen;
}

describe("user stacks next to their events", () => {
  it("the record right after the event is its stack, up to the first 0", () => {
    const seen = stacksSeen([page([[5, 100], [STACK, 100, stack(100, 0x401000n, 0x401200n)], [5, 100], [STACK, 100, stack(100, 0x7f0000001000n)]])], 5);
    expect(seen).toEqual([[0x401000, 0x401200], [0x7f0000001000]]);
  });

  it("an event nested in between (an interrupt) with its own stack is stepped over", () => {
    const seen = stacksSeen([page([[5, 100], [6, 100], [STACK, 100, stack(100, 0x1111n)], [STACK, 100, stack(100, 0x2222n)]])], 5);
    expect(seen).toEqual([[0x2222]]);
  });

  it("across time records and onto the next page", () => {
    const seen = stacksSeen([page([[5, 100]]), page([[STACK, 100, stack(100, 0x3333n)]], { extendFirst: true })], 5);
    expect(seen).toEqual([[0x3333]]);
  });

  it("another task's stack, a missing one, or ULONG_MAX ends: no frames", () => {
    expect(stacksSeen([page([[5, 100], [STACK, 200, stack(200, 0x1n)]])], 5)).toEqual([[]]);
    expect(stacksSeen([page([[5, 100]])], 5)).toEqual([[]]);
    expect(stacksSeen([page([[5, 100], [STACK, 100, stack(100, 0x10n, 0xffffffffffffffffn, 0x20n)]])], 5)).toEqual([[0x10]]);
  });
});
