// Type inference (stap's typeresolution_info): types flow through
// assignments, operators, function parameters and returns, array keys and
// values, foreach bindings and `<<<`, iterated over the whole program until
// nothing changes; then one more pass with errors on (unresolved types,
// mismatches), so the messages are stap's.

import type { Diagnostic } from "../diagnostic.js";
import type { AssignExpr, BinaryExpr, CallExpr, Expr, IndexExpr, Stmt, Type } from "../parse/ast.js";
import type { FunctionGroup, FunctionSym, GlobalSym, LocalSym, NativeSym, ResolvedPoint } from "./program.js";
import { printReturnType } from "./builtins.js";
import { targetAccess } from "../points/index.js";
import type { SymbolTables, Tok, VarSym } from "./symbols.js";
import { describeExpr, semErr } from "./tokens.js";
import { formatArgKinds } from "./printf-check.js";
import { walk } from "./walk.js";

export interface TypedBody {
  body: Stmt;
  locals: LocalSym[];
  fn?: FunctionSym;
  point?: ResolvedPoint;
  /** pp() of the probe, for messages */
  pp?: string;
  condition?: Expr;
}

type Decl = VarSym | FunctionSym;

const ARITH_ASSIGN = new Set(["+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "|=", "^="]);

function tokOf(e: Expr): Tok {
  return { token: describeExpr(e), pos: e.pos };
}

function strip(e: Expr): Expr {
  return e.kind === "group" ? strip(e.inner) : e;
}

export class TypeInference {
  private assert = false;
  /**
   * stap's mismatch_complexity: once a mismatch against a declaration was
   * seen, the last pass reports only those (not the literal mismatches and
   * unresolved types they cause); once a literal mismatch was seen, no
   * unresolved types.
   */
  private complexity = 0;
  private newly = 0;
  private unresolvedCount = 0;
  private readonly first = new Map<Decl, Map<number, { tok: Tok; type: Type }>>();
  private fn: FunctionSym | undefined;
  private point: ResolvedPoint | undefined;
  private pp: string | undefined;
  readonly diags: Diagnostic[] = [];

  constructor(
    private readonly tables: SymbolTables,
    /** `-v`: stap then reports every mismatch, not only the most telling ones */
    private readonly verbose = false,
  ) {}

  /** Run to a fixed point; diagnostics only from the last pass. */
  run(bodies: TypedBody[], globals: GlobalSym[]): void {
    // stap's literals are typed by the parser: before any inference
    for (const b of bodies) {
      const lit = (n: Stmt | Expr): void => {
        if (n.kind === "number") n.type = "long";
        else if (n.kind === "string") n.type = "string";
      };
      walk(b.body, lit);
      if (b.condition) walk(b.condition, lit);
    }
    for (let iter = 0; iter < 1000; iter++) {
      this.newly = 0;
      this.unresolvedCount = 0;
      for (const b of bodies) {
        this.fn = b.fn;
        this.point = b.point;
        this.pp = b.pp;
        this.stmt(b.body);
        for (const l of b.locals) this.checkLocal(l);
        if (b.fn) for (const p of b.fn.params) this.checkLocal(p);
        if (b.condition) {
          this.fn = undefined;
          this.visit(b.condition, "long");
        }
      }
      for (const g of globals) if (g.type === "unknown") this.unresolved(this.tables.vars.get(g)!.declTok);
      if (this.newly > 0) continue;
      if (this.unresolvedCount === 0 || this.assert) return;
      this.assert = true;
    }
  }

  // ------------------------------------------------------------ reporting

  private err(d: Diagnostic): void {
    if (this.assert) this.diags.push(d);
  }

  private resolved(tok: Tok, type: Type, decl?: Decl, index = -1): void {
    this.newly++;
    if (!decl) return;
    let m = this.first.get(decl);
    if (!m) this.first.set(decl, (m = new Map()));
    m.set(index, { tok, type });
  }

  private unresolved(tok: Tok): void {
    this.unresolvedCount++;
    if (this.complexity <= 0) this.err(semErr("unresolved type ", tok.token, tok.pos));
  }

  private mismatchExpected(tok: Tok, expected: Type, found: Type): void {
    this.unresolvedCount++;
    if (!this.assert) {
      if (!this.verbose) this.complexity = Math.max(1, this.complexity);
    } else if (this.complexity <= 1) this.err(semErr(`type mismatch: expected ${expected}${found !== "unknown" ? ` but found ${found}` : ""}`, tok.token, tok.pos));
  }

  /** The call's own check of an argument against its parameter (as telling as a declaration mismatch). */
  private mismatchArg(tok: Tok, argType: Type, paramType: Type): void {
    this.unresolvedCount++;
    if (!this.assert) {
      if (!this.verbose) this.complexity = Math.max(2, this.complexity);
    } else this.err(semErr(`type mismatch: expected ${argType} but found ${paramType}`, tok.token, tok.pos, undefined, "type mismatch expected"));
  }

  private mismatchDecl(tok: Tok, type: Type, decl: Decl, index = -1): void {
    this.unresolvedCount++;
    if (!this.assert) {
      if (!this.verbose) this.complexity = Math.max(2, this.complexity);
      return;
    }
    const original = this.first.get(decl)?.get(index);
    const idx = index >= 0 ? `index ${index} ` : "";
    if (!original) {
      this.diags.push(semErr(`${idx}type mismatch (${type})`, tok.token, tok.pos, undefined, "type mismatch decl"));
      return;
    }
    this.diags.push(semErr(`${idx}type mismatch (${type})`, tok.token, tok.pos, undefined, "type mismatch decl"));
    const chain = index >= 0 ? `type of index ${index} was first inferred here (${original.type})` : `type was first inferred here (${original.type})`;
    this.diags.push({ ...semErr(chain, original.tok.token, original.tok.pos, undefined, "type first inferred"), chained: true });
  }

  private invalid(tok: Tok, type: Type): void {
    this.unresolvedCount++;
    this.err(semErr(tok.token.startsWith("operator") ? "invalid operator" : `invalid type ${type}`, tok.token, tok.pos));
  }

  private checkLocal(l: LocalSym): void {
    const info = this.tables.vars.get(l)!;
    if (info.arity > 0) {
      this.unresolvedCount++;
      this.err(semErr("array locals not supported, missing global declaration? ", info.declTok.token, info.declTok.pos));
      return;
    }
    if (l.type === "unknown") this.unresolved(info.declTok);
    else if (l.type === "stats") {
      this.unresolvedCount++;
      this.err(semErr("stat locals not supported, missing global declaration? ", info.declTok.token, info.declTok.pos));
    }
  }

  // ------------------------------------------------------------ the referrer/referent rule

  /** stap's resolve_2types: an expression naming a declaration, in a context expecting `t`. */
  private resolve2(e: Expr, declType: () => Type, setDecl: (t: Type) => void, decl: Decl, t: Type, index = -1, acceptUnknown = false): void {
    const re = e.type ?? "unknown";
    const te = declType();
    const tok = tokOf(e);
    if (t !== "unknown" && re === t && re === te) return;
    if (t === "unknown" && re !== "unknown" && re === te) return;
    if (re !== "unknown" && te !== "unknown" && re !== te) return this.mismatchDecl(tok, re, decl, index);
    if (re !== "unknown" && t !== "unknown" && re !== t) return this.mismatchDecl(tok, t, decl, index);
    if (te !== "unknown" && t !== "unknown" && te !== t) return this.mismatchDecl(tok, t, decl, index);
    if (re === "unknown" && t !== "unknown") {
      e.type = t;
      this.resolved(tok, t);
      return;
    }
    if (re === "unknown" && te !== "unknown") {
      e.type = te;
      this.resolved(tok, te);
      return;
    }
    if (re !== "unknown" && te === "unknown") {
      setDecl(re);
      this.resolved(tok, re, decl, index);
      return;
    }
    if (!acceptUnknown) this.unresolved(tok);
  }

  private symbol(e: Expr, sym: VarSym, t: Type): void {
    this.resolve2(e, () => sym.type, (x) => (sym.type = x), sym, t);
  }

  // ------------------------------------------------------------ expressions

  private setType(e: Expr, t: Type): void {
    if ((e.type ?? "unknown") === "unknown" && t !== "unknown") {
      e.type = t;
      this.resolved(tokOf(e), t);
    }
  }

  /** A literal in a context expecting `t`. */
  private literal(e: Expr, own: Type, t: Type): void {
    // stap's literals are typed when parsed; ours on first sight, which counts as progress
    if (e.type !== own) this.resolved(tokOf(e), own);
    e.type = own;
    if (t !== "unknown" && t !== own) this.mismatchExpected(tokOf(e), t, own);
  }

  visit(e: Expr, t: Type): void {
    switch (e.kind) {
      case "number":
        return this.literal(e, "long", t);
      case "string":
        return this.literal(e, "string", t);
      case "group":
        this.visit(e.inner, t);
        if (e.inner.type && e.inner.type !== "unknown") e.type = e.inner.type;
        return;
      case "ident": {
        const sym = e.sym as VarSym | undefined;
        if (sym) this.symbol(e, sym, t);
        return;
      }
      case "index":
        return this.index(e, t);
      case "call":
        return this.call(e, t);
      case "binary":
        return this.binary(e, t);
      case "logical":
        if (t === "stats" || t === "string") this.invalid(tokOf(e), t);
        this.visit(e.left, "long");
        this.visit(e.right, "long");
        this.setType(e, "long");
        return;
      case "unary":
        if (t === "stats" || t === "string") this.invalid(tokOf(e), t);
        this.visit(e.operand, "long");
        this.setType(e, "long");
        return;
      case "crement":
        if (t === "stats" || t === "string") this.invalid(tokOf(e), t);
        this.visit(e.operand, "long");
        this.setType(e, "long");
        return;
      case "assign":
        return this.assign(e, t);
      case "ternary": {
        this.visit(e.cond, "long");
        let sub = t;
        if (sub === "unknown") sub = e.then.type ?? "unknown";
        if (sub === "unknown") sub = e.else.type ?? "unknown";
        this.visit(e.then, sub);
        this.visit(e.else, sub);
        this.setType(e, sub);
        return;
      }
      case "regex":
        this.visit(e.subject, "string");
        this.visit(e.pattern, "string");
        this.setType(e, "long");
        return;
      case "in": {
        const arr = strip(e.array);
        const sym = arr.kind === "ident" ? (arr.sym as GlobalSym | undefined) : undefined;
        e.keys.forEach((k, i) => {
          if (k.kind === "wildcard") return;
          if (sym && sym.kind === "global") this.key(sym, i, k);
          else this.visit(k, "unknown");
        });
        if (sym && sym.kind === "global") this.symbol(arr, sym, "unknown");
        this.setType(e, "long");
        return;
      }
      case "statop": {
        this.statOperand(e.operand);
        for (const a of e.args) this.visit(a, "long");
        this.setType(e, "long");
        return;
      }
      case "hist":
        this.statOperand(e.operand);
        for (const a of e.args) this.visit(a, "long");
        this.histKind(e);
        return;
      case "target":
      case "target-vars": {
        if (e.kind === "target") for (const s of e.steps) if (s.kind === "index") this.visit(s.index, "long");
        // the probe family's answer: the variable's type (`$var$` pretty-printed is a string), or why not
        const access = targetAccess(this.point, e, this.pp);
        if (!access.ok) {
          // stap reports a target variable it could not resolve here, then its type
          this.unresolvedCount++;
          this.err(semErr(access.problem, tokOf(e).token, access.pos));
          return;
        }
        // typed on first sight, which counts as progress (so `a = $var` types the global `a`)
        this.setType(e, access.type);
        if (t !== "unknown" && e.type !== t) this.mismatchExpected(tokOf(e), t, access.type);
        return;
      }
      case "cast":
        this.visit(e.operand, "long");
        e.type = "long";
        return;
      case "atvar":
      case "const":
      case "probewrite":
      case "embedded-expr":
      case "machine-access":
        e.type = "long";
        return;
      case "entry":
        this.visit(e.operand, t);
        if (e.operand.type) e.type = e.operand.type;
        return;
      case "defined":
        e.type = "long";
        return;
      case "wildcard":
        return;
    }
  }

  private readonly hists = new Map<VarSym, string>();

  /** stap allows one histogram shape per statistic. */
  private histKind(e: Expr & { kind: "hist" }): void {
    const x = strip(e.operand);
    const base = x.kind === "index" ? strip(x.array) : x;
    const sym = base.kind === "ident" ? (base.sym as VarSym | undefined) : undefined;
    if (!sym) return;
    const shape = e.hist === "log" ? "log" : `linear(${e.args.map((a) => (a.kind === "number" ? a.value : "?")).join(",")})`;
    const prev = this.hists.get(sym);
    if (prev === undefined) this.hists.set(sym, shape);
    else if (prev !== shape) {
      this.unresolvedCount++;
      this.err(semErr(`multiple histogram types declared on '__global_${sym.name}'`, tokOf(e).token, e.pos));
    }
  }

  private statOperand(op: Expr): void {
    const x = strip(op);
    if (x.kind === "ident") this.visit(x, "stats");
    else if (x.kind === "index") this.index(x, "stats");
    else this.visit(x, "stats");
  }

  private key(sym: GlobalSym, i: number, k: Expr): void {
    const kt = sym.keyTypes?.[i] ?? "unknown";
    this.visit(k, kt);
    const at = k.type ?? "unknown";
    if ((at === "string" || at === "long") && kt === "unknown" && sym.keyTypes) {
      sym.keyTypes[i] = at;
      this.resolved(tokOf(k), at, sym, i);
    }
    if (at === "stats") this.invalid(tokOf(k), at);
    const now = sym.keyTypes?.[i] ?? "unknown";
    if (at !== "unknown" && now !== "unknown" && now !== at && k.kind !== "number" && k.kind !== "string") this.mismatchDecl(tokOf(k), at, sym, i);
    else if (at !== "unknown" && now !== "unknown" && now !== at) this.mismatchDecl(tokOf(k), at, sym, i);
    if (at === "unknown") this.unresolved(tokOf(k));
  }

  private index(e: IndexExpr, t: Type): void {
    const arr = strip(e.array);
    if (arr.kind === "hist") {
      this.visit(arr, "unknown");
      for (const k of e.indices) this.visit(k, "long");
      this.setType(e, "long");
      return;
    }
    if (arr.kind !== "ident" || !arr.sym) {
      this.visit(arr, "unknown");
      for (const k of e.indices) this.visit(k, "unknown");
      return;
    }
    const sym = arr.sym as VarSym;
    this.resolve2(e, () => sym.type, (x) => (sym.type = x), sym, t);
    if (sym.kind === "global") e.indices.forEach((k, i) => k.kind !== "wildcard" && this.key(sym, i, k));
    // the array's own name node carries the value type too
    if (sym.type !== "unknown") arr.type = sym.type;
  }

  private binary(e: BinaryExpr, t: Type): void {
    const tok = tokOf(e);
    if (e.op === ".") {
      if (t === "long" || t === "stats") this.invalid(tok, t);
      this.visit(e.left, "string");
      this.visit(e.right, "string");
      this.setType(e, "string");
      return;
    }
    if (e.op === "==" || e.op === "!=" || e.op === "<" || e.op === "<=" || e.op === ">" || e.op === ">=") {
      if (t === "stats" || t === "string") this.invalid(tok, t);
      this.visit(e.left, e.right.type ?? "unknown");
      this.visit(e.right, e.left.type ?? "unknown");
      this.setType(e, "long");
      return;
    }
    if (t === "stats" || t === "string") this.invalid(tok, t);
    this.visit(e.left, "long");
    this.visit(e.right, "long");
    this.setType(e, "long");
  }

  private assign(e: AssignExpr, t: Type): void {
    const tok = tokOf(e);
    if (t === "stats") this.invalid(tok, t);
    if (e.op === "<<<") {
      if (t === "string") this.invalid(tok, t);
      this.visit(e.target, "stats");
      this.visit(e.value, "long");
      if (e.type !== "long") {
        e.type = "long";
        this.resolved(tok, "long");
      }
      return;
    }
    if (e.target.type === "stats") return this.invalid(tokOf(e.target), "stats");
    if (e.value.type === "stats") return this.invalid(tokOf(e.value), "stats");
    if (ARITH_ASSIGN.has(e.op)) {
      if (t === "string") this.invalid(tok, t);
      this.visit(e.target, "long");
      this.visit(e.value, "long");
      this.setType(e, "long");
      return;
    }
    if (e.op === ".=") {
      if (t === "long") this.invalid(tok, t);
      this.visit(e.target, "string");
      this.visit(e.value, "string");
      this.setType(e, "string");
      return;
    }
    // the value's type leads (stap then names the target when they disagree)
    let sub = t;
    if (sub === "unknown" && e.value.type && e.value.type !== "unknown") sub = e.value.type;
    if (sub === "unknown" && e.target.type && e.target.type !== "unknown") sub = e.target.type;
    this.visit(e.target, sub);
    this.visit(e.value, sub);
    if (e.target.type && e.target.type !== "unknown") this.setType(e, e.target.type);
  }

  private call(e: CallExpr, t: Type): void {
    const sym = e.sym as FunctionGroup | NativeSym | undefined;
    if (!sym) return this.printCall(e, t);
    if (sym.kind === "native") {
      e.args.forEach((a, i) => this.arg(a, sym.params[i] ?? sym.params[sym.params.length - 1] ?? "unknown", undefined, i));
      e.type = sym.returnType;
      if (sym.returnType !== "unknown" && t !== "unknown" && t !== sym.returnType) this.mismatchExpected(tokOf(e), t, sym.returnType);
      return;
    }
    const f = sym.overloads[0]!;
    e.args.forEach((a, i) => {
      for (const o of sym.overloads) this.arg(a, o.params[i]!.type, o.params[i]!, i);
    });
    for (const o of sym.overloads.slice(1)) if (o.returnType === "unknown" && f.returnType !== "unknown") o.returnType = f.returnType;
    this.resolve2(e, () => f.returnType, (x) => (f.returnType = x), f, t, -1, true);
  }

  /** One argument against a parameter (stap names the literal's own type first). */
  private arg(a: Expr, pt: Type, param: LocalSym | undefined, _i: number): void {
    this.visit(a, pt);
    if (a.kind === "number" || a.kind === "string") {
      const own: Type = a.kind === "number" ? "long" : "string";
      if (pt !== "unknown" && pt !== own) this.mismatchArg(tokOf(a), own, pt);
    }
    const at = a.type ?? "unknown";
    if (param && (at === "string" || at === "long") && param.type === "unknown") {
      param.type = at;
      this.resolved(this.tables.vars.get(param)!.declTok, at, param);
    }
    if (at === "stats") this.invalid(tokOf(a), at);
    if (at === "unknown") this.unresolved(tokOf(a));
  }

  private printCall(e: CallExpr, _t: Type): void {
    const name = e.name;
    let args = e.args;
    if (name === "printf" || name === "sprintf") {
      const fmt = args[0];
      args = args.slice(1);
      if (fmt) this.visit(fmt, "string");
      if (fmt && strip(fmt).kind === "string") {
        const kinds = formatArgKinds((strip(fmt) as { value: string }).value);
        if (kinds !== undefined && kinds.length !== args.length) {
          this.unresolvedCount++;
          this.err(semErr("Wrong number of args to formatted print operator", `identifier '${name}'`, e.pos));
        }
        args.forEach((a, i) => {
          const k = kinds?.[i];
          const want: Type = k === "long" ? "long" : k === "string" ? "string" : "unknown";
          this.visit(a, want);
          const at = a.type ?? "unknown";
          const named = strip(a).kind === "ident" || strip(a).kind === "index" || strip(a).kind === "call";
          if (!named && want !== "unknown" && at !== "unknown" && at !== want) this.mismatchExpected(tokOf(a), want, at);
          if (at === "unknown") this.unresolved(tokOf(a));
        });
      } else for (const a of args) this.printArg(a);
    } else {
      if ((name === "printd" || name === "printdln" || name === "sprintd") && args[0]) {
        this.visit(args[0], "string");
        args = args.slice(1);
      }
      for (const a of args) {
        if (strip(a).kind === "hist") {
          this.visit(a, "unknown");
          continue;
        }
        this.printArg(a);
      }
    }
    // the print itself has a type once all its arguments have
    if (e.args.some((a) => strip(a).kind !== "hist" && (a.type ?? "unknown") === "unknown")) this.unresolved(tokOf(e));
    else this.setType(e, printReturnType(name) === "string" ? "string" : "long");
  }

  private printArg(a: Expr): void {
    this.visit(a, "unknown");
    const at = a.type ?? "unknown";
    if (at === "unknown") this.unresolved(tokOf(a));
    if (at === "stats") this.invalid(tokOf(a), at);
  }

  // ------------------------------------------------------------ statements

  private stmt(s: Stmt): void {
    switch (s.kind) {
      case "block":
        for (const x of s.stmts) this.stmt(x);
        return;
      case "expr":
        this.visit(s.expr, "unknown");
        return;
      case "if":
        this.visit(s.cond, "long");
        this.stmt(s.then);
        if (s.else) this.stmt(s.else);
        return;
      case "while":
        this.visit(s.cond, "long");
        this.stmt(s.body);
        return;
      case "for":
        if (s.init) this.visit(s.init, "unknown");
        if (s.cond) this.visit(s.cond, "long");
        if (s.step) this.visit(s.step, "unknown");
        this.stmt(s.body);
        return;
      case "foreach": {
        const arr = strip(s.array);
        if (arr.kind === "hist") {
          this.visit(arr, "unknown");
          for (const k of s.keys) this.visit(k, "long");
        } else {
          const base = arr.kind === "index" ? strip(arr.array) : arr;
          const sym = base.kind === "ident" ? (base.sym as VarSym | undefined) : undefined;
          if (sym && sym.kind === "global" && arr.kind === "ident") this.symbol(arr, sym, "unknown");
          if (arr.kind === "index" && sym?.kind === "global") arr.indices.forEach((k, i) => k.kind !== "wildcard" && this.key(sym, i, k));
          if (sym && sym.kind === "global") {
            s.keys.forEach((k, i) => this.foreachKey(k, sym, i));
            if (s.value) {
              const vs = s.value.sym as VarSym | undefined;
              if (vs) {
                if (vs.type === "unknown" && sym.type !== "unknown" && sym.type !== "stats") {
                  vs.type = sym.type;
                  this.resolved(tokOf(s.value), sym.type, vs);
                } else if (sym.type === "unknown" && vs.type !== "unknown") {
                  sym.type = vs.type;
                  this.resolved(tokOf(s.value), vs.type, sym);
                }
                this.visit(s.value, sym.type === "stats" ? "unknown" : sym.type);
              }
            }
            if (sym.type !== "unknown") base.type = sym.type;
          }
        }
        if (s.limit) this.visit(s.limit, "long");
        this.stmt(s.body);
        return;
      }
      case "return": {
        const f = this.fn;
        if (!f) return;
        if (!s.value) return;
        this.visit(s.value, f.returnType);
        const vt = s.value.type ?? "unknown";
        if (f.returnType !== "unknown" && vt !== "unknown" && f.returnType !== vt) this.mismatchDecl(tokOf(s.value), vt, f);
        if (f.returnType === "unknown" && (vt === "long" || vt === "string")) {
          f.returnType = vt;
          this.resolved(tokOf(s.value), vt, f);
        }
        if (vt === "stats") this.invalid(tokOf(s.value), vt);
        return;
      }
      case "delete":
        this.visit(s.target, "unknown");
        return;
      case "try":
        this.stmt(s.body);
        if (s.catchVar) this.visit(s.catchVar, "string");
        this.stmt(s.handler);
        return;
      default:
        return;
    }
  }

  private foreachKey(k: Expr, sym: GlobalSym, i: number): void {
    const ks = (k as { sym?: unknown }).sym as VarSym | undefined;
    const kt = sym.keyTypes?.[i] ?? "unknown";
    if (!ks) return;
    if (ks.type === "unknown" && kt !== "unknown") {
      ks.type = kt;
      this.resolved(tokOf(k), kt, ks);
    } else if (kt === "unknown" && ks.type !== "unknown" && sym.keyTypes) {
      sym.keyTypes[i] = ks.type;
      this.resolved(tokOf(k), ks.type, sym, i);
    }
    this.visit(k, kt);
  }
}
