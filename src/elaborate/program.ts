// The resolved program: what pass 2 hands to pass 3.
//
// Pass 2 annotates the AST in place: every Expr gets `type`, every
// Identifier gets `sym` (a GlobalSym or LocalSym), every CallExpr gets `sym`
// (a FunctionGroup or a NativeSym). Bodies below are those annotated ASTs.

import type { Block, EmbeddedCode, Expr, Pos, ProbePoint, ScriptFile, Type } from "../parse/ast.js";

export interface GlobalSym {
  kind: "global";
  name: string;
  /** value type: for an array, the type of its values */
  type: Type;
  /** key types when the global is an array (1..9 keys); undefined for a scalar */
  keyTypes?: Type[];
  /** `global a[N]`: the array's own MAXMAPENTRIES */
  size?: number;
  wrap: boolean;
  private: boolean;
  /** literal initializer (already a NumberLit/StringLit, negation folded) */
  init?: Expr;
  /** read somewhere in the kept program (decides stap's auto-printing: `x++`/`x += 1` are not reads, `delete x` is; a tapset's globals always count as read, stap never prints them) */
  read: boolean;
  /** written somewhere in the kept program */
  written: boolean;
  pos: Pos;
  /** unique, JS-safe name for generated code */
  jsName: string;
}

export interface LocalSym {
  kind: "local";
  name: string;
  type: Type;
  isParam: boolean;
  pos: Pos;
  jsName: string;
}

export interface FunctionSym {
  kind: "function";
  name: string;
  params: LocalSym[];
  returnType: Type;
  /** every local of the body, parameters excluded */
  locals: LocalSym[];
  body: Block | EmbeddedCode;
  /** the body contains `next`: a call falls through to the next overload */
  usesNext: boolean;
  pos: Pos;
  /** the position of the function's name (stap points its messages there) */
  namePos?: Pos;
  jsName: string;
  /** -p2: the locals stap adds to cache `stable` function results (never used by tstap's code) */
  stableLocals?: { name: string; type: Type }[];
}

/** Functions sharing a name and an arity, in priority order (runtime overloading via `next`). */
export interface FunctionGroup {
  kind: "function-group";
  name: string;
  arity: number;
  overloads: FunctionSym[];
}

/** A function implemented in the runtime (`runtime/natives.ts`). */
export interface NativeSym {
  kind: "native";
  name: string;
  params: Type[];
  returnType: Type;
  /** accepts any number of trailing args of the last param's type */
  varargs?: boolean;
}

/** Where a probe attaches: each probe family's own point type (src/points). */
export type { ResolvedPoint } from "../points/family.js";
import type { ResolvedPoint } from "../points/family.js";

export interface ResolvedProbe {
  id: number;
  point: ResolvedPoint;
  /** the fully expanded probe point text, as pp() returns it */
  pp: string;
  /** the probe point as the user wrote it (pn()) */
  written: ProbePoint;
  /** user body with alias prologues before and epilogues after, in stap's order */
  body: Block;
  locals: LocalSym[];
  /** the probe point condition(s), and-ed */
  condition?: Expr;
  pos: Pos;
  /** -p2: the concrete point as stap prints it (`begin!`, `end if (1)`) */
  sig?: string;
  /** -p2: the locals stap adds to cache `stable` function results (never used by tstap's code) */
  stableLocals?: { name: string; type: Type }[];
  /** -p2: what the point derives from (`foo = timer.ms(100) <- foo`), the text of its "<- ..." comment */
  derivation?: string;
}

/** A tapset function implemented by a native (embedded C in the tapset), as -p2 lists it. */
export interface LibraryFunction {
  name: string;
  returnType: Type;
  params: { name: string; type: Type }[];
  locals: { name: string; type: Type }[];
}

export interface Program {
  files: ScriptFile[];
  globals: GlobalSym[];
  /** only the functions the kept program calls */
  functions: FunctionSym[];
  probes: ResolvedProbe[];
  /** script arguments ($1.. / @1..) */
  args: string[];
  /** -D NAME=VALUE settings, numbers kept as text */
  defines: Map<string, string>;
  /** -p2: natives the program calls through tapset declarations */
  libraryFunctions?: LibraryFunction[];
  /** -p2: stap adds one `begin` probe to set up the probes whose conditions read globals */
  conditionBegin?: boolean;
  /** -p2: top-level `%{ %}` of the files used (never run by tstap) */
  embeds?: string[];
}
