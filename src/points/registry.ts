// The probe families, and the questions every pass asks them: which points
// a written point matches (pass 2's derivation), which family owns a
// resolved point, what `$name` / `$$vars` are there (binding, @defined,
// types, -L and lowering all ask `targetAccess`), and which context
// functions make sense there.

import type { Diagnostic } from "../diagnostic.js";
import type { Pos, ProbeComponent, TargetVar, TargetVars } from "../parse/ast.js";
import { semErr, semErrPlain } from "../elaborate/tokens.js";
import { suggest } from "../elaborate/similar.js";
import { globToRegExp } from "../targets/glob.js";
import type { AnyFamily, Bundle, PointMatch, PointPattern, PointResult, ResolveContext, ResolvedPoint, TargetVariable } from "./family.js";
import { argOk, componentText, parsePattern, type ParsedPattern, type PatternComponent } from "./pattern.js";
import { contextFunctionNeed } from "./context-functions.js";
import { runPoints } from "./begin-end.js";
import { timers } from "./timer.js";
import { tracepoints } from "./kernel-trace.js";
import { processLifecycle } from "./process-lifecycle.js";
import { processSyscall } from "./process-syscall.js";
import { uprobes } from "./uprobe.js";
import { usdtMarkers } from "./usdt.js";

/** Every family, in the order their resolvers are asked. */
const FAMILIES: AnyFamily[] = [tracepoints, processLifecycle, processSyscall, uprobes, usdtMarkers, runPoints, timers];

const patterns: (ParsedPattern & { family: AnyFamily })[] = FAMILIES.flatMap((f) => (f.patterns ?? []).map((p) => ({ ...parsePattern(p), family: f })));

/** --dump-probe-types: every probe point shape the families know, sorted, as stap lists them. */
export function probeTypes(): string[] {
  const shown = (c: PatternComponent): string[] =>
    c.arg === "none" ? [c.name] : c.arg === "number?" ? [c.name, `${c.name}(number)`] : [`${c.name}(${c.arg})`];
  const out = new Set<string>();
  for (const p of patterns) {
    let forms = [""];
    for (const c of p.components) forms = forms.flatMap((f) => shown(c).map((s) => (f ? `${f}.${s}` : s)));
    for (const f of forms) out.add(f);
  }
  for (const f of FAMILIES) for (const s of f.shapes ?? []) out.add(s);
  return [...out].sort();
}

/** Adds a fixed-shape pattern to the family owning what its builder returns (tests, embedders). */
export function registerPointPattern(pattern: string, build: PointPattern["build"]): void {
  patterns.push({ ...parsePattern({ pattern, build }), family: runPoints });
}

/** The family that owns a resolved point. */
export function familyOf(point: ResolvedPoint): AnyFamily {
  const f = FAMILIES.find((x) => x.owns(point));
  if (!f) throw new Error(`internal: no probe family owns points of kind '${point.kind}'`);
  return f;
}

/**
 * Match written components against the families. Undefined when nothing
 * claims the point (the caller reports stap's mismatch error); wildcard
 * expansions that a builder refuses are dropped, as stap drops them.
 */
