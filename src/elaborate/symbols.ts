// The symbol tables of one elaboration: globals (the script's, then those
// pulled from tapsets), function groups, and what pass 2 learns about each
// variable on the way (its arity, where it was first used).

import type { Diagnostic } from "../diagnostic.js";
import type { FunctionDecl, GlobalVar, Pos, ScriptFile, Type } from "../parse/ast.js";
import type { FunctionGroup, FunctionSym, GlobalSym, LocalSym, NativeSym } from "./program.js";

export type VarSym = GlobalSym | LocalSym;

/** A token stap names: its description and position. */
export interface Tok {
  token: string;
  pos: Pos;
}

/** What resolution learns about a variable beyond its Sym. */
export interface VarInfo {
  /** -1 until the first use tells (0: scalar, N: array of N keys) */
  arity: number;
  arityTok?: Tok;
  /** the declaration's token (a global's name, a local's first use) */
  declTok: Tok;
  file?: ScriptFile;
  /** `global a[N]`: must be an array */
  sized: boolean;
}

export interface FunctionInfo {
  decl: FunctionDecl;
  file: ScriptFile;
  /** the name token, for messages pointing at the declaration */
  nameTok: Tok;
  /** native implementation of an embedded-C tapset function */
  native?: NativeSym;
}

export class SymbolTables {
  readonly globals = new Map<string, GlobalSym>();
  /** in declaration order: the script's, then pulled tapset globals as met */
  readonly globalOrder: GlobalSym[] = [];
  /** globals in the order resolution first met them (stap lists them so) */
  readonly firstUse: GlobalSym[] = [];
  private readonly used = new Set<GlobalSym>();

  noteUse(g: GlobalSym): void {
    if (this.used.has(g)) return;
    this.used.add(g);
    this.firstUse.push(g);
  }
  readonly vars = new Map<VarSym, VarInfo>();
  readonly functions = new Map<FunctionSym, FunctionInfo>();
  readonly groups = new Map<string, FunctionGroup>();
  /** embedded-C tapset functions bound to natives and called: listed by -p2 */
  readonly nativeDecls = new Map<string, FunctionInfo>();
  private readonly jsNames = new Set<string>();

  jsName(base: string): string {
    let n = base;
    for (let i = 1; this.jsNames.has(n); i++) n = `${base}$${i}`;
    this.jsNames.add(n);
    return n;
  }

  addGlobal(v: GlobalVar, file: ScriptFile, diags: Diagnostic[], nameToken: (v: GlobalVar) => Tok): GlobalSym | undefined {
    const existing = this.globals.get(v.name);
    if (existing) {
      const first = this.vars.get(existing)!.declTok;
      const t = nameToken(v);
      diags.push({ severity: "error", kind: "semantic error", message: `conflicting global variables`, pos: t.pos, token: t.token, token2: first });
      return undefined;
    }
    const init = v.init;
    const sym: GlobalSym = {
      kind: "global",
      name: v.name,
      type: init ? (init.kind === "string" ? "string" : "long") : "unknown",
      ...(v.size !== undefined ? { size: v.size } : {}),
      wrap: v.wrap,
      private: v.private,
      ...(init ? { init } : {}),
      read: false,
      written: init !== undefined,
      pos: v.pos,
      jsName: this.jsName(`g_${v.name}`),
    };
    this.globals.set(v.name, sym);
    this.globalOrder.push(sym);
    this.vars.set(sym, { arity: v.size !== undefined ? -1 : -1, declTok: nameToken(v), file, sized: v.size !== undefined });
    return sym;
  }

  newLocal(name: string, pos: Pos, isParam: boolean, type: Type = "unknown", prefix = "l"): LocalSym {
    const sym: LocalSym = { kind: "local", name, type, isParam, pos, jsName: `${prefix}_${name}` };
    this.vars.set(sym, { arity: isParam ? 0 : -1, declTok: { token: `identifier '${name}'`, pos }, sized: false });
    return sym;
  }
}
