// Generic traversal of statement and expression trees, and the deep copy
// each derived probe gets of its body (so annotations of one probe point
// never leak into another's).

import type { Block, Expr, MemberStep, Stmt } from "../parse/ast.js";
import type { Program } from "./program.js";

export type Node = Stmt | Expr;

function stepExprs(steps: readonly MemberStep[]): Expr[] {
  const out: Expr[] = [];
  for (const s of steps) if (s.kind === "index") out.push(s.index);
  return out;
}

/** The direct sub-expressions of an expression, in evaluation order. */
export function exprChildren(e: Expr): Expr[] {
  switch (e.kind) {
    case "number":
    case "string":
    case "ident":
    case "wildcard":
    case "target-vars":
    case "const":
    case "embedded-expr":
      return [];
    case "target":
      return stepExprs(e.steps);
    case "machine-access":
      return e.args;
    case "binary":
    case "logical":
      return [e.left, e.right];
    case "unary":
      return [e.operand];
    case "crement":
      return [e.operand];
    case "assign":
      return [e.target, e.value];
    case "ternary":
      return [e.cond, e.then, e.else];
    case "regex":
      return [e.subject, e.pattern];
    case "in":
      return [...e.keys, e.array];
    case "index":
      return [e.array, ...e.indices];
    case "call":
      return e.args;
    case "cast":
      return [e.operand, ...stepExprs(e.steps)];
    case "atvar":
      return stepExprs(e.steps);
    case "entry":
    case "defined":
    case "probewrite":
      return [e.operand];
    case "statop":
      return [e.operand, ...e.args];
    case "hist":
      return [e.operand, ...e.args];
    case "group":
      return [e.inner];
  }
}

/** The direct children of a statement: sub-statements and expressions. */
export function stmtChildren(s: Stmt): Node[] {
  switch (s.kind) {
    case "block":
      return s.stmts;
    case "empty":
    case "break":
    case "continue":
    case "next":
    case "embedded-stmt":
      return [];
    case "expr":
      return [s.expr];
    case "if":
      return s.else ? [s.cond, s.then, s.else] : [s.cond, s.then];
    case "while":
      return [s.cond, s.body];
    case "for": {
      const out: Node[] = [];
      if (s.init) out.push(s.init);
      if (s.cond) out.push(s.cond);
      if (s.step) out.push(s.step);
      out.push(s.body);
      return out;
    }
    case "foreach": {
      const out: Node[] = [...s.keys];
      if (s.value) out.push(s.value);
      out.push(s.array);
      if (s.limit) out.push(s.limit);
      out.push(s.body);
      return out;
    }
    case "return":
      return s.value ? [s.value] : [];
    case "delete":
      return [s.target];
    case "try": {
      const out: Node[] = [s.body];
      if (s.catchVar) out.push(s.catchVar);
      out.push(s.handler);
      return out;
    }
  }
}

const STMT_KINDS = new Set(["block", "empty", "expr", "if", "while", "for", "foreach", "break", "continue", "next", "return", "delete", "try", "embedded-stmt"]);

export function isStmt(n: Node): n is Stmt {
  return STMT_KINDS.has(n.kind);
}

export function children(n: Node): Node[] {
  return isStmt(n) ? stmtChildren(n) : exprChildren(n as Expr);
}

/** Visit every node under `n` (pre-order), `n` included. */
export function walk(n: Node, visit: (n: Node) => void): void {
  visit(n);
  for (const c of children(n)) walk(c, visit);
}

/** A fresh copy of a tree: positions shared (immutable), annotations dropped. */
export function cloneTree<T>(n: T): T {
  return copy(n) as T;
}

function copy(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(copy);
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    if (k === "pos") out[k] = o[k];
    else if (k === "sym" || k === "type") continue;
    else out[k] = copy(o[k]);
  }
  return out;
}

export function blockOf(stmts: Stmt[], pos: Block["pos"]): Block {
  return { kind: "block", stmts, pos };
}

/** Every node of the kept program: probe bodies and conditions, then function bodies. */
export function walkProgram(program: Program, visit: (n: Node) => void): void {
  for (const p of program.probes) {
    walk(p.body, visit);
    if (p.condition) walk(p.condition, visit);
  }
  for (const f of program.functions) if (f.body.kind === "block") walk(f.body, visit);
}