export function resolvePoint(components: readonly ProbeComponent[], pos: Pos, ctx: ResolveContext): PointResult | undefined {
  for (const f of FAMILIES) {
    const res = f.resolve?.(components, pos, ctx);
    if (res) return res;
  }
  const wild = components.some((c) => c.name.includes("*"));
  const matches: PointMatch[] = [];
  const failures: Diagnostic[][] = [];
  // candidates in name order, as stap's match_node children are sorted
  const candidates = patterns
    .filter((p) => p.components.length === components.length && p.components.every((pc, i) => globToRegExp(components[i]!.name).test(pc.name) && argOk(pc.arg, components[i]!)))
    .map((p) => ({ p, key: p.components.map((c) => c.name).join(".") }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (candidates.length === 0) return undefined;
  for (const { p } of candidates) {
    const args = components.map((c) => (c.arg ? c.arg.value : undefined));
    const text = p.components.map((pc, i) => componentText(pc.name, components[i]!.arg)).join(".");
    const r = p.build(args, { ...ctx, text });
    if (Array.isArray(r)) failures.push(r);
    else matches.push(r);
  }
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
      for (const f of FAMILIES) if (f.resolve) for (const h of f.heads) here.add(h);
      for (const h of extraHeads) here.add(h);
    }
    const re = globToRegExp(w.name);
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

// ---------------------------------------------------------------- variables

/** The variables a point offers. */
export function variablesOf(point: ResolvedPoint): readonly TargetVariable[] {
  return familyOf(point).variables(point);
}

/** The script type of `$name` at a point; undefined when it has no such variable. */
export function variableType(point: ResolvedPoint, name: string): "long" | "string" | undefined {
  return variablesOf(point).find((v) => v.name === name)?.type;
}

/** `-L`: what a point offers, as ` $name:type ...` (empty when nothing). */
export function listVariables(point: ResolvedPoint): string {
  const fam = familyOf(point);
  if (fam.listing) return fam.listing(point);
  return variablesOf(point)
    .map((v) => ` $${v.name}:${v.display}`)
    .join("");
}

/** What a target expression reads, or why it cannot be read here. */
export type TargetAccess =
  | { ok: true; variable: TargetVariable; type: "long" | "string" }
  | { ok: true; bundle: Bundle; type: "string" }
  | { ok: false; problem: string; pos: Pos; unresolved: boolean };

/**
 * THE answer to "what is `$name` (or `$$vars`) in this probe": pass 2's
 * @defined (ok or not), its types (the type, or the problem as an error)
 * and pass 3's lowering all ask here.
 */
export function targetAccess(point: ResolvedPoint | undefined, e: TargetVar | TargetVars, pp?: string): TargetAccess {
  if (e.kind === "target-vars") {
    if (!point || !familyOf(point).bundles(point).includes(e.which)) {
      return { ok: false, problem: `$$${e.which} is not available in probe '${pp ?? point?.kind ?? "?"}'`, pos: e.pos, unresolved: true };
    }
    return { ok: true, bundle: e.which, type: "string" };
  }
  const v = point ? variablesOf(point).find((x) => x.name === e.name) : undefined;
  if (!v) return { ok: false, problem: "unresolved target-symbol expression", pos: e.pos, unresolved: true };
  if (v.problem !== undefined) return { ok: false, problem: v.problem, pos: e.pos, unresolved: false };
  const step = e.steps[0];
  const noun = point ? (familyOf(point).variableNoun ?? "target variable") : "target variable";
  if (e.addressOf) return { ok: false, problem: `cannot take the address of $${e.name}: ${noun}s are copies, not memory`, pos: e.pos, unresolved: false };
  if (e.pretty !== "") {
    if (step) return { ok: false, problem: `$${e.name} (${v.display}) has no members: ${noun}s are values`, pos: step.pos, unresolved: false };
    return { ok: true, variable: v, type: "string" };
  }
  if (v.read.kind === "field" && v.read.shape === "int-array") {
    if (!step || step.kind !== "index" || e.steps.length !== 1) return { ok: false, problem: `$${e.name} is an array (${v.display}): index it, as in $${e.name}[0]`, pos: e.pos, unresolved: false };
    return { ok: true, variable: v, type: "long" };
  }
  if (step) {
    const msg = v.read.kind === "element" ? `$${e.name} is a long: it has no members` : `$${e.name} (${v.display}) has no members: ${noun}s are values`;
    return { ok: false, problem: msg, pos: v.read.kind === "element" ? e.pos : step.pos, unresolved: false };
  }
  return { ok: true, variable: v, type: v.type };
}

/** The names a point's `$` variables take, for "alternatives:" notes. */
export function variableNames(point: ResolvedPoint): string[] {
  return variablesOf(point).map((v) => `$${v.name}`);
}

// ---------------------------------------------------------------- context functions

/** Why context function `name` cannot be called in a probe at `point` (undefined: it can). */
export function contextFunctionProblem(point: ResolvedPoint, pp: string, name: string): string | undefined {
  const need = contextFunctionNeed(name);
  if (!need) return undefined;
  const fam = familyOf(point);
  if ((fam.offers?.(point) ?? []).includes(need.offer)) return undefined;
  return `${name}() is not available in probe '${pp}': it ${need.why}`;
}
