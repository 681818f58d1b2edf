// Lookups in tables sorted by address (symbols, mappings, perf-map entries).

/**
 * How many entries of `sorted` (ascending by `key`) have a key at or below
 * `value`: the entry at that count - 1 is the last one starting at or below
 * it, where an address lookup begins.
 */
export function countAtOrBelow<T>(sorted: readonly T[], key: (entry: T) => number, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(sorted[mid]!) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
