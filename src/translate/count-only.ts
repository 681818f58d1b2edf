// Count-only probes: a probe whose handler only adds constants to globals
// needs no record per hit, because the kernel already counts every trap of
// every uprobe (uprobe_profile). Such a probe's events are armed to record
// nothing (or only hits from outside the target's process tree, to be taken
// off), and at the end of the run, before the end probes, its updates are
// applied once per hit the kernel counted (runtime/kernel-source.ts).
//
// What qualifies (checked here, on the resolved program):
// - the body is only `g++`, `++g`, `g--`, `g += C`, `g -= C`, `g <<< C`, on a
//   global scalar or on an element of a global array whose keys are
//   constant for the probe point (literals, and what the point itself says:
//   pp(), pn(), probefunc(), ppfunc(), probemod(), and `.` of those), C a
//   literal number: the result does not depend on the order of the hits,
//   nor on when they are applied. A wildcard point is a probe per site
//   (`function("str*")` one per function), so `calls[probefunc()]++` has
//   one key per site, known here;
// - no probe condition (the kernel counts every trap, it cannot test one);
// - every such global is read only in begin/end/error probes (and by the
//   end's auto-print): a read in another event probe or a timer would see a
//   count that is not there yet. Elsewhere it may only be updated the same
//   way; a function that names it disqualifies it.
//
// Which events end up counted (uprobes, not return probes: the kernel counts
// a return probe's entries) is the event plan's choice (events.ts).

import type { AssignExpr, CrementExpr, Expr, Identifier, Stmt } from "../parse/ast.js";
import type { GlobalSym, LocalSym, Program, ResolvedProbe } from "../elaborate/program.js";
import { walk, type Node } from "../elaborate/walk.js";
import type { Trigger } from "../../runtime/unit.js";
import { Gen } from "./gen-context.js";
import { emitExpr, emitStatAddTimes } from "./expr.js";
import { isNativeCall } from "../points/user-reads.js";
import type { VariableRead } from "../points/index.js";

/** One update of a count-only body. */
type Update = CrementExpr | AssignExpr;

function strip(e: Expr): Expr {
  return e.kind === "group" ? strip(e.inner) : e;
}

function isLiteral(e: Expr): boolean {
  const x = strip(e);
  return x.kind === "number" || x.kind === "string" || (x.kind === "unary" && x.op === "-" && strip(x.operand).kind === "number");
}

/**
 * What a probe point says of itself, the same at every hit of one site: the
 * counter runs with the site's pp (run-loop.ts runCounter) and the reads
 * its family lowered (probefunc() of a uprobe is its function's name).
 */
const SITE_CONSTANTS = new Set(["pp", "pn", "probefunc", "ppfunc", "probemod"]);

/** A key the same at every hit of a probe point: a literal, what the point says of itself, or `.` of those. */
function isSiteConstant(e: Expr): boolean {
  const x = strip(e);
  if (isLiteral(x)) return true;
  if (x.kind === "call") return x.args.length === 0 && SITE_CONSTANTS.has(x.name) && isNativeCall(x);
  return x.kind === "binary" && x.op === "." && isSiteConstant(x.left) && isSiteConstant(x.right);
}

/** The global an update target names (a scalar, or an array element with keys constant per site), and its identifier. */
function updatedGlobal(target: Expr): { sym: GlobalSym; ident: Identifier } | undefined {
  const t = strip(target);
  const base = t.kind === "index" ? strip(t.array) : t;
  if (base.kind !== "ident") return undefined;
  const sym = base.sym as GlobalSym | LocalSym | undefined;
  if (sym?.kind !== "global" || sym.wrap) return undefined;
  if (t.kind === "index") {
    if (!sym.keyTypes || !t.indices.every(isSiteConstant)) return undefined;
  } else if (sym.keyTypes) return undefined;
  return { sym, ident: base };
}

/** The update an expression statement is, when it is one that does not depend on order. */
function updateOf(e: Expr): { update: Update; sym: GlobalSym; ident: Identifier } | undefined {
  const x = strip(e);
  let target: Expr;
  let wants: "long" | "stats";
  if (x.kind === "crement") {
    target = x.operand;
    wants = "long";
  } else if (x.kind === "assign" && (x.op === "+=" || x.op === "-=" || x.op === "<<<") && strip(x.value).kind !== "string" && isLiteral(x.value)) {
    target = x.target;
    wants = x.op === "<<<" ? "stats" : "long";
  } else return undefined;
  const g = updatedGlobal(target);
  if (!g || g.sym.type !== wants) return undefined;
  return { update: x, ...g };
}

/** `if (C) next` (braces allowed, no else): a filter. */
function isIfNext(s: Stmt): boolean {
  if (s.kind !== "if" || s.else !== undefined) return false;
  const t = s.then.kind === "block" && s.then.stmts.length === 1 ? s.then.stmts[0]! : s.then;
  return t.kind === "next";
}

/**
 * The updates of a body made of nothing else (blocks and empty statements
 * allowed), or false; `filters` (when given) lets `if (C) next` pass and
 * counts them.
 */
