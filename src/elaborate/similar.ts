// "did you mean": stap's edit-distance suggestions, shared by every message
// that offers similar names (functions, variables, probe points, tracepoints).

/** stap's levenshtein_suggest: the closest names, nearest first (then shorter, then by name). */
export function suggest(name: string, candidates: readonly string[], max: number): string[] {
  const scored = [...new Set(candidates)].filter((c) => c !== "" && !c.includes("*")).map((c) => ({ c, d: levenshtein(name, c) }));
  scored.sort((a, b) => a.d - b.d || a.c.length - b.c.length || (a.c < b.c ? -1 : a.c > b.c ? 1 : 0));
  return scored.slice(0, max).map((x) => x.c);
}

export function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return dp[b.length]!;
}
