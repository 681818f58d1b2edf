// State shared while generating the JavaScript of one plan: the pooled
// module-level constants (error positions, compiled formats, regexes), the
// temporaries of the function being emitted, and the diagnostics.

import type { Diagnostic } from "../diagnostic.js";
import { error } from "../diagnostic.js";
import type { CallExpr, Expr, Pos } from "../parse/ast.js";
import type { FunctionSym, GlobalSym, LocalSym, Program, ResolvedProbe } from "../elaborate/program.js";
import type { Limits } from "./plan.js";
import type { VariableRead } from "../points/family.js";
import type { Specialization } from "../points/function-reads.js";

/** What a statistics global must keep: its histograms (JS literals by key) and @variance's shift. */
export interface StatUse {
  hists: Map<string, string>;
  varianceShift?: number;
}

export class Gen {
  readonly consts: string[] = [];
  private readonly constNames = new Map<string, string>();
  readonly diags: Diagnostic[] = [];
  /** histograms each stats global must keep */
  readonly statUses = new Map<GlobalSym, StatUse>();
  private tempCount = 0;
  private maxTemp = 0;
  /** the function being emitted; undefined inside a probe handler */
  fn: FunctionSym | undefined;
  /** the probe whose handler is being emitted (its family answers for target variables) */
  probe: ResolvedProbe | undefined;
  /** expressions of that probe its family lowered to reads of event fields (fetch arguments) */
  reads: ReadonlyMap<Expr, VariableRead> | undefined;
  /** calls of the body being emitted to copies of functions specialized for its probe */
  calls: ReadonlyMap<CallExpr, Specialization> | undefined;
  /** emitting the plain copy of a function that reads at the event: a call that needs it */
  calledAt: CallExpr | undefined;
  /** loop nesting, for break/continue checks */
  loops = 0;

  constructor(
    readonly program: Program,
    readonly limits: Limits,
  ) {}

  /** A pooled module-level constant holding `jsExpr`; returns its name. */
  constant(prefix: string, jsExpr: string): string {
    const key = prefix + "\u0001" + jsExpr;
    let name = this.constNames.get(key);
    if (name === undefined) {
      name = `${prefix}${this.constNames.size}`;
      this.constNames.set(key, name);
      this.consts.push(`const ${name} = ${jsExpr};`);
    }
    return name;
  }

  /** The pooled "near ..." text of an error site. */
  near(text: string): string {
    return this.constant("$N", JSON.stringify(text));
  }

  beginBody(): void {
    this.tempCount = 0;
    this.maxTemp = 0;
  }

  /** A scratch variable of the current body (declared by declareTemps). */
  temp(): string {
    const n = this.tempCount++;
    if (this.tempCount > this.maxTemp) this.maxTemp = this.tempCount;
    return `$t${n}`;
  }

  declareTemps(): string | undefined {
    if (this.maxTemp === 0) return undefined;
    const names: string[] = [];
    for (let i = 0; i < this.maxTemp; i++) names.push(`$t${i}`);
    return `let ${names.join(", ")};`;
  }

  fail(message: string, pos?: Pos, notes?: string[]): string {
    this.diags.push(error("translate error", message, pos, notes));
    return "undefined";
  }

  globalOf(e: Expr): GlobalSym | undefined {
    if (e.kind === "ident" && (e.sym as GlobalSym | undefined)?.kind === "global") return e.sym as GlobalSym;
    if (e.kind === "group") return this.globalOf(e.inner);
    return undefined;
  }

  statUse(sym: GlobalSym): StatUse {
    let u = this.statUses.get(sym);
    if (!u) {
      u = { hists: new Map() };
      this.statUses.set(sym, u);
    }
    return u;
  }

  symOf(e: Expr): GlobalSym | LocalSym | undefined {
    if (e.kind === "ident") return e.sym as GlobalSym | LocalSym | undefined;
    return undefined;
  }
}

/** A JS literal for a long. */
export function longLiteral(v: bigint): string {
  const w = BigInt.asIntN(64, v);
  if (w >= -9007199254740991n && w <= 9007199254740991n) return w < 0n ? `(${w})` : `${w}`;
  return `${w}n`;
}

/** A JS literal for a byte string. */
export function stringLiteral(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u00ff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
