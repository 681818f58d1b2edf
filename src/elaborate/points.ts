// Probe points: the table of patterns the elaborator matches written probe
// points against (stap's match_node tree), and the built-in families
// begin/end/error/never/timer.
//
// Registration points for other families:
//   registerPointPattern(pattern, builder)  a fixed-shape family, e.g.
//       "timer.ms(number).randomize(number)"; `number`/`string` name the
//       argument a component takes, `number?` an optional one.
//   registerPointResolver(heads, resolver)  a family that resolves itself
//       (kernel.trace("SYS:EV") wildcards, process(...).* ...): called with
//       the written components; returns undefined when the point is not its.
// The kernel families (points-kernel.ts) are registered at the end of this file.

import type { Diagnostic } from "../diagnostic.js";
import type { Pos, ProbeComponent, ProbePoint } from "../parse/ast.js";
import type { ResolvedPoint } from "./program.js";
import { resolveKernelPoint } from "./points-kernel.js";
import { semErr, semErrPlain } from "./tokens.js";
import { suggest } from "./similar.js";

export { levenshtein, suggest } from "./similar.js";

export interface PointMatch {
  point: ResolvedPoint;
  /** the concrete probe point text (pp()) */
  pp: string;
}

/** `whyNone`: the error for a point its family claims but that matched nothing (unless optional) */
export type PointResult = { matches: PointMatch[]; whyNone?: Diagnostic } | { diagnostics: Diagnostic[] };

type ArgKind = "none" | "number" | "string" | "number?";

interface PatternComponent {
  name: string;
  arg: ArgKind;
}

/** Values of the pattern's components, in order: a bigint, a string, or undefined (no argument). */
export type PointArgs = (bigint | string | undefined)[];

export type PointBuilder = (args: PointArgs, ctx: PointContext) => PointMatch | Diagnostic[];

export interface PointContext {
  /** kernel CONFIG_* values (CONFIG_HZ for jiffies) */
  kernelConfig: ReadonlyMap<string, string>;
  /** the concrete text of the matched point (components joined) */
  text: string;
}

interface Pattern {
  components: PatternComponent[];
  build: PointBuilder;
}

export type PointResolver = (components: readonly ProbeComponent[], pos: Pos) => PointResult | undefined;

const patterns: Pattern[] = [];
const resolvers: { heads: string[]; resolve: PointResolver }[] = [];

