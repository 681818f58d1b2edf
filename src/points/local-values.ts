// What a probe's local variables hold where they are read, for the lowering
// of user_* reads (user-reads.ts): `p = pointer_arg(1); user_long(p + 8)` is
// `user_long(pointer_arg(1) + 8)`, fetched at the event like the in-place
// form. For every use of a local in one probe body, this finds the
// expression it was last assigned, when that is certain: straight-line
// assignments, and an `if` whose paths all leave the same expression (or
// end in next/return). A value that differs by path, changes in a loop, is
// assigned inside a conditional expression, or is never assigned is
// "unknown", with the reason and the assignment to blame. Whether an
// expression is probe-time data is the family's question, asked later.
// A script function specialized for one call (function-reads.ts) starts
// with its parameters holding that call's arguments, read in the caller's
// body: a value carries the lookup its expression's locals are read in.

import type { CallExpr, Expr, Identifier, Pos, Stmt } from "../parse/ast.js";
import type { Block } from "../parse/ast.js";
import type { FunctionGroup, LocalSym } from "../elaborate/program.js";
import { exprChildren, walk, type Node } from "../elaborate/walk.js";

/** What a local holds at one of its uses. */
export type LocalValue =
  /** in: where the locals of `expr` are read (default: the same body); passed: a parameter, given by that call */
  | { kind: "expr"; name: string; expr: Expr; pos: Pos; in?: LocalLookup; passed?: CallExpr; returned?: true }
  /** `why` reads after the name: "`p` is assigned in a loop" */
  /** pos: the assignment to blame; none when the local is read before any */
  | { kind: "unknown"; name: string; why: string; pos?: Pos };

/** Each use of a local in the body (an Identifier node) and what it holds there. */
export type LocalValues = ReadonlyMap<Identifier, LocalValue>;

/**
 * What a local holds at a use, asked of the body the use is in; `call`:
 * what a call in that body returns, when it runs a copy of a function
 * whose every return gives one value (function-reads.ts).
 */
export interface LocalLookup {
  get(e: Identifier): LocalValue | undefined;
  call?(e: CallExpr): LocalValue | undefined;
}

/** What every use of a local in a function's body holds, and what the function returns. */
export interface BodyValues {
  uses: LocalValues;
  /** undefined: the body is not a function's (no `fn`) */
  returned?: LocalValue;
}

const localOf = (e: Expr): LocalSym | undefined => {
  const sym = e.kind === "ident" ? (e.sym as { kind?: string } | undefined) : undefined;
  return sym?.kind === "local" ? (sym as LocalSym) : undefined;
};

type Env = Map<LocalSym, LocalValue>;

const at = (pos: Pos): string => `${pos.file}:${pos.line}:${pos.col}`;

/** The locals `root` assigns (=, op=, ++/--, foreach, delete), each with its first assignment. */
function assignedIn(root: Node, out: Map<LocalSym, Pos>): void {
  const note = (target: Expr, pos: Pos): void => {
    const sym = localOf(target);
    if (sym && !out.has(sym)) out.set(sym, pos);
  };
  walk(root, (n) => {
    if (n.kind === "assign" || n.kind === "delete") note(n.target, n.pos);
    else if (n.kind === "crement") note(n.operand, n.pos);
    else if (n.kind === "foreach") for (const k of [...n.keys, ...(n.value ? [n.value] : [])]) note(k, k.pos);
    else if (n.kind === "try" && n.catchVar) note(n.catchVar, n.catchVar.pos);
  });
}

/**
 * What a call of a script function with one body returns, with its
 * parameters holding the call's arguments as `caller` has them: how an
 * address passes through a function that reads nothing (`add8(p)` of
 * `user_long(add8(p))`); undefined when the call runs no such function.
 */
export function callReturn(call: CallExpr, caller: LocalLookup): LocalValue | undefined {
  const sym = call.sym as FunctionGroup | { kind?: string } | undefined;
  if (sym?.kind !== "function-group") return undefined;
  const group = sym as FunctionGroup;
  const fn = group.overloads[0]!;
  if (group.overloads.length !== 1 || fn.usesNext || fn.body.kind === "embedded-code") return undefined;
  const body = fn.body as Block;
  const params = new Map<LocalSym, LocalValue>();
  fn.params.forEach((p, i) => {
    const arg = call.args[i]!;
    params.set(p, { kind: "expr", name: p.name, expr: arg, pos: arg.pos, in: caller, passed: call });
  });
  let v: BodyValues | undefined;
  const self: LocalLookup = { get: (e) => (v ??= localValues(body, { name: fn.name, params, self })).uses.get(e), call: (c) => callReturn(c, self) };
  return (v ??= localValues(body, { name: fn.name, params, self })).returned;
}

