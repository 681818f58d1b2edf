// Symbol resolution (stap's symresolution_info): every identifier of a
// probe or function body is bound to a local, a parameter or a global
// (pulling tapset globals in as needed), every call to a function group,
// a native or a print-family builtin (pulling tapset functions in). Locals
// are created on first use. Arity (scalar vs array of N keys) is checked
// here; types are pass types.ts's.

import type { Diagnostic } from "../diagnostic.js";
import type { CallExpr, DefinedExpr, Expr, FunctionDecl, GlobalVar, Identifier, IndexExpr, Pos, ScriptFile, Stmt } from "../parse/ast.js";
import type { FunctionGroup, FunctionSym, GlobalSym, LocalSym, NativeSym, ResolvedPoint } from "./program.js";
import { allNativeNames, findNative, nativeArities, PRINT_FAMILY } from "./builtins.js";
import type { TapsetLibrary } from "./library.js";
import { suggest } from "./similar.js";
import type { FunctionInfo, SymbolTables, Tok, VarSym } from "./symbols.js";
import { describeExpr, semErr, SemanticFailure } from "./tokens.js";
import { contextFunctionProblem, targetAccess } from "../points/index.js";

/** The code being resolved: a probe body, a function body, or a probe condition. */
export interface Scope {
  kind: "probe" | "function" | "condition";
  locals: LocalSym[];
  params: LocalSym[];
  fn?: FunctionSym;
  /** the concrete point of a probe (for target variables) */
  point?: ResolvedPoint;
  /** pp() of that probe, for messages */
  pp?: string;
}

export interface ResolverHost {
  tables: SymbolTables;
  library?: TapsetLibrary;
  /** the user's script functions by name */
  userFunctions: Map<string, { decl: FunctionDecl; file: ScriptFile }[]>;
  /** token of a declaration's name (function/global), found in its source text */
  nameTok(kind: "function", decl: FunctionDecl, file: ScriptFile): Tok;
  globalTok(v: GlobalVar): Tok;
  /** a function group became needed: its bodies must be resolved */
  queueFunction(f: FunctionSym): void;
  diags: Diagnostic[];
}

/** Is @defined(...) of a target expression true in this probe? Its family's answer (src/points). */
function targetResolves(e: Expr, point: ResolvedPoint | undefined): boolean {
  if (e.kind !== "target" && e.kind !== "target-vars") return false;
  return targetAccess(point, e).ok;
}

/** Replace a node in place (the AST is annotated in place; parents keep their reference). */
function morph(node: Expr, into: Expr): void {
  const o = node as unknown as Record<string, unknown>;
  for (const k of Object.keys(o)) delete o[k];
  Object.assign(o, into);
}

export class Resolver {
  constructor(
    private readonly host: ResolverHost,
    private readonly scope: Scope,
  ) {}

  private get tables(): SymbolTables {
    return this.host.tables;
  }

  private fail(d: Diagnostic): never {
    throw new SemanticFailure([d]);
  }

  // ------------------------------------------------------------ variables

  private setArity(sym: VarSym, arity: number, at: Tok): void {
    const info = this.tables.vars.get(sym)!;
    if (arity < 0) return;
    if (arity === 0 && info.sized) this.fail(semErr("inconsistent arity", info.declTok.token, info.declTok.pos, at));
    if (info.arity >= 0 && info.arity !== arity) {
      const first = info.arityTok ?? info.declTok;
      throw new SemanticFailure([
        semErr(`inconsistent arity (${info.arity} vs ${arity})`, at.token, at.pos, undefined, "inconsistent arity"),
        { ...semErr(`arity ${info.arity} first inferred here`, first.token, first.pos, undefined, "arity first inferred"), chained: true },
      ]);
    }
    if (info.arity !== arity) {
      info.arity = arity;
      info.arityTok = at;
      if (sym.kind === "global" && arity > 0) sym.keyTypes = Array.from({ length: arity }, () => "unknown");
    }
  }

