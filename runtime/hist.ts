// Histograms of a statistic: bucketing and SystemTap's exact text rendering
// (runtime/stat-common.c: _stp_val_to_bucket, _stp_bucket_to_val,
// _stp_stat_print_histogram_buf), rewritten from its observable behaviour.
//
// API:
//   type HistSpec = { type: "log" } | { type: "linear"; start; stop; interval }
//   HIST_LOG_BUCKETS (128), HIST_LOG_BUCKET0 (64)
//   validateLinear(start, stop, interval): string | undefined   the error stap gives, if any
//   bucketCountFor(spec): number                                 buckets, under/overflow included
//   logBucket(v): number        bucket of v in a log histogram (0..127; 64 holds 0)
//   logBucketValue(i): Long     the label of log bucket i (its lower magnitude bound, signed)
//   linearBucket(spec, v): number   0 = underflow, last = overflow
//   renderHistogram(spec, buckets): string   the text `print(@hist_*(s))` writes
//
// Bucket layout (the same as stap, so `@hist_log(s)[i]` indexes raw buckets):
// log: bucket 64 holds 0; 65+k holds [2^k, 2^(k+1)); 63-k holds -[2^k, 2^(k+1)),
// bucket 0 holds INT64_MIN. linear: bucket 0 is "< start", bucket 1+j holds
// [start + j*interval, start + (j+1)*interval), the last bucket is overflow.

import { type Long, big, norm } from "./int64.js";
import { limits } from "./limits.js";

export type HistSpec =
  | { readonly type: "log" }
  | { readonly type: "linear"; readonly start: number; readonly stop: number; readonly interval: number };

export const HIST_LOG_BUCKETS = 128;
export const HIST_LOG_BUCKET0 = 64;

/** stap's check of @hist_linear parameters; undefined when they are fine. */
export function validateLinear(start: number, stop: number, interval: number): string | undefined {
  if (interval === 0) return "histogram: interval cannot be zero.";
  const buckets = Math.trunc((stop - start) / interval) + 3;
  const maxBuckets = limits.STP_MAX_BUCKETS;
  if (buckets > maxBuckets || buckets < 3) {
    return (
      `histogram: Number of buckets must be between 1 and ${maxBuckets - 2}\n` +
      "Number_of_buckets = (stop - start) / interval.\n" +
      "Please adjust your start, stop, and interval values."
    );
  }
  return undefined;
}

export function bucketCountFor(spec: HistSpec): number {
  if (spec.type === "log") return HIST_LOG_BUCKETS;
  return Math.trunc((spec.stop - spec.start) / spec.interval) + 3;
}

/** Bits needed for an unsigned magnitude (0 for 0). */
function bitLength(m: bigint): number {
  return m === 0n ? 0 : m.toString(2).length;
}

export function logBucket(v: Long): number {
  if (v === 0) return HIST_LOG_BUCKET0;
  if (typeof v === "number" && v > 0 && v < 2 ** 31) return HIST_LOG_BUCKET0 + 32 - Math.clz32(v);
  const b = big(v);
  const neg = b < 0n;
  // -INT64_MIN wraps to itself; as unsigned it is 2^63 (64 bits).
  const mag = BigInt.asUintN(64, neg ? -b : b);
  const res = HIST_LOG_BUCKET0 + bitLength(mag);
  return neg ? HIST_LOG_BUCKETS - res : res;
}

export function logBucketValue(i: number): Long {
  if (i === HIST_LOG_BUCKET0) return 0;
  if (i < HIST_LOG_BUCKET0) {
    // (INT64_MIN >> i), the shift count taken mod 64 like x86 does for the
    // out-of-range row index an empty histogram produces.
    return norm(-(1n << 63n) >> BigInt(i & 63));
  }
  return norm(1n << BigInt(i - HIST_LOG_BUCKET0 - 1));
}

