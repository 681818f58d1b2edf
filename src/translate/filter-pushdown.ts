// Filter pushdown: a probe condition over event fields becomes the event's
// tracefs `filter`, so events that cannot pass never leave the kernel.
//
// Pushdown only ever drops events the handler would ignore: the JavaScript
// check stays, so a filter may be a superset of the condition (`exact` says
// whether it is the condition itself). A condition is pushed only when the
// kernel computes exactly what the script would for every value it can see:
// integer constants inside the field's C type (the kernel casts the constant
// to the field type), only ==/!= on unsigned 64-bit fields (the script reads
// them as signed), strings only by ==/!= with constants made of plain
// printable characters (no quotes, backslashes or glob characters: script
// text is never written into a filter unchecked).
//
// Through locals: `p = pointer_arg(1); if (!p) next` is `if (!pointer_arg(1))
// next` when the statements before the `if` only assign locals from values
// that cannot fail or print (so an event the kernel drops would have done
// nothing but set them), and the local certainly holds one value at the
// `if` (local-values.ts: not reassigned by arithmetic, not assigned
// differently on two paths); anything else stays in the handler.

import type { Block, Expr, Stmt } from "../parse/ast.js";
import { lazyLocalValues, type LocalLookup } from "../points/local-values.js";

/** A field of the event's `format`, as the filter sees it. */
export interface FilterField {
  name: string;
  kind: "int" | "string";
  /** integer fields: byte size and signedness */
  size: number;
  signed: boolean;
  /** `char[N]` fields: N (a longer constant could match a prefix in the kernel) */
  arrayLen?: number;
}

export interface PushdownContext {
  /** the event's fields by name (without `$`), common_* excluded */
  fields: ReadonlyMap<string, FilterField>;
  /** expressions the probe family lowered to fields of the event (`returnval()` read from `$retval`) */
  reads?: ReadonlyMap<Expr, FilterField>;
  /** MAXSTRINGLEN: script strings are cut there, kernel ones are not */
  maxStringLen: number;
  /** is target() meaningful (-c or -x)? Without it, conditions on target() are not pushed */
  hasTarget: boolean;
  /** what the probe's locals hold at the condition (pushdownProbe) */
  locals?: LocalLookup;
}

// Where target()'s pid goes in a filter text; the runtime fills it in once
// the pid is known (runtime/kernel-dispatch.ts: instantiateFilter).
import { TARGET_TOKEN } from "../../runtime/kernel-dispatch.js";
export { instantiateFilter, TARGET_TOKEN } from "../../runtime/kernel-dispatch.js";

export interface PushedFilter {
  /** tracefs filter text (may contain TARGET_TOKEN); undefined: no field predicate */
  filter?: string;
  /** only the target process's tasks matter: set_event_pid + options/event-fork */
  targetProcess: boolean;
  /** only this process's tasks matter (process(PID) probes): set_event_pid + options/event-fork */
  pidScope?: number;
  /** true when the kernel-side selection equals the condition */
  exact: boolean;
}

