// The time the time functions answer for: the current event's time when the
// event dispatcher has set one (DESIGN.md decision 2), else "now".
//
// API:
//   setEventTime({ realtimeNs, monotonicNs, cpu? })   the dispatcher, before a handler
//   clearEventTime()                                  after it (begin/end/timers: now)
//   setEventTimeSource(() => EventTime | undefined)   once: asked when none is set (kernel events)
//   realtimeNs(): bigint        wall clock, ns since the epoch (gettimeofday_*)
//   monotonicNs(cpu?): bigint   ns on the kernel's monotonic clock (local_clock_*, cpu_clock_*)
//
// Node's hrtime is CLOCK_MONOTONIC on Linux, the clock tracefs's "mono"
// trace_clock uses; the wall clock is derived from one pairing of the two
// clocks, made when first needed, so consecutive readings never go backwards.
// Node reads the wall clock only to the millisecond (Date.now()), so the
// pairing waits for Date.now() to tick: at that instant the wall clock is
// exactly the new millisecond, which makes the pairing good to a fraction of
// a microsecond instead of up to a millisecond off.

export interface EventTime {
  readonly realtimeNs: bigint;
  readonly monotonicNs: bigint;
  readonly cpu?: number;
}

let eventTime: EventTime | undefined;

/**
 * Where the time of the running handler's event is found when none was set
 * with setEventTime: the kernel event dispatcher's context (installed once,
 * so that a million events pay nothing for it; only a time function asks).
 */
let eventTimeSource: (() => EventTime | undefined) | undefined;

/** wall clock minus monotonic clock, ns; undefined until first needed */
let offsetNs: bigint | undefined;

/** The wall clock minus the monotonic clock, in ns, from one precise pairing (see above). */
export function realtimeOffsetNs(): bigint {
  if (offsetNs === undefined) offsetNs = pairClocks();
  return offsetNs;
}

function pairClocks(): bigint {
  const giveUp = process.hrtime.bigint() + 20_000_000n;
  let best: { window: bigint; offset: bigint } | undefined;
  // the previous reading: its millisecond, and the monotonic time just before it
  let last = -1;
  let lastBefore = 0n;
  for (;;) {
    const before = process.hrtime.bigint();
    const ms = Date.now();
    const after = process.hrtime.bigint();
    if (last >= 0 && ms !== last) {
      // the tick: the wall clock read `ms` milliseconds exactly at a moment
      // between the previous reading and this one; a wide window (a page
      // fault, a preemption, a compilation) waits for the next tick
      const window = after - lastBefore;
      const offset = BigInt(ms) * 1_000_000n - (lastBefore + after) / 2n;
      if (!best || window < best.window) best = { window, offset };
      if (window < 10_000n) return offset;
    }
    if (after > giveUp) return best?.offset ?? BigInt(ms) * 1_000_000n - after;
    last = ms;
    lastBefore = before;
  }
}

/** Pair the clocks again: a process started from a startup snapshot (bin/tstap) must not keep the build's pairing. */
export function resetClockBase(): void {
  offsetNs = undefined;
}

export function setEventTimeSource(source: () => EventTime | undefined): void {
  eventTimeSource = source;
}

/** The event time set, else the source's. */
function eventNow(): EventTime | undefined {
  return eventTime ?? eventTimeSource?.();
}

export function setEventTime(t: EventTime): void {
  eventTime = t;
}

export function clearEventTime(): void {
  eventTime = undefined;
}

export function realtimeNs(): bigint {
  const t = eventNow();
  if (t) return t.realtimeNs;
  return process.hrtime.bigint() + realtimeOffsetNs();
}

/** The monotonic clock; stap's cpu_clock_ns(cpu) reads that CPU's clock, the same one here. */
export function monotonicNs(_cpu?: number): bigint {
  const t = eventNow();
  if (t) return t.monotonicNs;
  return process.hrtime.bigint();
}