export function linearBucket(spec: Extract<HistSpec, { type: "linear" }>, v: Long): number {
  const buckets = bucketCountFor(spec);
  const off = BigInt.asIntN(64, big(v) - BigInt(spec.start));
  let idx: number;
  // stap divides with do_div, whose divisor is a u32: a negative interval
  // (allowed when stop < start) becomes a huge divisor, as there.
  if (off < 0n) idx = 0;
  else idx = Number(off / BigInt.asUintN(32, BigInt(spec.interval))) + 1;
  if (idx >= buckets - 1) idx = buckets - 1;
  return idx;
}

/** Characters "%lld" needs for v. */
function neededSpace(v: Long): number {
  if (v === 0) return 1;
  const b = big(v);
  if (b < 0n) return 1 + BigInt.asUintN(64, -b).toString().length;
  return b.toString().length;
}

/**
 * The text stap prints for a histogram: a header, one row per bucket in the
 * reported range (data plus up to two empty buckets each side), runs of
 * empty rows elided into a `~` line, bars scaled to HIST_WIDTH, a blank line.
 */
export function renderHistogram(spec: HistSpec, buckets: readonly number[]): string {
  const width = limits.HIST_WIDTH;
  const elision = limits.HIST_ELISION;
  const n = buckets.length;
  // stap reads histogram[-1] for an empty histogram; it is a zeroed field there.
  const at = (i: number): number => (i >= 0 && i < n ? buckets[i] : 0);
  let low = -1;
  let high = 0;
  let valmax = 0;
  for (let i = 0; i < n; i++) {
    if (buckets[i] > 0 && low === -1) low = i;
    if (buckets[i] > 0) high = i;
    if (buckets[i] > valmax) valmax = buckets[i];
  }
  for (let k = 0; k < 2; k++) {
    if (spec.type === "log") {
      // Log histograms do not reach below 0 unless there are negative values.
      if (low !== HIST_LOG_BUCKET0 && low > 0) low--;
    } else if (low > 0) low--;
    if (high < n - 1) high++;
  }
  let under = 0;
  let over = 0;
  if (spec.type === "linear") {
    if (low === 0 && at(0) === 0) low++;
    if (high === n - 1 && at(high) === 0) high--;
    if (low === 0) under = 1;
    if (high === n - 1) over = 1;
  }
  const scale = valmax <= width ? 1 : Math.ceil(valmax / width);
  const cntSpace = neededSpace(valmax);
  let valSpace: number;
  if (spec.type === "linear") {
    valSpace = Math.max(neededSpace(spec.start) + under, neededSpace(spec.start + spec.interval * high) + over);
  } else {
    valSpace = Math.max(neededSpace(logBucketValue(high)), neededSpace(logBucketValue(low)));
  }
  valSpace = Math.max(valSpace, 5);

  let out = "value".padStart(valSpace) + " |" + "-".repeat(width) + " count\n";
  let eliding = false;
  for (let i = low; i <= high; i++) {
    if (elision >= 0) {
      const maxElide = Math.min(elision, n);
      const from = Math.max(low, i - maxElide);
      const to = Math.min(high, i + maxElide);
      let elide = true;
      for (let k = from; k <= to; k++) if (at(k) !== 0) elide = false;
      if (elide) {
        eliding = true;
        continue;
      }
      if (eliding) {
        out += " ".repeat(valSpace) + " ~\n";
        eliding = false;
      }
    }
    let val: Long;
    let prefix = "";
    if (spec.type === "linear") {
      if (i === 0) {
        val = spec.start;
        prefix = "<";
      } else if (i === n - 1) {
        val = spec.start + (i - 2) * spec.interval;
        prefix = ">";
      } else val = spec.start + (i - 1) * spec.interval;
    } else val = logBucketValue(i);
    out += prefix.padStart(valSpace - neededSpace(val)) + String(val) + " |";
    const count = at(i);
    const bar = Math.floor(count / scale);
    out += "@".repeat(bar) + String(count).padStart(width - bar + 1 + cntSpace) + "\n";
  }
  return out + "\n";
}
