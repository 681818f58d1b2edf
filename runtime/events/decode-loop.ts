// The decode-and-dispatch loop of one run, generated when its event ids are
// known (the first dispatch after the handlers are set, before the first
// event): the k-way merge across CPUs, the walk of each page's record
// headers, and a `case` per event id calling that id's handler, each from a
// call site of its own, held in a constant of the loop's closure.
//
// Why generated: V8 optimizes the loop once it is hot, on the type feedback
// gathered so far. A loop shared by every run calls handlers through one
// site (`handlers[type](view)`): each new event type seen later (a fork or
// an exit in the middle of a burst) is a "wrong call target" and throws the
// optimized loop away, recompiled at the cost of some 20 ms each time. Here
// every site sees one target from the first event, and nothing the loop
// reaches lacks feedback when it is optimized:
//   - events off the hot path (the task table's: forks, execs, exits) leave
//     the loop by `return`, which needs no feedback, and dispatch() runs them
//     from its own call site (an id with no handler, such as the user stack
//     record that follows each event under options/userstacktrace, is
//     counted and stepped over in the loop);
//   - so do time extends, padding, long records and page ends (dispatch()
//     calls advance() for them);
//   - a call handles about a thousand events (`max`): V8 optimizes the loop
//     at a call, once, rather than inside a long call first (on-stack
//     replacement) and at a call again;
//   - the merge makes the same operations whether one CPU or all have
//     events (an empty stream's head is Infinity);
//   - stream state is stored at every event, not only where the loop
//     leaves a stream.

import { setFlagsFromString } from "node:v8";
import type { EventView } from "./view.js";

/** What the generated loop reads and calls (pipeline.ts's internals). */
export interface DecodeLoopEnv<S> {
  /** the CPU streams (one per CPU and lane), added to but never removed from */
  streams: S[];
  view: EventView;
  /** handlers by event id; the loop has a case for each id listed in `hot` */
  handlers: readonly (((v: EventView) => void) | undefined)[];
  /** the stream being dispatched becomes the pipeline's current one (followingRecord) */
  setCurrent(s: S): void;
}

/** Why the loop returned (DecodeLoop's `stop()`). */
export const enum LoopStop {
  /** every event up to the limit went out, or about `max` of them */
  Done = 0,
  /** at an event it leaves to the caller (offPath), consumed: the view holds it, the stream's position is past it */
  OffPath = 1,
  /** the current stream is at a page end or a record that is not a plain data event: advance() reads it */
  AtRecord = 2,
}

/**
 * A dispatch loop: `run` dispatches the events up to `limit`, at most
 * about `max` of them (it may stop at max, or run on to the end of what one
 * CPU has before the next CPU's event), and returns how many; `stop()`
 * says why it returned. (Said through a variable of the loop's closure:
 * a store there needs no type feedback, where arithmetic on the returned
 * count, made only on a rare path, would.)
 */
export interface DecodeLoop {
  run(limit: number, max: number): number;
  stop(): LoopStop;
}

