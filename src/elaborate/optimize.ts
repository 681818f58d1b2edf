// stap's pass-2 optimizations (elaborate.cxx semantic_pass_opt1..4, const
// folding, dead control), repeated until nothing changes; warnings come
// from the first round only, as stap's:
//   - assignments to locals that are never read are dropped ("Eliding
//     assignment to 'x'"), locals and globals never used disappear;
//   - expression statements without side effects are dropped ("Eliding
//     side-effect-free expression");
//   - empty statements, blocks and dead branches go; a probe left with an
//     empty body is dropped ("Probe 'begin' has been elided");
//   - variables read but never written are reported ("never-assigned").
// `-u` keeps everything (constants are still folded).

import type { Diagnostic } from "../diagnostic.js";
import type { Block, Expr, ProbeDecl, ScriptFile, Stmt, Type } from "../parse/ast.js";
import type { FunctionGroup, FunctionSym, GlobalSym, LocalSym, NativeSym, ResolvedProbe } from "./program.js";
import { PRINT_FAMILY } from "./builtins.js";
import { foldConstants, replaceNode } from "./fold.js";
import { suggest } from "./similar.js";
import type { FunctionInfo, SymbolTables, Tok, VarSym } from "./symbols.js";
import { describeExpr, warn } from "./tokens.js";
import { exprChildren, isStmt, stmtChildren } from "./walk.js";
import { lookupNative } from "../../runtime/natives.js";

export interface ProbeUnit {
  probe: ResolvedProbe;
  decl: ProbeDecl;
}

export interface OptimizeInput {
  tables: SymbolTables;
  probes: ProbeUnit[];
  unoptimized: boolean;
  userFile: ScriptFile;
}

export interface Kept {
  probes: ProbeUnit[];
  functions: FunctionSym[];
  globals: GlobalSym[];
  /** tapset declarations of natives the kept program calls (listed by -p2) */
  natives: FunctionInfo[];
  files: ScriptFile[];
}

const RUN_CONTROL_EFFECTS = new Set(["exit", "abort", "error", "warn", "log", "assert"]);

function strip(e: Expr): Expr {
  return e.kind === "group" ? strip(e.inner) : e;
}

interface Uses {
  /** reads, an update (`x++`, `x += 1`) included: what keeps a local alive */
  reads: Map<VarSym, number>;
  writes: Map<VarSym, number>;
  /** reads that stop stap from printing a global at the end: updates excluded, `delete` included */
  printReads: Map<VarSym, number>;
}

/** What one body reads and writes (calls are followed by the caller). */
function collectUses(n: Stmt | Expr, uses: Uses): void {
  const add = (m: Map<VarSym, number>, e: Expr): void => {
    const x = strip(e);
    const base = x.kind === "index" ? strip(x.array) : x;
    if (base.kind === "ident" && base.sym) m.set(base.sym as VarSym, (m.get(base.sym as VarSym) ?? 0) + 1);
  };
  const expr = (e: Expr): void => {
    switch (e.kind) {
      case "assign": {
        add(uses.writes, e.target);
        if (e.op !== "=" && e.op !== "<<<") add(uses.reads, e.target);
        const t = strip(e.target);
        if (t.kind === "index") for (const k of t.indices) expr(k);
        expr(e.value);
        return;
      }
      case "crement": {
        add(uses.writes, e.operand);
        add(uses.reads, e.operand);
        const t = strip(e.operand);
        if (t.kind === "index") for (const k of t.indices) expr(k);
        return;
      }
      case "ident":
        add(uses.reads, e);
        add(uses.printReads, e);
        return;
      default:
        for (const c of exprChildren(e)) expr(c);
    }
  };
  const stmt = (s: Stmt): void => {
    switch (s.kind) {
      case "block":
        s.stmts.forEach(stmt);
        return;
      case "expr":
        expr(s.expr);
        return;
      case "if":
        expr(s.cond);
        stmt(s.then);
        if (s.else) stmt(s.else);
        return;
      case "while":
        expr(s.cond);
        stmt(s.body);
        return;
      case "for":
        if (s.init) expr(s.init);
        if (s.cond) expr(s.cond);
        if (s.step) expr(s.step);
        stmt(s.body);
        return;
      case "foreach":
        for (const k of s.keys) add(uses.writes, k);
        if (s.value) add(uses.writes, s.value);
        expr(s.array);
        if (s.limit) expr(s.limit);
        stmt(s.body);
        return;
      case "return":
        if (s.value) expr(s.value);
        return;
      case "delete":
        // stap treats `delete x` as an update (read and written), so `x = 1; delete x` keeps x
        add(uses.writes, s.target);
        add(uses.reads, s.target);
        add(uses.printReads, s.target);
        {
          const t = strip(s.target);
          if (t.kind === "index") for (const k of t.indices) if (k.kind !== "wildcard") expr(k);
        }
        return;
      case "try":
        stmt(s.body);
        if (s.catchVar) add(uses.writes, s.catchVar);
        stmt(s.handler);
        return;
      default:
        return;
    }
  };
  if ("stmts" in n || n.kind === "expr" || n.kind === "if" || n.kind === "while" || n.kind === "for" || n.kind === "foreach" || n.kind === "return" || n.kind === "delete" || n.kind === "try" || n.kind === "empty" || n.kind === "break" || n.kind === "continue" || n.kind === "next" || n.kind === "embedded-stmt") stmt(n as Stmt);
  else expr(n as Expr);
}

