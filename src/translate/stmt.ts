// Statements → JavaScript statements.
//
// MAXACTION, as stap's translator counts it (translate.cxx record_actions):
// each executed statement and each loop iteration spends one action of the
// handler's budget ($act); the budget is checked where stap flushes its
// count — before an if, a loop, a return/break/continue/next, at the end of
// each branch and of each loop iteration (near that body's first token, `{`
// for a block) — and the handler fails when no action is left.

import type { Block, DeleteStmt, Expr, ForeachStmt, Stmt, TryStmt } from "../parse/ast.js";
import type { GlobalSym, LocalSym } from "../elaborate/program.js";
import { Gen } from "./gen-context.js";
import { compositeKeyCode, emitCond, emitExpr, noteHist, statObject } from "./expr.js";
import { statementToken } from "./near.js";
import { walk, type Node } from "../elaborate/walk.js";
import { calledFunctions } from "../points/function-reads.js";

export class StmtWriter {
  readonly lines: string[] = [];
  private depth: number;

  constructor(
    readonly g: Gen,
    indent: number,
    /** false: the body can never spend its budget (boundedActions), so no action is counted or checked */
    private readonly counted = true,
  ) {
    this.depth = indent;
  }

  line(s: string): void {
    this.lines.push("  ".repeat(this.depth) + s);
  }

  private budget(_s: Stmt): void {
    if (this.counted) this.line("--$act;");
  }

  /** Spend this statement's action and check the budget, near the statement's token. */
  private budgetChecked(s: Stmt): void {
    if (this.counted) this.line(`if (--$act <= 0) $maxaction(${this.g.near(statementToken(s))});`);
  }

  /** Check the budget at the end of a branch, near the branch's first token. */
  private flush(body: Stmt): void {
    if (!this.counted) return;
    this.depth++;
    this.line(`if ($act <= 0) $maxaction(${this.g.near(statementToken(body))});`);
    this.depth--;
  }

  /** The end-of-iteration check, as a for-loop step expression. */
  private iterationCheck(body: Stmt): string {
    return `--$act <= 0 && $maxaction(${this.g.near(statementToken(body))})`;
  }

  block(b: Block): void {
    for (const s of b.stmts) this.stmt(s);
  }

  /** A nested statement body, always braced. */
  private body(s: Stmt): void {
    this.depth++;
    if (s.kind === "block") this.block(s);
    else this.stmt(s);
    this.depth--;
  }

  stmt(s: Stmt): void {
    const g = this.g;
    switch (s.kind) {
      case "block":
        this.line("{");
        this.body(s);
        this.line("}");
        return;
      case "empty":
        return;
      case "expr":
        this.budget(s);
        this.line(`${emitExpr(g, s.expr, true)};`);
        return;
      case "if":
        this.budgetChecked(s);
        this.line(`if (${emitCond(g, s.cond)}) {`);
        this.body(s.then);
        if (hasActions(s.then)) this.flush(s.then);
        if (s.else) {
          this.line("} else {");
          this.body(s.else);
          if (hasActions(s.else)) this.flush(s.else);
        }
        this.line("}");
        return;
      case "while":
        this.budgetChecked(s);
        this.line(`for (; ${emitCond(g, s.cond)}; ${this.iterationCheck(s.body)}) {`);
        g.loops++;
        this.body(s.body);
        g.loops--;
        this.line("}");
        return;
      case "for": {
        if (s.init) this.line(`${emitExpr(g, s.init, true)};`);
        this.budgetChecked(s);
        const init = "";
        const cond = s.cond ? emitCond(g, s.cond) : "";
        const step = s.step ? `${emitExpr(g, s.step, true)}, ` : "";
        this.line(`for (${init}; ${cond}; ${step}${this.iterationCheck(s.body)}) {`);
        g.loops++;
        this.body(s.body);
        g.loops--;
        this.line("}");
        return;
      }
      case "foreach":
        this.foreach(s);
        return;
      case "break":
      case "continue":
        if (g.loops === 0) {
          g.fail(`cannot '${s.kind}' outside a loop`, s.pos);
          return;
        }
        this.budgetChecked(s);
        this.line(`${s.kind};`);
        return;
      case "next":
        this.budgetChecked(s);
        if (g.fn) this.line("{ $depth--; return $NEXT; }");
        else this.line("return;");
        return;
      case "return":
        this.budgetChecked(s);
        if (!g.fn) {
          g.fail("cannot 'return' from a probe", s.pos);
          return;
        }
        if (s.value) {
          const t = g.temp();
          this.line(`{ ${t} = ${emitExpr(g, s.value)}; $depth--; return ${t}; }`);
        } else this.line(`{ $depth--; return ${defaultValue(g.fn.returnType)}; }`);
        return;
      case "delete":
        this.budget(s);
        this.delete(s);
        return;
      case "try":
        this.budget(s);
        this.try(s);
        return;
      case "embedded-stmt":
        g.fail("embedded C is not supported: tstap has no kernel module to run it", s.pos);
        return;
    }
  }