function bodyUpdates(stmts: readonly Stmt[], out: { update: Update; sym: GlobalSym }[], filters?: { n: number }): boolean {
  for (const s of stmts) {
    if (s.kind === "empty") continue;
    if (filters && isIfNext(s)) {
      filters.n++;
      continue;
    }
    if (s.kind === "block") {
      if (!bodyUpdates(s.stmts, out, filters)) return false;
      continue;
    }
    if (s.kind !== "expr") return false;
    const u = updateOf(s.expr);
    if (!u) return false;
    out.push(u);
  }
  return true;
}

const AT_THE_EDGES = new Set(["begin", "end", "error", "never"]);

/** Why a return probe that only counts is recorded per hit all the same. */
export const RETURN_NOT_COUNTED = "the kernel counts a return probe's hits as the function is entered (uprobe_profile), and a call still running at the end would be counted";

/** Why a probe that only counts is recorded per hit all the same: its condition. */
export const CONDITION_NOT_COUNTED = "its condition is tested at each hit, and the kernel counts every hit";

/**
 * The probes (of those fired by kernel events) whose handlers only count,
 * with their updates; and in `refused`, those that would but for a
 * condition (a probe condition or `if (C) next`: a filter, tested per hit
 * on the record path), with why. `triggers[i]` is what fires
 * program.probes[i] (undefined: the probe has no handler).
 */
export function countOnlyProbes(
  program: Program,
  triggers: readonly (Trigger | undefined)[],
  maxAction: number,
  refused?: Map<ResolvedProbe, string>,
): Map<ResolvedProbe, Update[]> {
  // every identifier that is the target of an order-independent update statement, anywhere
  const updateIdents = new Set<Identifier>();
  const collect = (n: Node): void => {
    if (n.kind !== "expr") return;
    const u = updateOf(n.expr);
    if (u) updateIdents.add(u.ident);
  };
  for (const p of program.probes) walk(p.body, collect);
  // a global is countable when every other mention of it is in a probe at the run's edges
  const spoiled = new Set<GlobalSym>();
  const mentions = (root: Node, edge: boolean): void => {
    walk(root, (n) => {
      if (n.kind !== "ident") return;
      const sym = n.sym as GlobalSym | LocalSym | undefined;
      if (sym?.kind === "global" && !edge && !updateIdents.has(n)) spoiled.add(sym);
    });
  };
  program.probes.forEach((p, i) => {
    const edge = AT_THE_EDGES.has(triggers[i]?.kind ?? "never");
    mentions(p.body, edge);
    if (p.condition) mentions(p.condition, edge);
  });
  for (const f of program.functions) if (f.body.kind === "block") mentions(f.body, false);
  const out = new Map<ResolvedProbe, Update[]>();
  program.probes.forEach((p, i) => {
    if (triggers[i]?.kind !== "event") return;
    const updates: { update: Update; sym: GlobalSym }[] = [];
    const filters = { n: 0 };
    if (!bodyUpdates(p.body.stmts, updates, filters) || updates.length === 0 || updates.length >= maxAction) return;
    if (updates.some((u) => spoiled.has(u.sym))) return;
    if (p.condition || filters.n > 0) {
      refused?.set(p, CONDITION_NOT_COUNTED);
      return;
    }
    out.set(
      p,
      updates.map((u) => u.update),
    );
  });
  return out;
}

/**
 * The body of a count-only probe's counter function, whose parameter
 * `$hits` is how many hits the kernel counted: its updates applied that many
 * times at once (`g++` → `g += $hits`, `g += C` → `g += C * $hits`,
 * `g <<< C` → C added `$hits` times). Returns the statements, temporaries
 * first.
 */
export function emitCounterBody(g: Gen, p: ResolvedProbe, updates: readonly Update[], reads: ReadonlyMap<Expr, VariableRead> | undefined): string[] {
  g.beginBody();
  g.fn = undefined;
  g.probe = p;
  // the keys read as the handler reads them (probefunc() of a uprobe: the lowered constant)
  g.reads = reads;
  const sym: LocalSym = { kind: "local", name: "$hits", type: "long", isParam: true, pos: p.pos, jsName: "$hits" };
  const hits: Identifier = { kind: "ident", name: "$hits", pos: p.pos, sym, type: "long" };
  const lines = updates.map((u) => {
    if (u.kind === "assign" && u.op === "<<<") return emitStatAddTimes(g, u, "$hits");
    const target = u.kind === "crement" ? u.operand : u.target;
    const op = (u.kind === "crement" ? u.op === "++" : u.op === "+=") ? "+=" : "-=";
    const value: Expr = u.kind === "crement" ? hits : { kind: "binary", op: "*", left: u.value, right: hits, pos: u.pos, type: "long" };
    return emitExpr(g, { kind: "assign", op, target, value, pos: u.pos, type: "long" }, true);
  });
  g.probe = undefined;
  g.reads = undefined;
  const temps = g.declareTemps();
  // no hit, no update: not even the map element `m[k] += C` would create
  return [...(temps ? [temps] : []), "if ($hits <= 0) return;", ...lines.map((l) => `${l};`)];
}
