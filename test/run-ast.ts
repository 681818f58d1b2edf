// Builders for hand-made annotated ASTs and Programs: unit tests of passes
// 3-5 that do not depend on the parser and the elaborator.

import type { Block, Expr, Pos, Stmt, Type } from "../src/parse/ast.js";
import type { FunctionGroup, FunctionSym, GlobalSym, LocalSym, NativeSym, Program, ResolvedProbe, ResolvedPoint } from "../src/elaborate/program.js";

let col = 0;
export const P = (line = 1, c = ++col): Pos => ({ file: "t.stp", line, col: c, offset: c });

export const num = (v: number | bigint): Expr => ({ kind: "number", value: BigInt(v), text: String(v), pos: P(), type: "long" });
export const str = (s: string): Expr => ({ kind: "string", value: s, pos: P(), type: "string" });

export function local(name: string, type: Type = "long", isParam = false): LocalSym {
  return { kind: "local", name, type, isParam, pos: P(), jsName: `l_${name}` };
}

export function global(name: string, type: Type = "long", keyTypes?: Type[], extra: Partial<GlobalSym> = {}): GlobalSym {
  return { kind: "global", name, type, keyTypes, wrap: false, private: false, read: true, written: true, pos: P(), jsName: `g_${name}`, ...extra };
}

export const id = (sym: LocalSym | GlobalSym): Expr => ({ kind: "ident", name: sym.name, sym, pos: P(), type: sym.type });
export const bin = (op: string, left: Expr, right: Expr, type: Type = "long"): Expr => ({ kind: "binary", op: op as never, left, right, pos: P(), type });
export const assign = (target: Expr, value: Expr, op = "="): Expr => ({ kind: "assign", op: op as never, target, value, pos: P(), type: target.type });
export const idx = (arr: GlobalSym, ...indices: Expr[]): Expr => ({ kind: "index", array: id(arr), indices, pos: P(), type: arr.type });
export const incr = (operand: Expr, prefix = false): Expr => ({ kind: "crement", op: "++", prefix, operand, pos: P(), type: "long" });

export function native(name: string, params: Type[], returnType: Type, varargs = false): NativeSym {
  return { kind: "native", name, params, returnType, varargs };
}

export const call = (name: string, args: Expr[], sym?: FunctionGroup | NativeSym, type: Type = "long"): Expr => ({
  kind: "call",
  name,
  args,
  sym: sym ?? native(name, [], "unknown", true),
  pos: P(),
  type,
});

export const expr = (e: Expr): Stmt => ({ kind: "expr", expr: e, pos: e.pos });
export const block = (...stmts: Stmt[]): Block => ({ kind: "block", stmts, pos: P() });

export function probe(point: ResolvedPoint, body: Block, locals: LocalSym[] = [], pp?: string): ResolvedProbe {
  return {
    id: 0,
    point,
    pp: pp ?? point.kind,
    written: { components: [{ name: point.kind, pos: P() }], optional: false, sufficient: false, pos: P() },
    body,
    locals,
    pos: P(),
  };
}

export function func(name: string, params: LocalSym[], returnType: Type, body: Block, locals: LocalSym[] = []): FunctionSym {
  return { kind: "function", name, params, returnType, locals, body, usesNext: false, pos: P(), jsName: `f_${name}` };
}

export function group(f: FunctionSym): FunctionGroup {
  return { kind: "function-group", name: f.name, arity: f.params.length, overloads: [f] };
}

export function program(probes: ResolvedProbe[], globals: GlobalSym[] = [], functions: FunctionSym[] = []): Program {
  probes.forEach((p, i) => (p.id = i));
  return { files: [], globals, functions, probes, args: [], defines: new Map() };
}