const INT_OPS = new Set(["==", "!=", "<", "<=", ">", ">="]);
const FLIP: Record<string, string> = { "==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

type Operand =
  | { kind: "field"; field: FilterField; text: string }
  | { kind: "pid" }
  | { kind: "int"; value: bigint; text: string }
  | { kind: "string"; value: string };

const COMMON_PID: FilterField = { name: "common_pid", kind: "int", size: 4, signed: true };

/** The pushable filter for `cond`, or undefined when nothing of it can be pushed. */
export function pushdownCondition(cond: Expr, ctx: PushdownContext): PushedFilter | undefined {
  const r = lower(cond, ctx);
  if (r === undefined || (r.filter === undefined && !r.targetProcess)) return undefined;
  return r;
}

function unwrap(e: Expr): Expr {
  while (e.kind === "group") e = e.inner;
  return e;
}

function lower(e0: Expr, ctx: PushdownContext): PushedFilter | undefined {
  const e = unwrap(e0);
  switch (e.kind) {
    case "logical": {
      const l = lower(e.left, ctx);
      const r = lower(e.right, ctx);
      if (e.op === "&&") {
        if (l === undefined && r === undefined) return undefined;
        if (l === undefined) return { ...r!, exact: false };
        if (r === undefined) return { ...l, exact: false };
        return {
          filter: joinAnd(l.filter, r.filter),
          targetProcess: l.targetProcess || r.targetProcess,
          exact: l.exact && r.exact,
        };
      }
      // `||`: both sides must be field predicates of their own.
      if (l?.filter === undefined || r?.filter === undefined || l.targetProcess || r.targetProcess) return undefined;
      return { filter: `(${l.filter}) || (${r.filter})`, targetProcess: false, exact: l.exact && r.exact };
    }
    case "unary": {
      if (e.op !== "!") return undefined;
      const inner = lower(e.operand, ctx);
      // Negating a superset is not a superset of the negation.
      if (inner?.filter === undefined || !inner.exact || inner.targetProcess) return undefined;
      return { filter: `!(${inner.filter})`, targetProcess: false, exact: true };
    }
    case "binary":
      if (e.op === "&") return truthy(e, ctx);
      if (!INT_OPS.has(e.op)) return undefined;
      return comparison(e.op, e.left, e.right, ctx);
    default:
      return truthy(e, ctx);
  }
}

function joinAnd(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return `(${a}) && (${b})`;
}

/** An expression used as a condition by itself: nonzero. */
function truthy(e: Expr, ctx: PushdownContext): PushedFilter | undefined {
  if (e.kind === "binary" && e.op === "&") {
    let f = operand(e.left, ctx);
    let c = operand(e.right, ctx);
    if (f?.kind !== "field") [f, c] = [c, f];
    if (f?.kind !== "field" || f.field.kind !== "int" || c?.kind !== "int") return undefined;
    if (!fitsField(c.value, f.field)) return undefined;
    return { filter: `${f.text} & ${c.text}`, targetProcess: false, exact: true };
  }
  const o = operand(e, ctx);
  if (o?.kind !== "field" || o.field.kind !== "int") return undefined;
  return { filter: `${o.text} != 0`, targetProcess: false, exact: true };
}

function comparison(op: string, left: Expr, right: Expr, ctx: PushdownContext): PushedFilter | undefined {
  let a = operand(left, ctx);
  let b = operand(right, ctx);
  if (a === undefined || b === undefined) return undefined;
  // The kernel wants the field on the left.
  if (a.kind !== "field" && a.kind !== "pid") {
    [a, b] = [b, a];
    op = FLIP[op]!;
  }
  if (a.kind === "pid") {
    // pid() == target(): the kernel cannot see the tgid, but set_event_pid with
    // event-fork keeps the target's threads (and its children: a superset).
    if (op === "==" && b.kind === "int" && b.text === TARGET_TOKEN) return { targetProcess: true, exact: false };
    return undefined;
  }
  if (a.kind !== "field") return undefined;
  const f = a.field;
  if (f.kind === "int") {
    if (b.kind !== "int") return undefined;
    if (f.size === 8 && !f.signed && op !== "==" && op !== "!=") return undefined;
    if (b.text !== TARGET_TOKEN && !fitsField(b.value, f)) return undefined;
    return { filter: `${a.text} ${op} ${b.text}`, targetProcess: false, exact: true };
  }
  if (b.kind !== "string" || (op !== "==" && op !== "!=")) return undefined;
  if (!safeFilterString(b.value)) return undefined;
  if (b.value.length >= ctx.maxStringLen - 1) return undefined;
  if (f.arrayLen !== undefined && b.value.length >= f.arrayLen) return undefined;
  return { filter: `${a.text} ${op} "${b.value}"`, targetProcess: false, exact: true };
}

function operand(e0: Expr, ctx: PushdownContext, depth = 0): Operand | undefined {
  const e = unwrap(e0);
  if (e.kind === "ident") {
    // a local that certainly holds a pushable value here is that value
    const v = depth < 8 ? ctx.locals?.get(e) : undefined;
    return v?.kind === "expr" ? operand(v.expr, { ...ctx, locals: v.in ?? ctx.locals }, depth + 1) : undefined;
  }
  const read = ctx.reads?.get(e);
  if (read !== undefined) return /^[A-Za-z_][A-Za-z0-9_]*$/.test(read.name) ? { kind: "field", field: read, text: read.name } : undefined;
  switch (e.kind) {
    case "target": {
      if (e.steps.length > 0 || e.pretty !== "" || e.addressOf) return undefined;
      const f = ctx.fields.get(e.name);
      if (f === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(f.name)) return undefined;
      return { kind: "field", field: f, text: f.name };
    }
    case "call": {
      if (e.args.length !== 0 || !isContextNative(e)) return undefined;
      if (e.name === "tid") return { kind: "field", field: COMMON_PID, text: "common_pid" };
      if (e.name === "pid") return { kind: "pid" };
      if (e.name === "target" && ctx.hasTarget) return { kind: "int", value: 1n, text: TARGET_TOKEN };
      return undefined;
    }
    case "number":
      return { kind: "int", value: e.value, text: e.value.toString() };
    case "unary": {
      const inner = unwrap(e.operand);
      if (inner.kind !== "number") return undefined;
      if (e.op === "+") return { kind: "int", value: inner.value, text: inner.value.toString() };
      if (e.op !== "-") return undefined;
      const v = BigInt.asIntN(64, -inner.value);
      return { kind: "int", value: v, text: v.toString() };
    }
    case "string":
      return { kind: "string", value: e.value };
    default:
      return undefined;
  }
}

/** pid()/tid()/target() as the runtime's own, not a user function of that name. */
function isContextNative(e: Expr & { kind: "call" }): boolean {
  const sym = e.sym as { kind?: string; overloads?: { pos?: { file?: string } }[] } | undefined;
  if (sym === undefined) return false;
  if (sym.kind === "native") return true;
  // A tapset wrapper around the native is fine; a user's own pid() is not.
  if (sym.kind === "function-group") return (sym.overloads ?? []).every((o) => isTapsetFile(o.pos?.file));
  return false;
}

function isTapsetFile(file: string | undefined): boolean {
  return file !== undefined && /(^|\/)tapsets\//.test(file);
}

/** Is v a value of the field's C type (the kernel casts the constant to it)? */
export function fitsField(v: bigint, f: FilterField): boolean {
  const bits = BigInt(f.size * 8);
  if (f.signed) {
    const lim = 1n << (bits - 1n);
    return v >= -lim && v < lim;
  }
  // An unsigned 64-bit field holds what the script reads as negative longs too,
  // but the kernel parses a negative constant differently: keep to 0..2^63-1.
  return v >= 0n && v < 1n << (f.size === 8 ? 63n : bits);
}

/** Characters a string constant may hold to be written into a filter as is. */
export function safeFilterString(s: string): boolean {
  return /^[A-Za-z0-9 _.,:/+=@%^#-]*$/.test(s);
}

/**
 * Several probes (or the runtime itself) listen to one event: the event's
 * filter lets through what any of them needs. `undefined` in `parts` is a
 * listener that needs every event.
 */
export function combineFilters(parts: readonly (PushedFilter | undefined)[]): PushedFilter | undefined {
  if (parts.length === 0 || parts.some((p) => p === undefined)) return undefined;
  const ps = parts as PushedFilter[];
  const targetProcess = ps.every((p) => p.targetProcess);
  if (ps.length === 1) return ps[0];
  const texts = ps.map((p) => p.filter);
  const filter = texts.some((t) => t === undefined) ? undefined : texts.map((t) => `(${t})`).join(" || ");
  const pid = ps[0]!.pidScope;
  const pidScope = pid !== undefined && ps.every((p) => p.pidScope === pid) ? pid : undefined;
  if (filter === undefined && !targetProcess && pidScope === undefined) return undefined;
  return { filter, targetProcess, exact: false, ...(pidScope !== undefined ? { pidScope } : {}) };
}

/**
 * What of a probe can be pushed: its `if (cond)` on the probe point, and in
 * its body a leading `if (cond) next` (the event is wanted when !cond), or a
 * body that is exactly `if (cond) STMT` with no else. Several are and-ed.
 */
export function pushdownProbe(
  probe: { condition?: Expr; body: Block },
  ctx: PushdownContext,
): PushedFilter | undefined {
  const conds: Expr[] = [];
  if (probe.condition) conds.push(probe.condition);
  const stmts = flatten(probe.body);
  // assignments of locals before the if: dropping the event loses nothing else
  let lead = 0;
  while (lead < stmts.length && quietLocalAssignment(stmts[lead]!, ctx)) lead++;
  const first = stmts[lead];
  if (first?.kind === "if" && first.else === undefined) {
    if (isNext(first.then)) {
      conds.push({ kind: "unary", op: "!", operand: first.cond, pos: first.cond.pos });
    } else if (stmts.length === lead + 1) {
      conds.push(first.cond);
    }
  }
  if (conds.length === 0) return undefined;
  const all = conds.reduce((a, b) => ({ kind: "logical", op: "&&", left: a, right: b, pos: a.pos }));
  return pushdownCondition(all, lead > 0 ? { ...ctx, locals: lazyLocalValues(probe.body) } : ctx);
}

/** Context functions that answer for the event and never fail. */
const QUIET_CALLS = new Set(["pid", "tid", "execname", "cpu"]);

/** `local = VALUE` (or `+=`, `-=`), VALUE neither failing (division, a faulting read) nor calling anything but the event's fields. */
function quietLocalAssignment(s: Stmt, ctx: PushdownContext): boolean {
  if (s.kind !== "expr" || s.expr.kind !== "assign" || !["=", "+=", "-="].includes(s.expr.op)) return false;
  const target = unwrap(s.expr.target);
  if (target.kind !== "ident" || (target.sym as { kind?: string } | undefined)?.kind !== "local") return false;
  const quiet = (e0: Expr): boolean => {
    const e = unwrap(e0);
    if (ctx.reads?.has(e)) return true;
    switch (e.kind) {
      case "number":
      case "string":
        return true;
      case "ident":
        return (e.sym as { kind?: string } | undefined)?.kind === "local";
      case "target":
        return e.steps.length === 0 && e.pretty === "" && !e.addressOf && ctx.fields.has(e.name);
      case "unary":
        return quiet(e.operand);
      case "binary":
        return e.op !== "/" && e.op !== "%" && quiet(e.left) && quiet(e.right);
      case "call":
        return e.args.length === 0 && QUIET_CALLS.has(e.name) && isContextNative(e);
      default:
        return false;
    }
  };
  return quiet(s.expr.value);
}

/** The statements of a body, through blocks that alias expansion may nest. */
function flatten(s: Stmt): Stmt[] {
  if (s.kind !== "block") return s.kind === "empty" ? [] : [s];
  const out: Stmt[] = [];
  for (const c of s.stmts) out.push(...flatten(c));
  return out;
}

function isNext(s: Stmt): boolean {
  const f = flatten(s);
  return f.length === 1 && f[0]!.kind === "next";
}
