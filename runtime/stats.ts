// SystemTap statistics (`s <<< v` and the @count/@sum/@min/@max/@avg/@variance
// extractors, @hist_log/@hist_linear), with stap's integer arithmetic exactly
// (runtime/stat-common.c __stp_stat_add and stat.c _stp_stat_get).
//
// API (stable):
//   interface StatConfig { hists?: HistSpec[]; varianceShift?: number }
//   class StatError extends Error        "empty aggregate", "histogram index out of range"
//   class Stat
//     new Stat(config?)                 the translator passes the histograms the script uses
//                                       on this statistic and @variance's bit shift (default 0)
//     add(v: Long)                      `s <<< v`
//     addN(v: Long, n: number)          `s <<< v` n times at once
//     clear()                           `delete s`
//     count: number, sum: Long          @count/@sum (0 when empty, as stap allows)
//     isEmpty(): boolean
//     min() max() avg() variance(): Long   throw StatError("empty aggregate") when empty
//     histBuckets(spec): readonly number[]  the raw buckets of one configured histogram
//     histBucket(spec, i: Long): number     `@hist_*(s)[i]`; StatError when out of range
//     formatHist(spec): string              `print(@hist_*(s))`
//   formatHistLog(stat) / formatHistLinear(stat, start, stop, interval): string
//   specKey(spec): string                   a stable key for a HistSpec
//
// One Stat is one aggregation as stap sees it on a single CPU: tstap runs
// handlers on one thread, so there is no per-CPU split to merge; the read-out
// still goes through stap's aggregation formula (which is not always the
// identity: see variance()).

import { ScriptError } from "./errors.js";
import { type Long, add, sub, mul, div, shl, shr, big } from "./int64.js";
import {
  type HistSpec,
  bucketCountFor,
  linearBucket,
  logBucket,
  renderHistogram,
  validateLinear,
} from "./hist.js";

export type { HistSpec } from "./hist.js";

export interface StatConfig {
  /** Histograms kept for this statistic (stap allows one kind per statistic). */
  readonly hists?: readonly HistSpec[];
  /** The bit shift of @variance(s, N); 0 when not given. */
  readonly varianceShift?: number;
}

export class StatError extends ScriptError {
  constructor(message: string) {
    super(message);
    this.name = "StatError";
  }
}

export function specKey(spec: HistSpec): string {
  return spec.type === "log" ? "log" : `linear:${spec.start}:${spec.stop}:${spec.interval}`;
}

/** stap's _stp_div64: division by 0 yields 0 (no error), by -1 negates. */
function div64(x: Long, y: Long): Long {
  if (y === 0) return 0;
  return div(x, y);
}

/** C conversion of an int64 to a 32-bit `int` (stap keeps Welford's delta in an int). */
function toInt32(x: Long): number {
  if (typeof x === "number") return x | 0;
  return Number(BigInt.asIntN(32, x));
}

interface HistState {
  readonly spec: HistSpec;
  readonly buckets: number[];
}

export class Stat {
  readonly config: StatConfig;
  count = 0;
  sum: Long = 0;
  private minV: Long = 0;
  private maxV: Long = 0;
  // Welford's running values, scaled by 2^shift, as stap keeps them.
  private avgS: Long = 0;
  private m2: Long = 0;
  private varianceS: Long = 0;
  private readonly shift: number;
  private readonly hists = new Map<string, HistState>();

  constructor(config: StatConfig = {}) {
    this.config = config;
    this.shift = config.varianceShift ?? 0;
    for (const spec of config.hists ?? []) {
      if (spec.type === "linear") {
        const err = validateLinear(spec.start, spec.stop, spec.interval);
        if (err) throw new StatError(err);
      }
      this.hists.set(specKey(spec), { spec, buckets: new Array<number>(bucketCountFor(spec)).fill(0) });
    }
  }