/** The loop's source: readable, as -p3 output is (`hot` and `offPath`: event ids). */
export function decodeLoopSource(hot: readonly number[], offPath: readonly number[]): string {
  const consts = hot.map((id, i) => `const h${i} = env.handlers[${id}];`);
  const cases = hot.map((id, i) => `        case ${id}:\n          h${i}(view);\n          break;`);
  if (offPath.length > 0) cases.push(`${offPath.map((id) => `        case ${id}:`).join("\n")}\n          stop = ${LoopStop.OffPath};\n          return count;`);
  return `"use strict";
// event ids with a handler of their own: ${hot.length > 0 ? hot.join(", ") : "none"}; left to dispatch(): ${offPath.length > 0 ? offPath.join(", ") : "none"}
const { streams, view } = env;
const setCurrent = (s) => env.setCurrent(s);
${consts.join("\n")}
let stop = ${LoopStop.Done};
function decode(limit, max) {
  let count = 0;
  for (;;) {
    // the stream with the earliest next event; \`second\`: the next-earliest head
    let best = null;
    let bestTs = Infinity;
    let second = Infinity;
    for (let i = 0; i < streams.length; i++) {
      const s = streams[i];
      const t = s.hasNext ? s.nextTs : Infinity;
      // both compared every time: a comparison first made after V8 optimized the loop (a second CPU's first event) would undo that
      const first = t < bestTs;
      const runnerUp = t < second;
      if (first) {
        second = bestTs;
        bestTs = t;
        best = s;
      } else if (runnerUp) second = t;
    }
    if (best === null || bestTs > limit || count >= max) {
      stop = ${LoopStop.Done};
      return count;
    }
    const until = second < limit ? second : limit;
    setCurrent(best);
    view.cpu = best.cpu;
    const p = best.pages[best.head];
    const u32 = p.u32;
    const end = p.end;
    view.buf = p.buf;
    view.u32 = u32;
    let off = best.nextOff;
    let len = best.nextLen;
    let ts = best.nextTs;
    // this CPU's records while it stays the earliest
    for (;;) {
      const w = off >>> 2;
      const type = u32[w] & 0xffff;
      const pos = off + len;
      view.off = off;
      view.len = len;
      view.ts = ts;
      view.type = type;
      view.pid = u32[w + 1] | 0;
      // consumed before its handler runs: the page may be recycled by the next advance()
      best.pos = pos;
      best.ts = ts;
      switch (type) {
${cases.join("\n")}
      }
      count++;
      if (pos + 4 <= end) {
        const hd = u32[pos >>> 2];
        const typeLen = hd & 31;
        if (typeLen !== 0 && typeLen <= 28) {
          const next = ts + (hd >>> 5);
          off = pos + 4;
          len = typeLen << 2;
          // stored at every event, not only when the loop leaves the stream:
          // a store first made after V8 optimized the loop would undo that
          best.nextTs = next;
          best.nextOff = off;
          best.nextLen = len;
          // another CPU's event comes first: this one waits at the stream's head
          if (next > until) break;
          if (count >= max) {
            stop = ${LoopStop.Done};
            return count;
          }
          ts = next;
          continue;
        }
      }
      // a page end, or a record that is not a plain data event: the caller advances the stream
      stop = ${LoopStop.AtRecord};
      return count;
    }
  }
}
return { run: decode, stop: () => stop };
`;
}

/**
 * Calls of the loop that dispatch nothing (a limit before any event): V8
 * gives a function its feedback vector only after some calls, and what its
 * code does before that is not recorded. A first call that meets a burst
 * would run the whole burst in one call, its merge recorded nowhere: the loop,
 * optimized inside that call, would be thrown away at its first return to
 * the merge. A few empty calls first, and the vector is there from the first
 * event.
 */
const PRIMING_CALLS = 64;

/**
 * From the run's first events on, V8 optimizes no function early for being
 * small (on its first tick, under 81 bytes of bytecode): the per-event glue
 * (a listener, the run loop's firer) is that small, and was optimized on its
 * own, with the handler and natives it inlines, a few hundred events before
 * the loop that calls it, which then inlines all of it again (measured: a
 * 5-6 ms compile thrown away in a 1M-event run, no other compile changed).
 * The passes are done by then: their tiering is left as it was.
 */
function noEarlySmallFunctionOptimization(): void {
  // V8 prints an unknown flag on stderr rather than throwing: only where it was measured (Node 20's V8 11.3)
  if (process.versions.v8.startsWith("11.")) setFlagsFromString("--max-bytecode-size-for-early-opt=0");
}

/** Compiles the loop for these ids. */
export function compileDecodeLoop<S>(env: DecodeLoopEnv<S>, hot: readonly number[], offPath: readonly number[]): DecodeLoop {
  noEarlySmallFunctionOptimization();
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const loop = new Function("env", decodeLoopSource(hot, offPath))(env) as DecodeLoop;
  for (let i = 0; i < PRIMING_CALLS; i++) loop.run(-Infinity, 0);
  return loop;
}
