// Constant folding (stap's semantic_pass_const_fold): operators over
// literals become literals, in place. Division by zero is left for run time,
// where it is an error with a position. stap does not fold `>>>`: over two
// literals it is an error (checks.ts).

import type { Expr, NumberLit, StringLit } from "../parse/ast.js";
import { exprChildren } from "./walk.js";

const I64 = (v: bigint): bigint => BigInt.asIntN(64, v);

function num(e: Expr): bigint | undefined {
  return e.kind === "number" ? e.value : undefined;
}

function str(e: Expr): string | undefined {
  return e.kind === "string" ? e.value : undefined;
}

/** Replace a node's content in place, so parents keep their reference. */
export function replaceNode(node: Expr, into: Expr): void {
  const o = node as unknown as Record<string, unknown>;
  for (const k of Object.keys(o)) delete o[k];
  Object.assign(o, into);
}

function numberLit(v: bigint, at: Expr): NumberLit {
  const w = I64(v);
  return { kind: "number", value: w, text: w.toString(), pos: at.pos, type: "long" };
}

function stringLit(v: string, at: Expr): StringLit {
  return { kind: "string", value: v, raw: v, pos: at.pos, type: "string" };
}

function arith(op: string, a: bigint, b: bigint): bigint | undefined {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return b === 0n ? undefined : a / b;
    case "%":
      return b === 0n ? undefined : a % b;
    case "&":
      return a & b;
    case "|":
      return a | b;
    case "^":
      return a ^ b;
    case "<<":
      return b < 0n || b > 63n ? undefined : a << b;
    case ">>":
      return b < 0n || b > 63n ? undefined : a >> b;
    default:
      return undefined;
  }
}

function compare<T extends bigint | string>(op: string, a: T, b: T): boolean | undefined {
  switch (op) {
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
    default:
      return undefined;
  }
}

/** Fold `e` and everything under it, in place. Returns true when something changed. */
export function foldConstants(e: Expr): boolean {
  let changed = false;
  for (const c of exprChildren(e)) changed = foldConstants(c) || changed;
  switch (e.kind) {
    case "group": {
      const inner = e.inner;
      if (inner.kind === "number" || inner.kind === "string") {
        replaceNode(e, { ...inner });
        return true;
      }
      return changed;
    }
    case "unary": {
      const v = num(e.operand);
      if (v === undefined) return changed;
      const r = e.op === "-" ? -v : e.op === "~" ? ~v : e.op === "!" ? (v === 0n ? 1n : 0n) : v;
      replaceNode(e, numberLit(r, e));
      return true;
    }
    case "binary": {
      const a = num(e.left);
      const b = num(e.right);
      if (a !== undefined && b !== undefined) {
        const cmp = compare(e.op, a, b);
        const r = cmp !== undefined ? (cmp ? 1n : 0n) : arith(e.op, a, b);
        if (r === undefined) return changed;
        replaceNode(e, numberLit(r, e));
        return true;
      }
      const sa = str(e.left);
      const sb = str(e.right);
      if (sa !== undefined && sb !== undefined) {
        if (e.op === ".") {
          replaceNode(e, stringLit(sa + sb, e.left));
          return true;
        }
        const cmp = compare(e.op, sa, sb);
        if (cmp === undefined) return changed;
        replaceNode(e, numberLit(cmp ? 1n : 0n, e));
        return true;
      }
      return changed;
    }
    default:
      return changed;
  }
}
