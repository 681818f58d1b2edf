// Assembles the generated module: runtime bindings, pooled constants,
// globals, functions (with overload dispatchers), probe handlers, and the
// synthetic end probes that print unread globals.

import type { FunctionGroup, FunctionSym, GlobalSym, Program, ResolvedProbe } from "../elaborate/program.js";
import type { CallExpr, Expr, Pos } from "../parse/ast.js";
import { at, identifierAt } from "./near.js";
import { Gen, longLiteral, stringLiteral } from "./gen-context.js";
import { emitExpr } from "./expr.js";
import { boundedActions, defaultValue, StmtWriter } from "./stmt.js";
import type { Limits, ProbeKind, ProbeMeta } from "./plan.js";
import { autoprintBodies } from "./autoprint.js";
import { walk, walkProgram, type Node } from "../elaborate/walk.js";
import { calledFunctions, readsAtEvent, type Specialization } from "../points/function-reads.js";
import { familyOf, writtenText, type EventPlanner, type Lowering } from "../points/index.js";
import { countOnlyProbes, emitCounterBody } from "./count-only.js";

const prologue = `"use strict";
const { add: $add, sub: $sub, mul: $mul, div: $div, mod: $mod, neg: $neg, bnot: $bnot, band: $band, bor: $bor, bxor: $bxor, shl: $shl, shr: $shr, ushr: $ushr, cat: $cat, trunc: $trunc } = $R.ops;
const { statAdd: $statAdd, statCount: $statCount, statSum: $statSum, stat_min: $stat_min, stat_max: $stat_max, stat_avg: $stat_avg, statVariance: $statVariance, statClear: $statClear, histBucket: $histBucket, histBuckets: $histBuckets, histText: $histText } = $R.stats;
const { out: $out, match: $match, exit: $exit, abort: $abort, error: $error, warn: $warn, maxaction: $maxaction, maxnesting: $maxnesting, catchable: $catchable, NEXT: $NEXT } = $R;
// the MAXACTION budget left in the running handler, and the function call depth
let $act = 0;
let $depth = 0;`;

/**
 * A `//` comment line of generated code. Its text comes from the script
 * (probe points carry paths, positions carry file names): every character
 * JavaScript ends a line at is escaped, so no text can end the comment.
 */