/** Calls made by a body: function groups and natives. */
function collectCalls(n: Stmt | Expr, out: Set<FunctionGroup | NativeSym>): void {
  const visit = (x: unknown): void => {
    if (!x || typeof x !== "object") return;
    if (Array.isArray(x)) {
      x.forEach(visit);
      return;
    }
    const o = x as Record<string, unknown>;
    if (o.kind === "call" && o.sym) out.add(o.sym as FunctionGroup | NativeSym);
    for (const [k, v] of Object.entries(o)) if (k !== "sym" && k !== "pos" && k !== "type") visit(v);
  };
  visit(n);
}

class Optimizer {
  private round = 0;
  private changed = false;
  private readonly effectMemo = new Map<FunctionSym, boolean>();
  private readonly inProgress = new Set<FunctionSym>();
  private readonly warnedEmpty = new Set<FunctionSym>();
  /** the token stap names when it drops a statement left from an elided assignment */
  private readonly leftover = new WeakMap<Expr, Tok>();

  constructor(
    private readonly input: OptimizeInput,
    private readonly diags: Diagnostic[],
  ) {}

  private warn(message: string, tok: Tok): void {
    if (this.round === 0) this.diags.push(warn(message, tok.token, tok.pos));
  }

  // ------------------------------------------------------------ side effects

  private nativeHasEffects(n: NativeSym): boolean {
    if (RUN_CONTROL_EFFECTS.has(n.name)) return true;
    const def = lookupNative(n.name, n.params.length);
    if (def) return !def.pure;
    return false; // context functions (pid(), execname()...) only read
  }

  functionHasEffects(f: FunctionSym): boolean {
    const memo = this.effectMemo.get(f);
    if (memo !== undefined) return memo;
    if (this.inProgress.has(f)) return true;
    this.inProgress.add(f);
    let r: boolean;
    if (f.body.kind === "embedded-code") r = !this.input.tables.functions.get(f)?.decl.pragmas.includes("pure");
    else r = this.stmtHasEffects(f.body, true);
    this.inProgress.delete(f);
    this.effectMemo.set(f, r);
    return r;
  }

  private writesGlobal(target: Expr): boolean {
    const t = strip(target);
    const base = t.kind === "index" ? strip(t.array) : t;
    return base.kind !== "ident" || (base.sym as VarSym | undefined)?.kind !== "local";
  }

  /** `inFunction`: writes to the function's own locals do not count. */
  exprHasEffects(e: Expr, inFunction = false): boolean {
    switch (e.kind) {
      case "assign":
        if (!inFunction || this.writesGlobal(e.target)) return true;
        break;
      case "crement":
        if (!inFunction || this.writesGlobal(e.operand)) return true;
        break;
      case "call": {
        const sym = e.sym as FunctionGroup | NativeSym | undefined;
        if (!sym) {
          if (PRINT_FAMILY.has(e.name) && !e.name.startsWith("s")) return true;
        } else if (sym.kind === "native") {
          if (this.nativeHasEffects(sym)) return true;
        } else if (sym.overloads.some((f) => this.functionHasEffects(f))) return true;
        break;
      }
      case "embedded-expr":
        return true;
      default:
        break;
    }
    return exprChildren(e).some((c) => this.exprHasEffects(c, inFunction));
  }

