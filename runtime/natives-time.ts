// Time natives: gettimeofday_*, local_clock_*, cpu_clock_*, ktime_get_ns, and
// ctime (GMT, stap's "Wed Jun 30 21:49:08 1993" form, exactly 24 characters).
// All read runtime/clock.ts, so they answer for the event being handled.

import { type Long, big, norm } from "./int64.js";
import { monotonicNs, realtimeNs } from "./clock.js";
import { ScriptError } from "./errors.js";

export const gettimeofday_ns = (): Long => norm(realtimeNs());
export const gettimeofday_us = (): Long => norm(realtimeNs() / 1000n);
export const gettimeofday_ms = (): Long => norm(realtimeNs() / 1000000n);
export const gettimeofday_s = (): Long => norm(realtimeNs() / 1000000000n);

export const local_clock_ns = (): Long => norm(monotonicNs());
export const local_clock_us = (): Long => norm(monotonicNs() / 1000n);
export const local_clock_ms = (): Long => norm(monotonicNs() / 1000000n);
export const local_clock_s = (): Long => norm(monotonicNs() / 1000000000n);

export const cpu_clock_ns = (cpu: Long): Long => norm(monotonicNs(Number(cpu)));
export const cpu_clock_us = (cpu: Long): Long => norm(monotonicNs(Number(cpu)) / 1000n);
export const cpu_clock_ms = (cpu: Long): Long => norm(monotonicNs(Number(cpu)) / 1000000n);
export const cpu_clock_s = (cpu: Long): Long => norm(monotonicNs(Number(cpu)) / 1000000000n);

export const ktime_get_ns = (): Long => norm(monotonicNs());

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function two(n: number): string {
  return n.toString().padStart(2, "0");
}

/** ctime(epochsecs): GMT; errors outside the 32-bit range as stap's does. */
export function ctime(epochsecs: Long): string {
  const b = big(epochsecs);
  if (b > 2147483647n) throw new ScriptError("Time too far in the future to be converted");
  if (b < -2147483648n) throw new ScriptError("Time too far in the past to be converted");
  const d = new Date(Number(b) * 1000);
  return (
    `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]}${d.getUTCDate().toString().padStart(3)} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`
  );
}
