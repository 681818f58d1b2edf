// begin, begin(N), end, end(N), error, error(N), never: the run's own
// moments. No event, no variables; the handlers run in tstap's context.

import { family, type Lowering, type PointPattern, type ResolvedPoint } from "./family.js";

export type RunPoint =
  | { kind: "begin"; priority: bigint }
  | { kind: "end"; priority: bigint }
  | { kind: "error"; priority: bigint }
  | { kind: "never" };

declare module "./family.js" {
  interface PointKinds {
    begin: Extract<RunPoint, { kind: "begin" }>;
    end: Extract<RunPoint, { kind: "end" }>;
    error: Extract<RunPoint, { kind: "error" }>;
    never: Extract<RunPoint, { kind: "never" }>;
  }
}

const patterns: PointPattern[] = [
  ...(["begin", "end", "error"] as const).map(
    (kind): PointPattern => ({
      pattern: `${kind}(number?)`,
      build: (args, ctx) => ({ point: { kind, priority: (args[0] as bigint | undefined) ?? 0n }, pp: ctx.text }),
    }),
  ),
  { pattern: "never", build: (_args, ctx) => ({ point: { kind: "never" }, pp: ctx.text }) },
];

export const runPoints = family<RunPoint>({
  name: "begin/end",
  heads: ["begin", "end", "error", "never"],
  patterns,
  owns: (p: ResolvedPoint): p is RunPoint => p.kind === "begin" || p.kind === "end" || p.kind === "error" || p.kind === "never",
  variables: () => [],
  bundles: () => [],
  lower: (p): Lowering => ({ trigger: p.kind === "never" ? { kind: "never" } : { kind: p.kind, priority: p.priority } }),
});