  private stmtHasEffects(s: Stmt, inFunction: boolean): boolean {
    switch (s.kind) {
      case "block":
        return s.stmts.some((x) => this.stmtHasEffects(x, inFunction));
      case "expr":
        return this.exprHasEffects(s.expr, inFunction);
      case "if":
        return this.exprHasEffects(s.cond, inFunction) || this.stmtHasEffects(s.then, inFunction) || (s.else !== undefined && this.stmtHasEffects(s.else, inFunction));
      case "while":
        return true;
      case "for":
        return true;
      case "foreach":
        return this.stmtHasEffects(s.body, inFunction) || (s.limit !== undefined && this.exprHasEffects(s.limit, inFunction));
      case "return":
        return s.value !== undefined && this.exprHasEffects(s.value, inFunction);
      case "delete":
        return !inFunction || this.writesGlobal(s.target);
      case "try":
        return this.stmtHasEffects(s.body, inFunction) || this.stmtHasEffects(s.handler, inFunction);
      case "embedded-stmt":
        return true;
      case "next":
        return false;
      default:
        return false;
    }
  }

  // ------------------------------------------------------------ reachability

  reachable(probes: ProbeUnit[]): { functions: FunctionSym[]; natives: Set<NativeSym> } {
    const fns: FunctionSym[] = [];
    const seen = new Set<FunctionSym>();
    const natives = new Set<NativeSym>();
    const work: (Stmt | Expr)[] = [];
    for (const u of probes) {
      work.push(u.probe.body);
      if (u.probe.condition) work.push(u.probe.condition);
    }
    while (work.length > 0) {
      const calls = new Set<FunctionGroup | NativeSym>();
      collectCalls(work.pop()!, calls);
      for (const c of calls) {
        if (c.kind === "native") {
          natives.add(c);
          continue;
        }
        for (const f of c.overloads) {
          if (seen.has(f)) continue;
          seen.add(f);
          fns.push(f);
          if (f.body.kind === "block") work.push(f.body);
        }
      }
    }
    return { functions: fns, natives };
  }

  // ------------------------------------------------------------ opt2: variables

  private uses(probes: ProbeUnit[], functions: FunctionSym[]): Uses {
    const uses: Uses = { reads: new Map(), writes: new Map(), printReads: new Map() };
    for (const u of probes) {
      collectUses(u.probe.body, uses);
      if (u.probe.condition) collectUses(u.probe.condition, uses);
    }
    for (const f of functions) if (f.body.kind === "block") collectUses(f.body, uses);
    return uses;
  }

  /** Drop assignments to locals nobody reads: the value stays (for its side effects). */
  private elideDeadAssignments(n: Stmt | Expr, dead: Set<LocalSym>): void {
    const visitExpr = (e: Expr): void => {
      for (const c of exprChildren(e)) visitExpr(c);
      if (e.kind === "assign" && (e.op === "=" || e.op === "<<<")) {
        const t = strip(e.target);
        if (t.kind === "ident" && dead.has(t.sym as LocalSym)) {
          this.warn(`Eliding assignment to '${t.name}'`, { token: describeExpr(e), pos: e.pos });
          const target = { token: describeExpr(t), pos: t.pos };
          replaceNode(e, { ...e.value });
          this.leftover.set(e, target);
          this.changed = true;
        }
      }
    };
    const visit = (s: Stmt | Expr): void => {
      if (isStmt(s)) for (const c of stmtChildren(s)) visit(c);
      else visitExpr(s);
    };
    visit(n);
  }

  // ------------------------------------------------------------ opt3/opt4: statements