export function registerPointPattern(pattern: string, build: PointBuilder): void {
  const components = pattern.split(".").map((c): PatternComponent => {
    const m = /^([^(]+)(?:\((number\??|string)\))?$/.exec(c);
    if (!m) throw new Error(`bad probe point pattern '${pattern}'`);
    return { name: m[1]!, arg: (m[2] as ArgKind | undefined) ?? "none" };
  });
  patterns.push({ components, build });
}

/** `heads`: the first components the family answers to (for "similar:" suggestions). */
export function registerPointResolver(heads: string[], resolve: PointResolver): void {
  resolvers.push({ heads, resolve });
}

/** A glob of probe point component names: `*` matches any run of characters. */
export function globRegex(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\?]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${body}$`);
}

export function hasWildcard(p: { components: readonly ProbeComponent[] }): boolean {
  return p.components.some((c) => c.name.includes("*"));
}

function argOk(kind: ArgKind, c: ProbeComponent): boolean {
  if (kind === "none") return c.arg === undefined;
  if (kind === "number?") return c.arg === undefined || c.arg.kind === "number";
  return c.arg !== undefined && c.arg.kind === kind;
}

export function componentText(name: string, arg: ProbeComponent["arg"]): string {
  if (!arg) return name;
  return arg.kind === "number" ? `${name}(${arg.value})` : `${name}("${arg.value}")`;
}

/** stap's probe_point::print: components, `!`/`?`, and the condition (printed by the caller). */
export function pointText(p: ProbePoint): string {
  return p.components.map((c) => componentText(c.name, c.arg)).join(".") + (p.sufficient ? "!" : p.optional ? "?" : "");
}

/**
 * Match written components against the registered families. Returns
 * undefined when nothing claims the point (the caller reports stap's
 * mismatch error); wildcard expansions that a builder refuses are dropped,
 * as stap drops them.
 */
export function resolveBuiltinPoint(components: readonly ProbeComponent[], pos: Pos, ctx: Omit<PointContext, "text">): PointResult | undefined {
  for (const r of resolvers) {
    const res = r.resolve(components, pos);
    if (res) return res;
  }
  const wild = components.some((c) => c.name.includes("*"));
  const matches: PointMatch[] = [];
  const failures: Diagnostic[][] = [];
  let claimed = false;
  // candidates in name order, as stap's match_node children are sorted
  const candidates: { p: Pattern; names: string[] }[] = [];
  for (const p of patterns) {
    if (p.components.length !== components.length) continue;
    let ok = true;
    for (let i = 0; i < components.length && ok; i++) {
      const w = components[i]!;
      const pc = p.components[i]!;
      ok = globRegex(w.name).test(pc.name) && argOk(pc.arg, w);
    }
    if (ok) candidates.push({ p, names: p.components.map((c) => c.name) });
  }
  candidates.sort((a, b) => (a.names.join(".") < b.names.join(".") ? -1 : a.names.join(".") > b.names.join(".") ? 1 : 0));
  for (const { p } of candidates) {
    claimed = true;
    const args: PointArgs = components.map((c) => (c.arg ? c.arg.value : undefined));
    const text = p.components.map((pc, i) => componentText(pc.name, components[i]!.arg)).join(".");
    const r = p.build(args, { ...ctx, text });
    if (Array.isArray(r)) failures.push(r);
    else matches.push(r);
  }
  if (!claimed) return undefined;
  if (!wild && failures.length > 0) return { diagnostics: failures[0]! };
  return { matches };
}

/**
 * Why a written point matched nothing, the way stap's match_node walk
 * says it: the first component no family continues with ("probe point
 * mismatch" with similar names), or components past a complete point
 * ("invalid suffix for probe").
 */
export function explainMismatch(components: readonly ProbeComponent[], extraHeads: readonly string[]): Diagnostic {
  let level: PatternComponent[][] = patterns.map((p) => p.components);
  for (let i = 0; i < components.length; i++) {
    const w = components[i]!;
    const here = new Set<string>(level.filter((p) => p.length > i).map((p) => p[i]!.name));
    if (i === 0) {
      for (const r of resolvers) for (const h of r.heads) here.add(h);
      for (const h of extraHeads) here.add(h);
    }
    const re = globRegex(w.name);
    const next = level.filter((p) => p.length > i && re.test(p[i]!.name) && argOk(p[i]!.arg, w));
    if (next.length === 0) {
      const complete = level.some((p) => p.length === i);
      if (complete && i > 0) return semErr("invalid suffix for probe", `identifier '${w.name}'`, w.pos);
      const similar = suggest(w.name, [...here], 5);
      return semErr(`probe point mismatch${similar.length ? ` (similar: ${similar.join(", ")})` : ""}`, `identifier '${w.name}'`, w.pos, undefined, "probe point mismatch");
    }
    level = next;
  }
  return semErrPlain("no match");
}

// ---------------------------------------------------------------- begin / end / error / never

for (const kind of ["begin", "end", "error"] as const) {
  registerPointPattern(`${kind}(number?)`, (args, ctx) => ({
    point: { kind, priority: (args[0] as bigint | undefined) ?? 0n },
    pp: ctx.text,
  }));
}
registerPointPattern("never", (_args, ctx) => ({ point: { kind: "never" }, pp: ctx.text }));

// ---------------------------------------------------------------- timers

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

for (const unit of Object.keys(NS_PER) as TimerUnit[]) {
  registerPointPattern(`timer.${unit}(number)`, (args, ctx) => hrtimer(unit, args[1] as bigint, undefined, ctx.text));
  registerPointPattern(`timer.${unit}(number).randomize(number)`, (args, ctx) => hrtimer(unit, args[1] as bigint, args[2] as bigint, ctx.text));
}

registerPointPattern("timer.hz(number)", (args, ctx) => {
  const hz = args[1] as bigint;
  if (hz <= 0n) return [semErrPlain("frequency must be greater than 0")];
  const ns = 1_000_000_000n / hz;
  if (ns < MIN_NS || ns > MAX_NS) return outOfRange(1n);
  return { point: { kind: "timer", unit: "hz", value: hz, periodNs: ns }, pp: ctx.text };
});

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
registerPointPattern("timer.jiffies(number)", (args, ctx) => jiffies(args[1] as bigint, undefined, ctx));
registerPointPattern("timer.jiffies(number).randomize(number)", (args, ctx) => jiffies(args[1] as bigint, args[2] as bigint, ctx));

// ---------------------------------------------------------------- kernel families (points-kernel.ts)

registerPointResolver(["kernel", "process"], (components, pos) => {
  const r = resolveKernelPoint(components, pos);
  return r;
});