  /** stap's find_var: locals, parameters, the script's globals, then tapset globals. */
  private findVar(name: string, arity: number, at: Tok): VarSym | undefined {
    const local = this.scope.locals.find((l) => l.name === name);
    if (local) {
      this.setArity(local, arity, at);
      return local;
    }
    if (arity <= 0) {
      const param = this.scope.params.find((p) => p.name === name);
      if (param) {
        this.setArity(param, 0, at);
        return param;
      }
    }
    let g = this.tables.globals.get(name);
    if (g && g.private && this.tables.vars.get(g)?.file?.name !== at.pos.file) g = undefined;
    if (!g && this.host.library) {
      for (const d of this.host.library.globals(name)) {
        if (d.decl.private && d.file.name !== at.pos.file) continue;
        g = this.tables.addGlobal(d.decl, d.file, this.host.diags, (v) => this.host.globalTok(v));
        break;
      }
    }
    if (g) {
      this.tables.noteUse(g);
      this.setArity(g, arity, at);
      return g;
    }
    return undefined;
  }

  private identifier(e: Identifier, arity: number): VarSym {
    if (e.sym) return e.sym as VarSym;
    const at = { token: `identifier '${e.name}'`, pos: e.pos };
    const found = this.findVar(e.name, arity, at);
    if (found) {
      e.sym = found;
      return found;
    }
    if (arity > 0) this.fail(semErr(`unresolved arity-${arity} global array ${e.name}, missing global declaration?`, at.token, e.pos, undefined, "unresolved array"));
    if (this.scope.kind === "condition") this.fail(semErr("probe condition must not reference undeclared global", at.token, e.pos));
    const l = this.tables.newLocal(e.name, e.pos, false);
    this.setArity(l, arity, at);
    this.scope.locals.push(l);
    e.sym = l;
    return l;
  }

  /** An array operand (`in`, foreach, delete, `@count(a[k])`): a global array of `arity` keys (-1: any). */
  private arrayName(e: Expr, arity: number): void {
    if (e.kind === "group") return this.arrayName(e.inner, arity);
    if (e.kind === "ident") {
      const sym = this.identifier(e, arity);
      if (arity !== 0 && sym.kind === "local" && this.tables.vars.get(sym)!.arity !== 0)
        this.fail(semErr(`unresolved arity-${arity} global array ${e.name}, missing global declaration?`, `identifier '${e.name}'`, e.pos, undefined, "unresolved array"));
      return;
    }
    this.expr(e);
  }

  // ------------------------------------------------------------ functions

  private callable(name: string, arity: number, call: CallExpr): FunctionGroup | NativeSym | "print" {
    if (PRINT_FAMILY.has(name)) return "print";
    let decls = this.host.userFunctions.get(name) ?? [];
    if (decls.length === 0 && this.host.library) {
      decls = this.host.library.functions(name).filter((d) => !d.decl.private || d.file.name === call.pos.file);
    }
    if (decls.length === 0) {
      const native = findNative(name, arity);
      if (native) return native;
      const arities = nativeArities(name);
      if (arities.length > 0) this.fail(semErr(`arity mismatch found (function '${name}' takes ${arities[0]} args)`, `identifier '${name}'`, call.pos, undefined, "arity mismatch"));
      const names = [...(this.host.library?.functionNames() ?? []), ...allNativeNames()];
      const similar = suggest(name, names, 5);
      this.fail(semErr(`unresolved function ${name}${similar.length ? ` (similar: ${similar.join(", ")})` : ""}`, `identifier '${name}'`, call.pos, undefined, "unresolved function"));
    }
    const same = decls.filter((d) => d.decl.params.length === arity);
    if (same.length === 0) {
      const d = decls[0]!;
      this.fail(semErr(`arity mismatch found (function '${name}' takes ${d.decl.params.length} args)`, `identifier '${name}'`, call.pos, this.host.nameTok("function", d.decl, d.file), "arity mismatch"));
    }
    const key = `${name}/${arity}`;
    const existing = this.tables.groups.get(key);
    if (existing) return this.bindNative(existing);
    const ordered = same.map((d, i) => ({ d, i })).sort((a, b) => (a.d.decl.priority ?? 1) - (b.d.decl.priority ?? 1) || a.i - b.i);
    const group: FunctionGroup = { kind: "function-group", name, arity, overloads: [] };
    for (const { d } of ordered) {
      const f = this.makeFunction(d.decl, d.file, ordered.length > 1 ? group.overloads.length : undefined);
      group.overloads.push(f);
    }
    this.tables.groups.set(key, group);
    for (const f of group.overloads) this.host.queueFunction(f);
    return this.bindNative(group);
  }