  private delete(s: DeleteStmt): void {
    const g = this.g;
    const t = s.target.kind === "group" ? s.target.inner : s.target;
    if (t.kind === "ident") {
      const sym = t.sym as GlobalSym | LocalSym | undefined;
      if (!sym) {
        g.fail(`unresolved symbol '${t.name}'`, t.pos);
        return;
      }
      if (sym.kind === "global" && sym.keyTypes) this.line(`${sym.jsName}.clear();`);
      else if (sym.type === "stats") this.line(`$statClear(${sym.jsName});`);
      else this.line(`${sym.jsName} = ${defaultValue(sym.type)};`);
      return;
    }
    if (t.kind === "index") {
      const sym = g.globalOf(t.array);
      if (!sym || !sym.keyTypes) {
        g.fail("cannot delete histogram buckets or non-array elements", t.pos);
        return;
      }
      const a = sym.jsName;
      if (t.indices.some((k) => k.kind === "wildcard")) {
        if (sym.keyTypes.length === 1) this.line(`${a}.clear();`);
        else this.line(`${a}.deleteMatching([${t.indices.map((k) => (k.kind === "wildcard" ? "undefined" : emitExpr(g, k))).join(", ")}]);`);
        return;
      }
      const key = t.indices.length === 1 ? emitExpr(g, t.indices[0]!) : compositeKeyCode(t.indices.map((k) => emitExpr(g, k)));
      this.line(`${a}.delete(${key});`);
      return;
    }
    g.fail("invalid operand of delete", s.target.pos);
  }

  private try(s: TryStmt): void {
    const g = this.g;
    const d = g.temp();
    this.line(`${d} = $depth;`);
    this.line("try {");
    this.body(s.body);
    this.line("} catch ($e) {");
    this.depth++;
    this.line(`$depth = ${d};`);
    this.line("if (!$catchable($e)) throw $e;");
    if (s.catchVar) {
      const sym = s.catchVar.sym as GlobalSym | LocalSym | undefined;
      if (sym) this.line(`${sym.jsName} = $e.message;`);
    }
    this.block(s.handler);
    this.depth--;
    this.line("}");
  }