  /** Reduce a statement; returns undefined when it disappears. */
  private reduce(s: Stmt, inFunction: boolean): Stmt | undefined {
    switch (s.kind) {
      case "empty":
        this.changed = true;
        return undefined;
      case "block": {
        const before = s.stmts.length;
        s.stmts = s.stmts.map((x) => this.reduce(x, inFunction)).filter((x): x is Stmt => x !== undefined && !(x.kind === "block" && x.stmts.length === 0));
        if (s.stmts.length !== before) this.changed = true;
        return s;
      }
      case "expr": {
        foldConstants(s.expr);
        if (this.exprHasEffects(s.expr)) return s;
        const tok = this.leftover.get(s.expr) ?? { token: describeExpr(s.expr), pos: s.expr.pos };
        this.warn("Eliding side-effect-free expression ", tok);
        this.changed = true;
        return undefined;
      }
      case "if": {
        foldConstants(s.cond);
        if (s.cond.kind === "number") {
          this.changed = true;
          const taken = s.cond.value !== 0n ? s.then : s.else;
          return taken ? this.reduce(taken, inFunction) : undefined;
        }
        const then = this.reduce(s.then, inFunction);
        const els = s.else ? this.reduce(s.else, inFunction) : undefined;
        const empty = (x: Stmt | undefined): boolean => x === undefined || (x.kind === "block" && x.stmts.length === 0);
        if (empty(then) && empty(els)) {
          this.changed = true;
          if (this.exprHasEffects(s.cond)) return { kind: "expr", expr: s.cond, pos: s.pos };
          return undefined;
        }
        s.then = then ?? { kind: "block", stmts: [], pos: s.then.pos };
        if (els && !empty(els)) s.else = els;
        else delete s.else;
        return s;
      }
      case "while": {
        foldConstants(s.cond);
        if (s.cond.kind === "number" && s.cond.value === 0n) {
          this.changed = true;
          return undefined;
        }
        s.body = this.reduce(s.body, inFunction) ?? { kind: "block", stmts: [], pos: s.body.pos };
        return s;
      }
      case "for": {
        if (s.cond) foldConstants(s.cond);
        if (s.cond && s.cond.kind === "number" && s.cond.value === 0n) {
          this.changed = true;
          return s.init ? { kind: "expr", expr: s.init, pos: s.pos } : undefined;
        }
        s.body = this.reduce(s.body, inFunction) ?? { kind: "block", stmts: [], pos: s.body.pos };
        return s;
      }
      case "foreach": {
        if (s.limit) foldConstants(s.limit);
        s.body = this.reduce(s.body, inFunction) ?? { kind: "block", stmts: [], pos: s.body.pos };
        const noBody = s.body.kind === "block" && s.body.stmts.length === 0;
        // stap drops a loop with an empty body, and one whose constant limit allows no turn
        const noTurns = s.limit !== undefined && s.limit.kind === "number" && s.limit.value <= 0n;
        if ((noBody || noTurns) && !this.exprHasEffects(s.array) && !(s.limit && this.exprHasEffects(s.limit))) {
          this.changed = true;
          return undefined;
        }
        return s;
      }
      case "try":
        s.body = (this.reduce(s.body, inFunction) as Block | undefined) ?? { kind: "block", stmts: [], pos: s.body.pos };
        s.handler = (this.reduce(s.handler, inFunction) as Block | undefined) ?? { kind: "block", stmts: [], pos: s.handler.pos };
        // nothing to try: nothing to catch
        if (s.body.stmts.length === 0) {
          this.changed = true;
          return undefined;
        }
        return s;
      case "return":
        if (s.value) foldConstants(s.value);
        return s;
      default:
        return s;
    }
  }

  /** stap caches calls of `stable` functions in locals, one per function, in call order. */
  private stableLocals(body: Stmt): { name: string; type: Type }[] {
    const out: { name: string; type: Type }[] = [];
    const seen = new Set<string>();
    const stable = new Map<NativeSym, string>();
    for (const info of this.input.tables.nativeDecls.values()) if (info.native && info.decl.pragmas.includes("stable")) stable.set(info.native, info.decl.name);
    const visit = (x: unknown): void => {
      if (!x || typeof x !== "object") return;
      if (Array.isArray(x)) return x.forEach(visit);
      const o = x as Record<string, unknown>;
      if (o.kind === "call") (o.args as unknown[]).forEach(visit);
      else for (const [k, v] of Object.entries(o)) if (k !== "sym" && k !== "pos" && k !== "type") visit(v);
      if (o.kind === "call" && o.sym) {
        const name = stable.get(o.sym as NativeSym);
        if (name !== undefined && !seen.has(name)) {
          seen.add(name);
          out.push({ name: `__stable___global_${name}__overload_0_value`, type: (o.sym as NativeSym).returnType });
        }
      }
    };
    visit(body);
    return out;
  }

  // ------------------------------------------------------------ driver