  /** `-u`: make a script function's group exist (and be resolved) without a call. */
  ensureGroup(name: string, arity: number, at: CallExpr): void {
    this.callable(name, arity, at);
  }

  /** An embedded-C function with a native implementation is called as the native. */
  private bindNative(g: FunctionGroup): FunctionGroup | NativeSym {
    if (g.overloads.length !== 1) return g;
    const info = this.tables.functions.get(g.overloads[0]!)!;
    return info.native ?? g;
  }

  private makeFunction(decl: FunctionDecl, file: ScriptFile, overload: number | undefined): FunctionSym {
    const tables = this.tables;
    const params = decl.params.map((p) => tables.newLocal(p.name, p.pos, true, p.type ?? "unknown", "p"));
    const base = `f_${decl.name}${decl.params.length ? `_${decl.params.length}` : ""}${overload !== undefined ? `_o${overload}` : ""}`;
    const f: FunctionSym = {
      kind: "function",
      name: decl.name,
      params,
      returnType: decl.returnType ?? "unknown",
      locals: [],
      body: decl.body,
      usesNext: false,
      pos: decl.pos,
      jsName: tables.jsName(base),
    };
    const nameTok = this.host.nameTok("function", decl, file);
    (f as FunctionSym & { namePos?: Pos }).namePos = nameTok.pos;
    const info: FunctionInfo = { decl, file, nameTok };
    if (decl.body.kind === "embedded-code") {
      const native = findNative(decl.name, decl.params.length);
      if (native) {
        info.native = native;
        tables.nativeDecls.set(`${decl.name}/${decl.params.length}`, info);
      }
    }
    tables.functions.set(f, info);
    return f;
  }

  private call(e: CallExpr): void {
    // a context function the probe's family does not offer (returnval() in a begin probe)
    if (this.scope.point && !e.sym && !this.host.userFunctions.has(e.name)) {
      const why = contextFunctionProblem(this.scope.point, this.scope.pp ?? e.name, e.name);
      if (why) this.fail(semErr(why, `identifier '${e.name}'`, e.pos));
    }
    // the function first: an unknown one is reported before anything in its arguments
    const target = e.sym ? undefined : this.callable(e.name, e.args.length, e);
    // tstap lets a probe condition call the runtime's natives (pid(), tid(),
    // target(), execname()...: what filter pushdown turns into tracefs
    // filters); script functions stay refused there, as stap refuses all calls.
    if (this.scope.kind === "condition" && !this.isNativeTarget(target)) {
      this.fail(semErr("probe condition must not reference function", `identifier '${e.name}'`, e.pos));
    }
    for (const a of e.args) this.expr(a);
    if (target === undefined) return;
    if (target === "print") return;
    if (target.kind === "function-group") {
      for (const f of target.overloads) {
        if (f.body.kind === "embedded-code" && !this.tables.functions.get(f)!.native) {
          const info = this.tables.functions.get(f)!;
          this.fail(
            semErr(`embedded C function '${f.name}' cannot run on tstap: it needs a kernel module`, `identifier '${e.name}'`, e.pos, info.nameTok),
          );
        }
      }
    }
    e.sym = target;
  }

  // ------------------------------------------------------------ expressions