  add(v: Long): void {
    const scaled = this.shift === 0 ? v : shl(v, this.shift);
    if (this.count === 0) {
      this.count = 1;
      this.sum = v;
      this.minV = v;
      this.maxV = v;
      this.avgS = scaled;
      this.m2 = 0;
    } else {
      this.count++;
      this.sum = add(this.sum, v);
      if (v > this.maxV) this.maxV = v;
      if (v < this.minV) this.minV = v;
      const delta = toInt32(sub(scaled, this.avgS));
      this.avgS = add(this.avgS, div64(delta, this.count));
      this.m2 = add(this.m2, mul(delta, sub(scaled, this.avgS)));
      this.varianceS = div64(this.m2, this.count - 1);
    }
    for (const h of this.hists.values()) {
      const i = h.spec.type === "log" ? logBucket(v) : linearBucket(h.spec, v);
      h.buckets[i]++;
    }
  }

  /**
   * `s <<< v` done `n` times (a probe counted in the kernel, its hits known
   * at the end): the same state as n calls of add(v), without n steps once
   * Welford's running average stops moving.
   */
  addN(v: Long, n: number): void {
    if (n <= 0) return;
    if (this.count === 0) {
      this.add(v);
      n--;
    }
    const scaled = this.shift === 0 ? v : shl(v, this.shift);
    // add() by hand while the average still moves (|delta| >= count; it
    // shrinks as count grows); after that each step adds the same delta
    // product to m2, so the rest is one multiplication
    for (; n > 0; n--) {
      const delta = toInt32(sub(scaled, this.avgS));
      if (div64(delta, this.count + 1) !== 0) {
        this.add(v);
        continue;
      }
      const step = mul(delta, sub(scaled, this.avgS));
      if (v > this.maxV) this.maxV = v;
      if (v < this.minV) this.minV = v;
      this.sum = add(this.sum, mul(v, n));
      this.count += n;
      this.m2 = add(this.m2, mul(step, n));
      this.varianceS = div64(this.m2, this.count - 1);
      for (const h of this.hists.values()) {
        const i = h.spec.type === "log" ? logBucket(v) : linearBucket(h.spec, v);
        h.buckets[i] += n;
      }
      return;
    }
  }

  clear(): void {
    this.count = 0;
    this.sum = 0;
    this.minV = 0;
    this.maxV = 0;
    this.avgS = 0;
    this.varianceS = 0;
    for (const h of this.hists.values()) h.buckets.fill(0);
  }

  isEmpty(): boolean {
    return this.count === 0;
  }

  private requireData(): void {
    if (this.count === 0) throw new StatError("empty aggregate");
  }

  min(): Long {
    this.requireData();
    return this.minV;
  }

  max(): Long {
    this.requireData();
    return this.maxV;
  }

  /** Integer (truncating) average. */
  avg(): Long {
    this.requireData();
    return div64(this.sum, this.count);
  }

  /**
   * stap's read-out: the aggregate average is recomputed from the sum, and the
   * "total variance" formula combines it with the running (Welford) average,
   * so rounding differences between the two show up exactly as in stap.
   */
  variance(): Long {
    this.requireData();
    const aggAvgS = div64(shl(this.sum, this.shift), this.count);
    const d = sub(this.avgS, aggAvgS);
    const s1 = mul(this.count, mul(d, d));
    const s2 = mul(this.count - 1, this.varianceS);
    const varianceS = div64(add(s1, s2), this.count - 1);
    return shr(varianceS, 2 * this.shift);
  }

  private hist(spec: HistSpec): HistState {
    const h = this.hists.get(specKey(spec));
    if (!h) throw new Error(`internal: statistic has no ${specKey(spec)} histogram configured`);
    return h;
  }

  histBuckets(spec: HistSpec): readonly number[] {
    return this.hist(spec).buckets;
  }

  /** `@hist_*(s)[i]`: the count in raw bucket i. */
  histBucket(spec: HistSpec, i: Long): number {
    const b = this.hist(spec).buckets;
    const bi = big(i);
    if (bi < 0n || bi >= BigInt(b.length)) throw new StatError("histogram index out of range");
    return b[Number(bi)];
  }

  formatHist(spec: HistSpec): string {
    return renderHistogram(spec, this.hist(spec).buckets);
  }
}

export function formatHistLog(stat: Stat): string {
  return stat.formatHist({ type: "log" });
}

export function formatHistLinear(stat: Stat, start: number, stop: number, interval: number): string {
  return stat.formatHist({ type: "linear", start, stop, interval });
}
