// The time the time functions answer for: the current event's time when the
// event dispatcher has set one (DESIGN.md decision 2), else "now".
//
// API:
//   setEventTime({ realtimeNs, monotonicNs, cpu? })   the dispatcher, before a handler
//   clearEventTime()                                  after it (begin/end/timers: now)
//   realtimeNs(): bigint        wall clock, ns since the epoch (gettimeofday_*)
//   monotonicNs(cpu?): bigint   ns on the kernel's monotonic clock (local_clock_*, cpu_clock_*)
//
// Node's hrtime is CLOCK_MONOTONIC on Linux, the clock tracefs's "mono"
// trace_clock uses; the wall clock is derived from one Date/hrtime pairing
// taken at load, so consecutive readings never go backwards.

export interface EventTime {
  readonly realtimeNs: bigint;
  readonly monotonicNs: bigint;
  readonly cpu?: number;
}

let eventTime: EventTime | undefined;

let baseMono = process.hrtime.bigint();
let baseReal = BigInt(Date.now()) * 1000000n;

/** Pair the clocks again: a process started from a startup snapshot (bin/tstap) must not keep the build's pairing. */
export function resetClockBase(): void {
  baseMono = process.hrtime.bigint();
  baseReal = BigInt(Date.now()) * 1000000n;
}

export function setEventTime(t: EventTime): void {
  eventTime = t;
}

export function clearEventTime(): void {
  eventTime = undefined;
}

export function realtimeNs(): bigint {
  if (eventTime) return eventTime.realtimeNs;
  return baseReal + (process.hrtime.bigint() - baseMono);
}

/** The monotonic clock; stap's cpu_clock_ns(cpu) reads that CPU's clock, the same one here. */
export function monotonicNs(_cpu?: number): bigint {
  if (eventTime) return eventTime.monotonicNs;
  return process.hrtime.bigint();
}