  run(): Kept {
    const { tables } = this.input;
    // a call reaches the next overload only through `next`: the rest of a group never runs
    for (const g of tables.groups.values()) {
      const stop = g.overloads.findIndex((f) => !f.usesNext);
      if (stop >= 0) g.overloads.splice(stop + 1);
    }
    let probes = [...this.input.probes];
    const neverWarned = new Set<VarSym>();
    for (;;) {
      this.changed = false;
      const { functions } = this.reachable(probes);
      if (!this.input.unoptimized) {
        // opt2: variables
        const uses = this.uses(probes, functions);
        const scopes: { locals: LocalSym[]; body: Stmt }[] = [
          ...probes.map((u) => ({ locals: u.probe.locals, body: u.probe.body as Stmt })),
          ...functions.filter((f) => f.body.kind === "block").map((f) => ({ locals: f.locals, body: f.body as Stmt })),
        ];
        // stap reports never-assigned locals, then globals, then drops dead assignments
        for (const sc of scopes) {
          for (const l of sc.locals) {
            if (uses.reads.has(l) && !uses.writes.has(l) && !neverWarned.has(l)) {
              neverWarned.add(l);
              const others = [...sc.locals.filter((x) => x !== l).map((x) => x.name), ...tables.firstUse.filter((g) => uses.reads.has(g) || uses.writes.has(g)).map((g) => g.name)];
              const similar = suggest(l.name, others, 5);
              this.warn(`never-assigned local variable '${l.name}'${similar.length ? ` (similar: ${similar.join(", ")})` : ""}`, tables.vars.get(l)!.declTok);
            }
          }
        }
        for (const g of tables.globalOrder) {
          if (uses.reads.has(g) && !uses.writes.has(g) && g.init === undefined && !neverWarned.has(g)) {
            neverWarned.add(g);
            // stap names the variable itself among the similar ones; so do we
            const used = tables.firstUse.filter((x) => uses.reads.has(x) || uses.writes.has(x)).map((x) => x.name);
            const similar = suggest(g.name, used, 5);
            this.warn(`never-assigned global variable '${g.name}'${similar.length ? ` (similar: ${similar.join(", ")})` : ""}`, tables.vars.get(g)!.declTok);
          }
        }
        for (const sc of scopes) {
          const dead = new Set(sc.locals.filter((l) => !uses.reads.has(l) && uses.writes.has(l)));
          if (dead.size > 0) this.elideDeadAssignments(sc.body, dead);
        }
        // opt3/opt4: statements (probes, then functions by name, as stap's), then probes left empty
        for (const u of probes) this.reduce(u.probe.body, false);
        for (const f of [...functions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
          if (f.body.kind !== "block") continue;
          this.reduce(f.body, true);
          if (f.body.stmts.length === 0 && !this.warnedEmpty.has(f)) {
            this.warnedEmpty.add(f);
            const info = this.input.tables.functions.get(f);
            if (info) this.warn(`side-effect-free function '${f.name}'`, info.nameTok);
          }
        }
        const kept: ProbeUnit[] = [];
        for (const u of probes) {
          if (u.probe.body.stmts.length === 0 && !keepsCondition(u.probe.condition)) {
            this.warn(`Probe '${u.probe.pp.split(/[.(]/)[0]}' has been elided`, { token: "keyword", pos: u.decl.pos });
            this.changed = true;
          } else kept.push(u);
        }
        probes = kept;
      } else {
        for (const u of probes) foldAll(u.probe.body);
      }
      if (!this.changed) break;
      this.round++;
    }

    // what the kept program still uses
    const { functions, natives } = this.reachable(probes);
    const uses = this.uses(probes, functions);
    for (const u of probes) u.probe.locals.splice(0, u.probe.locals.length, ...u.probe.locals.filter((l) => this.input.unoptimized || uses.reads.has(l) || uses.writes.has(l)));
    for (const f of functions) f.locals.splice(0, f.locals.length, ...f.locals.filter((l) => this.input.unoptimized || uses.reads.has(l) || uses.writes.has(l)));
    const globals = tables.firstUse.filter((g) => uses.reads.has(g) || uses.writes.has(g));
    for (const g of globals) {
      // stap auto-prints only the script's own globals: a tapset's count as read
      const fromTapset = tables.vars.get(g)?.file !== this.input.userFile;
      g.read = uses.printReads.has(g) || fromTapset;
      g.written = uses.writes.has(g) || g.init !== undefined;
    }
    if (!this.input.unoptimized) {
      for (const u of probes) u.probe.stableLocals = this.stableLocals(u.probe.body);
      for (const f of functions) if (f.body.kind === "block") f.stableLocals = this.stableLocals(f.body);
    }
    const nativeInfos: FunctionInfo[] = [];
    for (const info of tables.nativeDecls.values()) if (info.native && [...natives].some((n) => n === info.native)) nativeInfos.push(info);
    const files = new Set<ScriptFile>();
    for (const f of functions) {
      const info = tables.functions.get(f);
      if (info && info.file !== this.input.userFile) files.add(info.file);
    }
    return { probes, functions, globals, natives: nativeInfos, files: [...files] };
  }
}

/**
 * stap puts a probe's condition in its body as `if (!(COND)) next`: a probe
 * with an empty body stays unless the condition folds to true.
 */
function keepsCondition(condition: Expr | undefined): boolean {
  if (condition === undefined) return false;
  foldConstants(condition);
  return !(condition.kind === "number" && condition.value !== 0n);
}

function foldAll(s: Stmt): void {
  for (const c of stmtChildren(s)) {
    if (isStmt(c)) foldAll(c);
    else foldConstants(c);
  }
}

export function optimize(input: OptimizeInput, diags: Diagnostic[]): Kept {
  return new Optimizer(input, diags).run();
}
