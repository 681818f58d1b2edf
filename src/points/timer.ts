// timer.s/ms/us/ns(N) (and sec/msec/usec/nsec), .randomize(M), timer.hz(N),
// timer.jiffies(N): periodic handlers, run by the runtime's timers (no
// kernel event). Bounds and messages are stap's.

import type { Diagnostic } from "../diagnostic.js";
import { semErrPlain } from "../elaborate/tokens.js";
import { family, type Lowering, type PointContext, type PointMatch, type PointPattern, type ResolvedPoint } from "./family.js";

export interface TimerPoint {
  kind: "timer";
  /** period in nanoseconds ("hz" and "jiffies" converted; jiffies assume HZ=250 unless told) */
  periodNs: bigint;
  randomizeNs?: bigint;
  unit: "s" | "sec" | "ms" | "msec" | "us" | "usec" | "ns" | "nsec" | "hz" | "jiffies";
  value: bigint;
}

declare module "./family.js" {
  interface PointKinds {
    timer: TimerPoint;
  }
}

type TimerUnit = "s" | "sec" | "ms" | "msec" | "us" | "usec" | "ns" | "nsec";
const NS_PER: Record<TimerUnit, bigint> = { s: 1_000_000_000n, sec: 1_000_000_000n, ms: 1_000_000n, msec: 1_000_000n, us: 1000n, usec: 1000n, ns: 1n, nsec: 1n };
// stap's hrtimer bounds: 100us .. one day
const MIN_NS = 100_000n;
const MAX_NS = 86_400_000_000_000n;

function outOfRange(unit: bigint): Diagnostic[] {
  const lo = MIN_NS / unit === 0n ? 1n : (MIN_NS + unit - 1n) / unit;
  return [semErrPlain(`interval value out of range (${lo}, ${MAX_NS / unit})`)];
}

function hrtimer(unit: TimerUnit, value: bigint, randomize: bigint | undefined, text: string): PointMatch | Diagnostic[] {
  const per = NS_PER[unit];
  const ns = value * per;
  if (ns < MIN_NS || ns > MAX_NS) return outOfRange(per);
  if (randomize !== undefined && (randomize < 0n || randomize > value)) return [semErrPlain("randomization value out of range")];
  return {
    point: { kind: "timer", unit, value, periodNs: ns, ...(randomize !== undefined ? { randomizeNs: randomize * per } : {}) },
    pp: text,
  };
}

function kernelHz(config: ReadonlyMap<string, string>): bigint {
  const v = config.get("CONFIG_HZ");
  return v !== undefined && /^\d+$/.test(v) ? BigInt(v) : 250n;
}

function jiffies(value: bigint, randomize: bigint | undefined, ctx: PointContext): PointMatch | Diagnostic[] {
  if (value <= 0n || value > 1_000_000n) return [semErrPlain("invalid interval for jiffies timer")];
  if (randomize !== undefined && (randomize < 0n || randomize > value)) return [semErrPlain("invalid randomize for jiffies timer")];
  const per = 1_000_000_000n / kernelHz(ctx.kernelConfig);
  return {
    point: { kind: "timer", unit: "jiffies", value, periodNs: value * per, ...(randomize !== undefined ? { randomizeNs: randomize * per } : {}) },
    pp: ctx.text,
  };
}

const patterns: PointPattern[] = [];
for (const unit of Object.keys(NS_PER) as TimerUnit[]) {
  patterns.push({ pattern: `timer.${unit}(number)`, build: (args, ctx) => hrtimer(unit, args[1] as bigint, undefined, ctx.text) });
  patterns.push({ pattern: `timer.${unit}(number).randomize(number)`, build: (args, ctx) => hrtimer(unit, args[1] as bigint, args[2] as bigint, ctx.text) });
}
patterns.push({
  pattern: "timer.hz(number)",
  build: (args, ctx) => {
    const hz = args[1] as bigint;
    if (hz <= 0n) return [semErrPlain("frequency must be greater than 0")];
    const ns = 1_000_000_000n / hz;
    if (ns < MIN_NS || ns > MAX_NS) return outOfRange(1n);
    return { point: { kind: "timer", unit: "hz", value: hz, periodNs: ns }, pp: ctx.text };
  },
});
patterns.push({ pattern: "timer.jiffies(number)", build: (args, ctx) => jiffies(args[1] as bigint, undefined, ctx) });
patterns.push({ pattern: "timer.jiffies(number).randomize(number)", build: (args, ctx) => jiffies(args[1] as bigint, args[2] as bigint, ctx) });

export const timers = family<TimerPoint>({
  name: "timer",
  heads: ["timer"],
  patterns,
  owns: (p: ResolvedPoint): p is TimerPoint => p.kind === "timer",
  variables: () => [],
  bundles: () => [],
  lower: (p): Lowering => ({ trigger: { kind: "timer", periodNs: p.periodNs, randomizeNs: p.randomizeNs } }),
});