  private isNativeTarget(target: ReturnType<Resolver["callable"]> | undefined): boolean {
    if (target === undefined || target === "print") return false;
    if (target.kind === "native") return true;
    return target.overloads.every((f) => f.body.kind === "embedded-code" && this.tables.functions.get(f)?.native !== undefined);
  }

  private lvalue(target: Expr, op: string, opPos: Pos, what: "assignment" | "increment"): void {
    if (this.scope.kind === "condition") this.fail(semErr("probe condition must not modify any variables", `operator '${op}'`, opPos));
    const t = target.kind === "group" ? target.inner : target;
    if (t.kind === "ident") {
      this.identifier(t, 0);
      return;
    }
    if (t.kind === "index" && t.array.kind !== "hist") {
      this.index(t);
      return;
    }
    if (t.kind === "target") {
      // event fields are read-only: stap's words for each kind of point
      const point = this.scope.point;
      if (point?.kind === "process") {
        const name = /^arg[1-6]$/.test(t.name) ? "$argN" : `$${t.name}`;
        this.fail(semErr(`utrace '${name}' variable is read-only`, describeExpr(t), t.pos));
      }
      if (point?.kind === "tracepoint") this.fail(semErr(`write to tracepoint variable '$${t.name}' not permitted; need stap -g`, describeExpr(t), t.pos));
      this.expr(t);
      return;
    }
    const msg = what === "assignment" ? "Expecting lvalue for assignment" : "Expecting lvalue for increment/decrement";
    this.fail(semErr(msg, `operator '${op}'`, opPos, { token: describeExpr(t), pos: t.pos }));
  }

  private index(e: IndexExpr): void {
    const arr = e.array.kind === "group" ? e.array.inner : e.array;
    if (arr.kind === "hist") {
      this.expr(arr);
      for (const k of e.indices) this.expr(k);
      return;
    }
    if (arr.kind !== "ident") {
      this.expr(arr);
      for (const k of e.indices) this.expr(k);
      return;
    }
    for (const k of e.indices) if (k.kind !== "wildcard") this.expr(k);
    this.identifier(arr, e.indices.length);
  }

  expr(e: Expr): void {
    switch (e.kind) {
      case "number":
      case "string":
      case "wildcard":
      case "const":
        return;
      case "embedded-expr":
        // the parser accepts it under -g, as stap's does; nothing here can run C
        this.fail(semErr("embedded C code cannot run on tstap: it needs a kernel module", "embedded-code", e.pos));
        return;
      case "machine-access":
        this.fail(
          semErr(
            e.op.endsWith("register")
              ? `@${e.op} cannot run on tstap: its probes record no registers (tracefs tracepoints hand over their fields only)`
              : `@${e.op} cannot run on tstap: its probes read no memory at the event (tracefs tracepoints hand over their fields only)`,
            `operator '@${e.op}'`,
            e.pos,
          ),
        );
        return;
      case "ident":
        this.identifier(e, 0);
        return;
      case "target":
        // an unresolvable target variable is reported by types.ts (stap reports it with the types)
        for (const s of e.steps) if (s.kind === "index") this.expr(s.index);
        return;
      case "target-vars":
        return;
      case "binary":
      case "logical":
        this.expr(e.left);
        this.expr(e.right);
        return;
      case "unary":
        this.expr(e.operand);
        return;
      case "crement":
        this.lvalue(e.operand, e.op, e.pos, "increment");
        return;
      case "assign":
        this.lvalue(e.target, e.op, e.pos, "assignment");
        this.expr(e.value);
        return;
      case "ternary":
        this.expr(e.cond);
        this.expr(e.then);
        this.expr(e.else);
        return;
      case "regex":
        this.expr(e.subject);
        this.expr(e.pattern);
        return;
      case "in":
        for (const k of e.keys) if (k.kind !== "wildcard") this.expr(k);
        this.arrayName(e.array, e.keys.length);
        return;
      case "index":
        this.index(e);
        return;
      case "call":
        this.call(e);
        return;
      case "cast":
        this.expr(e.operand);
        for (const s of e.steps) if (s.kind === "index") this.expr(s.index);
        return;
      case "atvar":
        for (const s of e.steps) if (s.kind === "index") this.expr(s.index);
        return;
      case "entry":
        this.expr(e.operand);
        return;
      case "probewrite":
        this.fail(semErr("unexpected @probewrite", "operator '@probewrite'", e.pos));
      case "defined":
        this.defined(e);
        return;
      case "statop":
      case "hist": {
        const x = e.operand.kind === "group" ? e.operand.inner : e.operand;
        if (x.kind === "ident") this.identifier(x, 0);
        else if (x.kind === "index") this.index(x);
        else this.expr(x);
        for (const a of e.args) this.expr(a);
        return;
      }
      case "group":
        this.expr(e.inner);
        return;
    }
  }