export function comment(text: string): string {
  return "  // " + text.replace(/[\n\r\u2028\u2029\\]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** What fires the probe's handler, and what its body reads from the event: its family's answer. */
function lowerProbe(p: ResolvedProbe, id: number, planner: EventPlanner): Lowering | undefined {
  planner.lowering?.(p);
  return familyOf(p.point).lower(p.point, { probe: p, id, pn: writtenText(p.written) }, planner);
}

function localDecls(locals: { jsName: string; type: string }[]): string | undefined {
  if (locals.length === 0) return undefined;
  return `let ${locals.map((l) => `${l.jsName} = ${defaultValue(l.type)}`).join(", ")};`;
}

/** A function, or (spec) its copy for one call of a probe, whose reads are that probe's event fields. */
function emitFunction(g: Gen, f: FunctionSym, spec?: Specialization): string {
  g.beginBody();
  g.fn = f;
  g.loops = 0;
  g.reads = spec?.reads;
  g.calls = spec?.calls;
  const w = new StmtWriter(g, 1);
  if (f.body.kind === "embedded-code") g.fail(`function '${f.name}' is embedded C, which tstap cannot run (no kernel module)`, f.body.pos);
  else w.block(f.body);
  g.fn = undefined;
  g.reads = undefined;
  g.calls = undefined;
  const what = spec ? `function ${f.name} at ${at(f.pos)}, for the call at ${at(spec.call.pos)}` : `function ${f.name} at ${at(f.pos)}`;
  const head = [`function ${spec?.jsName ?? f.jsName}(${f.params.map((p) => p.jsName).join(", ")}) {`, comment(what)];
  // stap names the function's name token; FunctionSym.namePos when pass 2 provides it
  const namePos = (f as FunctionSym & { namePos?: Pos }).namePos ?? f.pos;
  head.push(`  if (++$depth > ${g.limits.MAXNESTING}) $maxnesting(${g.near(identifierAt(f.name, namePos))});`);
  const decl = localDecls(f.locals);
  if (decl) head.push("  " + decl);
  const temps = g.declareTemps();
  if (temps) head.push("  " + temps);
  return [...head, ...w.lines, `  $depth--;`, `  return ${defaultValue(f.returnType)};`, "}"].join("\n");
}

/**
 * `next` in an overload falls through to the next one with the same
 * arguments; past the last one it is stap's "all functions exhausted" error,
 * reported near the call (`near`, the dispatcher's last parameter).
 */
function emitDispatcher(group: FunctionGroup): string {
  const first = group.overloads[0]!;
  const args = first.params.map((_, i) => `a${i}`);
  const lines = [`function $fg_${first.jsName}(${[...args, "near"].join(", ")}) {`, comment(`overloads of ${group.name}/${group.arity}`), "  let r;"];
  for (const o of group.overloads) lines.push(`  r = ${o.jsName}(${args.join(", ")});`, "  if (r !== $NEXT) return r;");
  lines.push(`  throw new $R.ScriptError("all functions exhausted", near);`, "}");
  return lines.join("\n");
}

function emitProbe(g: Gen, p: ResolvedProbe, lowering: Lowering, name: string, interruptible: boolean): string {
  g.beginBody();
  g.fn = undefined;
  g.probe = p;
  g.reads = lowering.reads;
  g.calls = lowering.calls;
  g.loops = 0;
  const budget = interruptible ? g.limits.MAXACTION_INTERRUPTIBLE : g.limits.MAXACTION;
  // a body that can never spend its budget (no loop, no script function, fewer statements than MAXACTION)
  // counts nothing: the same outcome in every run, and a handler that a million events run costs less
  const actions = boundedActions(p.condition ? [p.body, p.condition] : [p.body]);
  const counted = actions === undefined || actions >= budget;
  const w = new StmtWriter(g, 1, counted);
  if (p.condition) w.line(`if (!(${emitExpr(g, p.condition)})) return;`);
  w.block(p.body);
  const head = [`function ${name}() {`, comment(`probe ${p.pp} at ${at(p.pos)}`)];
  if (counted) head.push(`  $act = ${budget};`, "  $depth = 0;");
  else head.push(`  // at most ${actions} of ${interruptible ? "MAXACTION_INTERRUPTIBLE" : "MAXACTION"}=${budget} actions (no loop, no function call): none counted`);
  const decl = localDecls(p.locals);
  if (decl) head.push("  " + decl);
  const temps = g.declareTemps();
  if (temps) head.push("  " + temps);
  g.probe = undefined;
  g.reads = undefined;
  g.calls = undefined;
  return [...head, ...w.lines, "}"].join("\n");
}

function literalInit(e: Expr | undefined, type: string): string {
  if (!e) return defaultValue(type);
  if (e.kind === "number") return longLiteral(e.value);
  if (e.kind === "string") return stringLiteral(e.value);
  if (e.kind === "unary" && e.op === "-" && e.operand.kind === "number") return longLiteral(-e.operand.value);
  return defaultValue(type);
}

function emitGlobal(g: Gen, v: GlobalSym): string {
  const use = g.statUses.get(v);
  const spec = use ? `{ hists: [${[...use.hists.values()].join(", ")}]${use.varianceShift ? `, varianceShift: ${use.varianceShift}` : ""} }` : "{}";
  if (v.keyTypes) {
    const decl = [
      `name: ${stringLiteral(v.name)}`,
      `arity: ${v.keyTypes.length}`,
      `valueType: ${stringLiteral(v.type === "unknown" ? "long" : v.type)}`,
      ...(v.size !== undefined ? [`size: ${v.size}`] : []),
      `wrap: ${v.wrap}`,
    ].join(", ");
    return `const ${v.jsName} = $R.array({ ${decl} }, ${spec});`;
  }
  if (v.type === "stats") return `const ${v.jsName} = $R.stat(${spec});`;
  return `let ${v.jsName} = ${literalInit(v.init, v.type)};`;
}

export interface Generated {
  code: string;
  probes: ProbeMeta[];
  /** the probes (ProbeMeta.id) with a counter function: their events may be counted in the kernel (count-only.ts) */
  countable: Set<number>;
  /** the probes that only count but are recorded per hit all the same, with why (-p3, -v) */
  uncounted: Map<number, string>;
}

/**
 * `mayCount(id)`: whether probe `id`'s events may be counted in the kernel
 * (true), or why not (a string, said by -p3 and -v), or not at all (false:
 * not a uprobe).
 */
export function generate(g: Gen, program: Program, planner: EventPlanner, opts: { mayCount?: (id: number) => boolean | string } = {}): Generated {
  const functions: string[] = [];
  const groups = new Map<string, FunctionGroup>();
  // a function that reads at the event runs as copies made for its calls from probes (function-reads.ts), emitted below
  for (const f of program.functions) if (!readsAtEvent(f)) functions.push(emitFunction(g, f));
  // dispatchers for overload groups reached through `next`
  collectGroups(program, groups);
  for (const grp of groups.values()) if (grp.overloads.length > 1 || grp.overloads[0]!.usesNext) functions.push(emitDispatcher(grp));

  const probes: ProbeMeta[] = [];
  const handlers: string[] = [];
  // every probe is lowered first: whether a probe only counts depends on what fires the others
  const lowered: { p: ResolvedProbe; id: number; lowering: Lowering }[] = [];
  for (const p of program.probes) {
    const id = lowered.length;
    const lowering = lowerProbe(p, id, planner);
    if (lowering) lowered.push({ p, id, lowering });
  }
  const refused = new Map<ResolvedProbe, string>();
  const counting = opts.mayCount
    ? countOnlyProbes(
        program,
        program.probes.map((p) => lowered.find((l) => l.p === p)?.lowering.trigger),
        g.limits.MAXACTION,
        refused,
      )
    : new Map();
  const uncounted = new Map<number, string>();
  // a counter only for probes some of whose events the kernel may count (events.ts decides which)
  for (const l of lowered) {
    if (!counting.has(l.p) && !refused.has(l.p)) continue;
    const may = opts.mayCount!(l.id);
    if (may === true && counting.has(l.p)) continue;
    counting.delete(l.p);
    // not a uprobe: nothing to say; a return probe: that, whatever its condition
    if (may !== false) uncounted.set(l.id, typeof may === "string" ? may : refused.get(l.p)!);
  }
  const counters: string[] = [];
  for (const { p, id, lowering } of lowered) {
    const trigger = lowering.trigger;
    const name = `$probe_${id}`;
    const interruptible = trigger.kind === "begin" || trigger.kind === "end" || trigger.kind === "error" || trigger.kind === "never";
    handlers.push(emitProbe(g, p, lowering, name, interruptible));
    probes.push({ id, trigger, pp: p.pp, at: at(p.pos), pos: p.pos, handler: name, interruptible, derivation: (p.derivation ?? p.pp).split(" <- ") });
    const updates = counting.get(p);
    if (updates) {
      const body = emitCounterBody(g, p, updates, lowering.reads);
      handlers.push([`function $count_${id}($hits) {`, comment(`probe ${p.pp}: counted in the kernel, its updates applied once per hit at the end`), ...body.map((l) => "  " + l), "}"].join("\n"));
      counters.push(`${id}: $count_${id}`);
    }
  }
  for (const { lowering } of lowered) for (const spec of specializations(lowering.calls)) functions.push(emitFunction(g, spec.fn, spec));
  // the plain function, for calls no probe's copy covers: its reads fail there (expr.ts)
  for (const [f, call] of plainCalls(program, lowered)) {
    g.calledAt = call;
    functions.push(emitFunction(g, f));
    g.calledAt = undefined;
  }
  for (const ap of autoprintBodies(g, program)) {
    const id = probes.length;
    const name = `$autoprint_${id}`;
    handlers.push(
      [`function ${name}() {`, comment(`end probe printing unread global '${ap.global.name}'`), `  $act = ${g.limits.MAXACTION_INTERRUPTIBLE};`, "  $depth = 0;", ...ap.lines.map((l) => "  " + l), "}"].join("\n"),
    );
    probes.push({ id, trigger: { kind: "end", priority: 0n }, pp: "end", at: at(ap.global.pos), pos: ap.global.pos, handler: name, interruptible: true });
  }

  const globals = program.globals.map((v) => emitGlobal(g, v));
  const code = [
    prologue,
    "",
    "// ---- constants: error sites, compiled formats and regexes, natives",
    ...g.consts,
    "",
    "// ---- globals",
    ...globals,
    "",
    "// ---- functions",
    ...functions,
    "",
    "// ---- probe handlers",
    ...handlers,
    "",
    `return { handlers: [${probes.map((p) => p.handler).join(", ")}]${counters.length ? `, counters: { ${counters.join(", ")} }` : ""} };`,
    "",
  ].join("\n");
  return { code, probes, countable: new Set(lowered.filter((l) => counting.has(l.p)).map((l) => l.id)), uncounted };
}

/** Every copy below `calls`, callers first. */
function specializations(calls: ReadonlyMap<CallExpr, Specialization> | undefined): Specialization[] {
  const out: Specialization[] = [];
  for (const spec of calls?.values() ?? []) out.push(spec, ...specializations(spec.calls));
  return out;
}

/** The functions reading at the event that some call runs as they are (not a probe's copy), each with its first such call. */
function plainCalls(program: Program, lowered: readonly { p: ResolvedProbe; lowering: Lowering }[]): Map<FunctionSym, CallExpr> {
  const need = new Map<FunctionSym, CallExpr>();
  const queue: FunctionSym[] = [];
  const scan = (root: Node | undefined, copies?: ReadonlyMap<CallExpr, Specialization>): void => {
    if (!root) return;
    walk(root, (n) => {
      if (n.kind !== "call" || copies?.has(n)) return;
      for (const f of calledFunctions(n))
        if (readsAtEvent(f) && !need.has(f)) {
          need.set(f, n);
          queue.push(f);
        }
    });
  };
  for (const { p, lowering } of lowered) {
    scan(p.body, lowering.calls);
    scan(p.condition, lowering.calls);
  }
  for (const f of program.functions) if (!readsAtEvent(f) && f.body.kind !== "embedded-code") scan(f.body);
  for (let f = queue.shift(); f; f = queue.shift()) if (f.body.kind !== "embedded-code") scan(f.body);
  return need;
}

function collectGroups(program: Program, out: Map<string, FunctionGroup>): void {
  walkProgram(program, (n) => {
    if (n.kind !== "call") return;
    const sym = n.sym as FunctionGroup | undefined;
    if (sym && sym.kind === "function-group" && sym.overloads.length > 0) out.set(sym.overloads[0]!.jsName, sym);
  });
}