  private foreach(s: ForeachStmt): void {
    const g = this.g;
    const arrExpr = s.array.kind === "group" ? s.array.inner : s.array;
    const limit = s.limit ? `Number(${emitExpr(g, s.limit)})` : "-1";
    const dir = s.sortDir === "-" ? -1 : 1;
    const keyVar = (i: number): string | undefined => {
      const k = s.keys[i];
      const sym = k?.sym as LocalSym | GlobalSym | undefined;
      return sym?.jsName;
    };
    const valueVar = (s.value?.sym as LocalSym | GlobalSym | undefined)?.jsName;
    const it = g.temp();
    const i = g.temp();
    const startCheck = (): void => this.budgetChecked(s);

    if (arrExpr.kind === "hist") {
      const spec = noteHist(g, arrExpr);
      this.line(`${it} = $histBuckets(${statObject(g, arrExpr.operand)}, ${spec}, ${limit});`);
      startCheck();
      this.line(`for (${i} = 0; ${i} < ${it}.length; ${i}++, ${this.iterationCheck(s.body)}) {`);
      this.depth++;
      const k = keyVar(0);
      if (k) this.line(`${k} = ${i};`);
      if (valueVar) this.line(`${valueVar} = ${it}[${i}];`);
      this.loopBody(s.body);
      return;
    }

    let base: Expr = arrExpr;
    let pattern: string | undefined;
    if (arrExpr.kind === "index") {
      base = arrExpr.array;
      pattern = `[${arrExpr.indices.map((k) => (k.kind === "wildcard" ? "undefined" : emitExpr(g, k))).join(", ")}]`;
    }
    const sym = g.globalOf(base);
    if (!sym || !sym.keyTypes) {
      g.fail("foreach needs a global array", s.array.pos);
      return;
    }
    // a statistics array sorts on an extractor: @count unless the foreach names one
    const sortBy =
      s.sortBy === undefined ? "undefined" : s.sortBy === "value" ? (s.sortAggr && s.sortAggr !== "variance" ? `"${s.sortAggr}"` : '"value"') : String(s.sortBy);
    const a = sym.jsName;
    if (sym.keyTypes.length === 1) {
      if (pattern && arrExpr.kind === "index" && arrExpr.indices[0]!.kind !== "wildcard") {
        // a fully specified one-key "slice": at most that one key
        this.line(`${it} = ${a}.keys(${sortBy}, ${dir}, ${limit}).filter(($k) => $k === ${emitExpr(g, arrExpr.indices[0]!)});`);
      } else this.line(`${it} = ${a}.keys(${sortBy}, ${dir}, ${limit});`);
      startCheck();
      this.line(`for (${i} = 0; ${i} < ${it}.length; ${i}++, ${this.iterationCheck(s.body)}) {`);
      this.depth++;
      const k = keyVar(0);
      if (k) this.line(`${k} = ${it}[${i}];`);
      if (valueVar) this.line(`${valueVar} = ${a}.get(${it}[${i}]);`);
    } else {
      this.line(`${it} = ${a}.entries(${sortBy}, ${dir}, ${limit}${pattern ? `, ${pattern}` : ""});`);
      startCheck();
      this.line(`for (${i} = 0; ${i} < ${it}.length; ${i}++, ${this.iterationCheck(s.body)}) {`);
      this.depth++;
      for (let n = 0; n < s.keys.length; n++) {
        const k = keyVar(n);
        if (k) this.line(`${k} = ${it}[${i}].k[${n}];`);
      }
      if (valueVar) this.line(`${valueVar} = ${it}[${i}].v;`);
    }
    this.loopBody(s.body);
  }

  private loopBody(body: Stmt): void {
    const g = this.g;
    g.loops++;
    if (body.kind === "block") this.block(body);
    else this.stmt(body);
    g.loops--;
    this.depth--;
    this.line("}");
  }
}

/** Whether a branch executes statements (an empty branch records no actions in stap). */
/**
 * The most actions a probe's body can spend, when that is known from its
 * text alone: a body with no loop and no call of a script function runs
 * each statement at most once (undefined otherwise). Every statement but a
 * block counts, whether or not it spends an action: an upper bound.
 */
export function boundedActions(roots: readonly Node[]): number | undefined {
  let n = 0;
  let bounded = true;
  for (const root of roots) {
    walk(root, (x) => {
      switch (x.kind) {
        case "while":
        case "for":
        case "foreach":
        case "embedded-stmt":
          bounded = false;
          return;
        case "call":
          if (calledFunctions(x).length > 0) bounded = false;
          return;
        case "expr":
        case "if":
        case "break":
        case "continue":
        case "next":
        case "return":
        case "delete":
        case "try":
          n++;
      }
    });
  }
  return bounded ? n : undefined;
}

function hasActions(s: Stmt): boolean {
  if (s.kind === "empty") return false;
  if (s.kind === "block") return s.stmts.some(hasActions);
  return true;
}

export function defaultValue(t: string): string {
  return t === "string" ? '""' : "0";
}