  /** stap folds @defined to a literal once target variables are resolved. */
  private defined(e: DefinedExpr): void {
    const op = e.operand.kind === "group" ? e.operand.inner : e.operand;
    const targety = op.kind === "target" || op.kind === "target-vars" || op.kind === "cast" || op.kind === "atvar" || op.kind === "entry";
    const yes = targety ? targetResolves(op, this.scope.point) : true;
    if (!targety) this.expr(op);
    morph(e, { kind: "number", value: yes ? 1n : 0n, text: yes ? "1" : "0", pos: e.pos });
  }

  // ------------------------------------------------------------ statements

  /** Resolve a statement; an error is recorded and resolution goes on with the next one, as stap's. */
  stmt(s: Stmt): void {
    if (s.kind === "block") {
      for (const x of s.stmts) this.stmt(x);
      return;
    }
    try {
      this.stmtInner(s);
    } catch (e) {
      if (!(e instanceof SemanticFailure)) throw e;
      this.host.diags.push(...e.diagnostics);
      this.failed = true;
    }
  }

  /** set once an error was recorded in this scope */
  failed = false;

  private stmtInner(s: Stmt): void {
    switch (s.kind) {
      case "block":
        for (const x of s.stmts) this.stmt(x);
        return;
      case "empty":
      case "break":
      case "continue":
      case "embedded-stmt":
        return;
      case "next":
        if (this.scope.fn) this.scope.fn.usesNext = true;
        return;
      case "expr":
        this.expr(s.expr);
        return;
      case "if":
        this.expr(s.cond);
        this.stmt(s.then);
        if (s.else) this.stmt(s.else);
        return;
      case "while":
        this.expr(s.cond);
        this.stmt(s.body);
        return;
      case "for":
        if (s.init) this.expr(s.init);
        if (s.cond) this.expr(s.cond);
        if (s.step) this.expr(s.step);
        this.stmt(s.body);
        return;
      case "foreach": {
        const arr = s.array.kind === "group" ? s.array.inner : s.array;
        if (arr.kind === "ident") this.arrayName(arr, s.keys.length);
        else if (arr.kind === "index") {
          for (const k of arr.indices) if (k.kind !== "wildcard") this.expr(k);
          const base = arr.array.kind === "group" ? arr.array.inner : arr.array;
          if (base.kind === "ident") this.arrayName(base, arr.indices.length);
          else this.expr(base);
        } else this.expr(arr);
        for (const k of s.keys) this.identifier(k, 0);
        if (s.value) this.identifier(s.value, 0);
        if (s.limit) this.expr(s.limit);
        this.stmt(s.body);
        return;
      }
      case "return":
        if (s.value) this.expr(s.value);
        return;
      case "delete": {
        const t = s.target.kind === "group" ? s.target.inner : s.target;
        if (t.kind === "ident") this.identifier(t, -1);
        else if (t.kind === "index") this.index(t);
        else this.expr(t);
        return;
      }
      case "try":
        this.stmt(s.body);
        if (s.catchVar) this.identifier(s.catchVar, 0);
        this.stmt(s.handler);
        return;
    }
  }
}

export type { GlobalSym };