/** localValues(body), worked out at the first question (most probes read no local's memory). */
export function lazyLocalValues(body: Stmt): LocalLookup {
  let values: LocalValues | undefined;
  return { get: (e) => (values ??= localValues(body).uses).get(e) };
}

/**
 * What every use of a local in `body` holds; for a function's body (`fn`:
 * its name), `params` is what the parameters hold at its start, and
 * `returned` what it returns when all its returns agree and it cannot end
 * without one, read through `self` (the body's lookup, calls included).
 */
export function localValues(body: Stmt, fn?: { name: string; params: ReadonlyMap<LocalSym, LocalValue>; self: LocalLookup }): BodyValues {
  const params = fn?.params;
  const uses = new Map<Identifier, LocalValue>();
  const returns: { key: string; value: LocalValue }[] = [];
  // two values are the same when their expressions read the same way, locals resolved
  const ids = new Map<LocalValue, number>();
  const keyOf = (v: LocalValue | undefined): string => {
    if (!v) return "unset";
    if (v.kind === "expr") return render(v.expr, v.in ?? uses);
    let id = ids.get(v);
    if (id === undefined) ids.set(v, (id = ids.size));
    return `#${id}`;
  };
  let opaque = 0;
  const render = (e: Expr, where: LocalLookup): string => {
    switch (e.kind) {
      case "number":
        return `${e.value}`;
      case "group":
        return render(e.inner, where);
      case "ident":
        return localOf(e) ? keyOf(where.get(e)) : `?${opaque++}`;
      case "binary":
        return `(${render(e.left, where)}${e.op}${render(e.right, where)})`;
      case "unary":
        return `${e.op}${render(e.operand, where)}`;
      case "target":
        return e.steps.length === 0 && !e.addressOf && e.pretty === "" ? `$${e.name}` : `?${opaque++}`;
      case "call": {
        const sym = e.sym as { kind?: string } | undefined;
        if (sym !== undefined && sym.kind !== "native") return `?${opaque++}`;
        return `${e.name}(${e.args.map((a) => (a.kind === "string" ? JSON.stringify(a.value) : render(a, where))).join(",")})`;
      }
      default:
        return `?${opaque++}`;
    }
  };

  const unknown = (sym: LocalSym, why: string, pos: Pos | undefined): LocalValue => ({ kind: "unknown", name: sym.name, why, pos });
  const set = (env: Env, target: Expr, v: (sym: LocalSym) => LocalValue): void => {
    const sym = localOf(target);
    if (sym) env.set(sym, v(sym));
  };
  const use = (env: Env, e: Identifier): void => {
    const sym = localOf(e);
    if (sym) uses.set(e, env.get(sym) ?? unknown(sym, "is not assigned before this read", undefined));
  };
  /** Locals assigned in `nodes` hold no one value after them (a loop, a conditional expression). */
  const blur = (env: Env, nodes: readonly Node[], why: () => string): void => {
    const assigned = new Map<LocalSym, Pos>();
    for (const n of nodes) assignedIn(n, assigned);
    for (const [sym, pos] of assigned) env.set(sym, unknown(sym, why(), pos));
  };

  // an expression, in evaluation order
  const expr = (env: Env, e: Expr): void => {
    switch (e.kind) {
      case "ident":
        return use(env, e);
      case "assign": {
        expr(env, e.value);
        const sym = localOf(e.target);
        if (!sym) return expr(env, e.target);
        if (e.op === "=") {
          env.set(sym, { kind: "expr", name: sym.name, expr: e.value, pos: e.pos });
          return;
        }
        // `p += 8` is `p = p + 8`, the p on the right being the one before
        const before: Identifier = { ...(e.target as Identifier) };
        use(env, before);
        if (e.op !== "+=" && e.op !== "-=") {
          env.set(sym, unknown(sym, `is computed by ${e.op}`, e.pos));
          return;
        }
        const combined: Expr = { kind: "binary", op: e.op === "+=" ? "+" : "-", left: before, right: e.value, pos: e.pos };
        env.set(sym, { kind: "expr", name: sym.name, expr: combined, pos: e.pos });
        return;
      }
      case "crement": {
        const sym = localOf(e.operand);
        if (!sym) return expr(env, e.operand);
        const before: Identifier = { ...(e.operand as Identifier) };
        use(env, before);
        const one: Expr = { kind: "number", value: 1n, text: "1", pos: e.pos };
        env.set(sym, { kind: "expr", name: sym.name, expr: { kind: "binary", op: e.op === "++" ? "+" : "-", left: before, right: one, pos: e.pos }, pos: e.pos });
        return;
      }
      case "ternary":
      case "logical": {
        const [first, ...rest] = e.kind === "ternary" ? [e.cond, e.then, e.else] : [e.left, e.right];
        expr(env, first!);
        for (const r of rest) expr(new Map(env), r);
        blur(env, rest, () => "is assigned inside a conditional expression");
        return;
      }
      default:
        for (const c of exprChildren(e)) expr(env, c);
    }
  };

  /** What two paths leave: a local keeps its value only if both agree. */
  const merge = (a: Env | undefined, b: Env | undefined, where: Pos): Env | undefined => {
    if (!a || !b) return a ?? b;
    const out: Env = new Map();
    for (const sym of new Set([...a.keys(), ...b.keys()])) {
      const va = a.get(sym);
      const vb = b.get(sym);
      if (va === vb || (va && vb && va.kind === "expr" && vb.kind === "expr" && keyOf(va) === keyOf(vb))) {
        out.set(sym, va!);
        continue;
      }
      // the later assignment is the one inside the if
      const blame = [va, vb].filter((v) => v !== undefined).sort((x, y) => (y.pos?.offset ?? -1) - (x.pos?.offset ?? -1))[0]!;
      const why = !va || !vb ? `is assigned on only some paths through the if at ${at(where)}` : `is assigned different values on the paths through the if at ${at(where)}`;
      out.set(sym, unknown(sym, why, blame.pos));
    }
    return out;
  };

  // a statement: the locals after it, undefined when it does not go on (next, return, break)
  const stmt = (env: Env, s: Stmt): Env | undefined => {
    switch (s.kind) {
      case "block": {
        let cur: Env | undefined = env;
        // what follows next/return is never run: its uses are still told apart, its assignments lost
        for (const x of s.stmts) if (cur) cur = stmt(cur, x);
          else stmt(new Map(), x);
        return cur;
      }
      case "expr":
        expr(env, s.expr);
        return env;
      case "if": {
        expr(env, s.cond);
        const t = stmt(new Map(env), s.then);
        const f = s.else ? stmt(new Map(env), s.else) : env;
        return merge(t, f, s.pos);
      }
      case "while":
      case "for":
      case "foreach": {
        if (s.kind === "for" && s.init) expr(env, s.init);
        if (s.kind === "foreach") {
          expr(env, s.array);
          if (s.limit) expr(env, s.limit);
        }
        blur(env, [s], () => "is assigned in a loop");
        const inner = new Map(env);
        if (s.kind !== "foreach" && s.cond) expr(inner, s.cond);
        const end = stmt(inner, s.body);
        if (s.kind === "for" && s.step && end) expr(end, s.step);
        return env;
      }
      case "next":
      case "break":
      case "continue":
        return undefined;
      case "return":
        if (s.value) {
          expr(env, s.value);
          if (fn) returns.push({ key: render(s.value, uses), value: { kind: "expr", name: `${fn.name}()`, expr: s.value, pos: s.value.pos, in: fn.self, returned: true } });
        }
        return undefined;
      case "delete":
        if (localOf(s.target)) set(env, s.target, (sym) => unknown(sym, "is deleted", s.pos));
        else expr(env, s.target);
        return env;
      case "try": {
        const body = stmt(new Map(env), s.body);
        // the handler runs after any part of the body
        const caught = new Map(env);
        blur(caught, [s.body], () => "is assigned in a try block that may stop before it");
        if (s.catchVar) set(caught, s.catchVar, (sym) => unknown(sym, "holds the caught error message", s.catchVar!.pos));
        return merge(body, stmt(caught, s.handler), s.pos);
      }
      default:
        return env;
    }
  };
  const end = stmt(new Map(params), body);
  if (!fn) return { uses };
  const vague = (why: string, pos?: Pos): BodyValues => ({ uses, returned: { kind: "unknown", name: `${fn.name}()`, why, ...(pos ? { pos } : {}) } });
  if (end || returns.length === 0) return vague("can end without a return (giving 0 or \"\")");
  const other = returns.find((r) => r.key !== returns[0]!.key);
  if (other) return vague("returns different values on different paths", other.value.pos);
  return { uses, returned: returns[0]!.value };
}
