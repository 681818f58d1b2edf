// The token-level preprocessor: `@define` macros and their `@NAME(...)`
// expansion, then `%( cond %? then %: else %)` conditionals, in that order
// (a conditional may come out of a macro body; a macro is only defined in a
// taken branch). Errors become diagnostics; preprocessing carries on.

import { error, type Diagnostic } from "../diagnostic.js";
import type { Pos } from "./ast.js";
import { ConditionError, evalCondition, type ConditionEnv } from "./conditions.js";
import type { Tok } from "./tokens.js";

export interface MacroDecl {
  name: string;
  params: string[];
  body: Tok[];
  tok: Tok;
  /** defined in a `.stpm` library file */
  library: boolean;
  /** a macro parameter: its argument tokens are expanded where the macro was invoked */
  closureOf?: Activation;
}

/** Macros from `.stpm` files, shared by every file parsed with them. */
export type MacroTable = Map<string, MacroDecl>;

interface Activation {
  tok: Tok;
  macro: MacroDecl;
  cursor: number;
  params: Map<string, MacroDecl>;
}

type PpState = "keep-then" | "skip-then" | "keep-else" | "skip-else";

const MAX_EXPANSION_DEPTH = 200;
const MAX_EXPANDED_TOKENS = 5_000_000;

class PreprocessError extends Error {
  constructor(
    message: string,
    readonly tok: Tok | undefined,
  ) {
    super(message);
  }
}

export function tokPos(t: Tok): Pos {
  return t;
}

export class Preprocessor {
  private pos = 0;
  private readonly acts: Activation[] = [];
  readonly fileMacros = new Map<string, MacroDecl>();
  private readonly conds: { tok: Tok; state: PpState }[] = [];
  private produced = 0;

  constructor(
    private readonly input: readonly Tok[],
    private readonly env: ConditionEnv,
    private readonly library: MacroTable,
    readonly diagnostics: Diagnostic[],
    private readonly isLibraryFile = false,
  ) {}

  /** Every token that survives preprocessing, in order. */
  run(): Tok[] {
    const out: Tok[] = [];
    for (;;) {
      try {
        for (;;) {
          this.copyPlainRun(out);
          const t = this.scanPp();
          if (t === null) return out;
          out.push(t);
        }
      } catch (e) {
        if (!(e instanceof PreprocessError)) throw e;
        this.report(e.message, e.tok);
      }
    }
  }

  /** Fast path: outside macros and skipped branches, ordinary tokens pass straight through. */
  private copyPlainRun(out: Tok[]): void {
    if (this.acts.length > 0) return;
    const top = this.conds[this.conds.length - 1];
    if (top && (top.state === "skip-then" || top.state === "skip-else")) return;
    const input = this.input;
    let pos = this.pos;
    while (pos < input.length) {
      const t = input[pos]!;
      if (t.kind === "operator") {
        const im = t.image;
        if (im.charCodeAt(0) === 64 /* @ */ || (im.length === 2 && im.charCodeAt(0) === 37 /* % */ && "(?:)".includes(im[1]!))) break;
      }
      out.push(t);
      pos++;
    }
    this.pos = pos;
  }

  private report(message: string, tok: Tok | undefined): void {
    const at = tok ?? this.input[this.input.length - 1];
    this.diagnostics.push(error("parse error", message, at ? tokPos(at) : undefined));
  }

  // ------------------------------------------------------------ macros

  private nextPp1(): Tok | null {
    const act = this.acts[this.acts.length - 1];
    if (!act) return this.pos < this.input.length ? this.input[this.pos++]! : null;
    if (act.cursor < act.macro.body.length) {
      if (++this.produced > MAX_EXPANDED_TOKENS) {
        this.acts.length = 0;
        throw new PreprocessError("macro expansion produces too many tokens", act.tok);
      }
      // a fresh token per expansion: positions and identity stay per use
      return act.macro.body[act.cursor++]!.clone();
    }
    return null;
  }

  /** Next token from the input with macros defined and expanded. */
  private scanPp1(ignoreMacros = false): Tok | null {
    for (;;) {
      const t = this.nextPp1();
      if (t === null) {
        if (this.acts.length === 0) return null;
        this.acts.pop();
        continue;
      }
      if (t.kind === "operator" && t.image === "@define" && !ignoreMacros) {
        this.define(t);
        continue;
      }
      if (t.kind === "operator" && t.image[0] === "@") {
        const name = t.image.slice(1);
        const act = this.acts[this.acts.length - 1];
        let decl: MacroDecl | undefined;
        if (act?.params.has(name)) decl = act.params.get(name);
        else if (!(act && act.macro.library) && this.fileMacros.has(name)) decl = this.fileMacros.get(name);
        else decl = this.library.get(name);
        if (!decl) return t; // an ordinary @operator
        this.invoke(t, decl, act);
        continue;
      }
      return t;
    }
  }

  /** Give back the token nextPp1 just returned. */
  private unread(): void {
    const act = this.acts[this.acts.length - 1];
    if (act) act.cursor--;
    else this.pos--;
  }

  private define(at: Tok): void {
    if (this.acts.length > 0) throw new PreprocessError("'@define' forbidden inside macro body", at);
    let t = this.nextPp1();
    if (!t || t.kind !== "identifier") throw new PreprocessError("expected identifier", t ?? at);
    const name = t.image;
    const nameTok = t;
    const decl: MacroDecl = { name, params: [], body: [], tok: nameTok, library: this.isLibraryFile };
    // a bad name is reported, and the definition still read, so its body does not cascade
    if (this.fileMacros.has(name)) this.report(`attempt to redefine macro '@${name}' in the same file`, t);
    else if (name === "define") this.report("attempt to redefine '@define'", t);
    else this.fileMacros.set(name, decl);
    t = this.nextPp1();
    let sawParams = false;
    if (t && t.kind === "operator" && t.image === "(") {
      sawParams = true;
      for (;;) {
        t = this.nextPp1();
        if (!t || t.kind !== "identifier") throw new PreprocessError("expected identifier", t ?? nameTok);
        decl.params.push(t.image);
        t = this.nextPp1();
        if (t && t.kind === "operator" && t.image === ",") continue;
        if (t && t.kind === "operator" && t.image === ")") {
          t = this.nextPp1();
          break;
        }
        throw new PreprocessError("expected ',' or ')'", t ?? nameTok);
      }
    }
    if (!(t && t.kind === "operator" && t.image === "%(")) throw new PreprocessError(sawParams ? "expected '%('" : "expected '%(' or '('", t ?? nameTok);
    let nesting = 0;
    for (;;) {
      t = this.nextPp1();
      if (!t) throw new PreprocessError("incomplete macro definition - missing '%)'", nameTok);
      if (t.kind === "operator" && t.image === "%(") nesting++;
      else if (t.kind === "operator" && t.image === "%)") {
        if (nesting === 0) break;
        nesting--;
      }
      decl.body.push(t);
    }
  }

  private invoke(t: Tok, decl: MacroDecl, act: Activation | undefined): void {
    const name = t.image.slice(1);
    if (this.acts.length >= MAX_EXPANSION_DEPTH) {
      this.acts.length = 0;
      throw new PreprocessError(`macro '@${name}' expands too deeply (recursive macro?)`, t);
    }
    const next: Activation = { tok: t, macro: decl, cursor: 0, params: new Map() };
    if (decl.params.length === 0) {
      if (decl.closureOf) next.params = decl.closureOf.params;
      this.acts.push(next);
      return;
    }
    let p = this.nextPp1();
    if (!(p && p.kind === "operator" && p.image === "(")) {
      if (p) this.unread();
      const n = decl.params.length;
      throw new PreprocessError(`expected '(' in invocation of macro '@${name}' taking ${n} parameter${n === 1 ? "" : "s"}`, p ?? t);
    }
    for (let i = 0; i < decl.params.length; i++) {
      const body: Tok[] = [];
      let nesting = 0;
      for (;;) {
        p = this.nextPp1();
        if (!p) break;
        if (p.kind === "operator" && (p.image === "(" || p.image === "[")) nesting++;
        else if (nesting && p.kind === "operator" && (p.image === ")" || p.image === "]")) nesting--;
        else if (!nesting && p.kind === "operator" && (p.image === ")" || p.image === ",")) break;
        body.push(p);
      }
      if (!p) throw new PreprocessError("could not find end of macro invocation", t);
      next.params.set(decl.params[i]!, { name: decl.params[i]!, params: [], body, tok: t, library: false, closureOf: act ?? rootActivation });
      if (p.image === "," && i + 1 === decl.params.length)
        throw new PreprocessError(`too many parameters for macro '@${name}' (expected ${decl.params.length})`, p);
      if (p.image === ")" && i + 1 !== decl.params.length)
        throw new PreprocessError(`too few parameters for macro '@${name}' (expected ${decl.params.length})`, p);
    }
    this.acts.push(next);
  }

  // ------------------------------------------------------------ conditionals

  private scanPp(): Tok | null {
    for (;;) {
      const top = this.conds[this.conds.length - 1];
      const state = top?.state;
      const t = state === "skip-then" || state === "skip-else" ? this.skipPp() : this.scanPp1();
      if (t === null) {
        if (top) {
          this.conds.pop();
          throw new PreprocessError("incomplete conditional at end of file", top.tok);
        }
        return null;
      }
      if (t.kind !== "operator") return t;
      if (t.image === "%?") throw new PreprocessError("incomplete conditional - missing '%('", t);
      if (t.image === "%:") {
        if (!top) throw new PreprocessError("incomplete conditional - missing '%('", t);
        if (state === "keep-else" || state === "skip-else") throw new PreprocessError("invalid conditional - duplicate '%:'", t);
        top.state = state === "keep-then" ? "skip-else" : "keep-else";
        continue;
      }
      if (t.image === "%)") {
        if (!top) throw new PreprocessError("incomplete conditional - missing '%('", t);
        this.conds.pop();
        continue;
      }
      if (t.image !== "%(") return t;
      this.conds.push({ tok: t, state: this.evalConditional(t) ? "keep-then" : "skip-then" });
    }
  }

  /** Read `l op r [&& ...] [|| ...] %?` after a `%(` and evaluate it. */
  private evalConditional(open: Tok): boolean {
    let result = false;
    let andResult = true;
    let n: Tok | null;
    for (;;) {
      const l = this.scanPp1();
      const op = l && !isMarker(l) ? this.scanPp1() : null;
      if (l && op && isMarker(op)) {
        // `%( CONFIG_X %? ...`: a bare name tests that it is set (a tstap extension)
        andResult &&= bareTest(this.env, l);
        n = op;
      } else {
        const r = op ? this.scanPp1() : null;
        if (!l || !op || !r) throw new PreprocessError("incomplete condition after '%('", open);
        try {
          andResult = evalCondition(this.env, l, op, r) && andResult;
        } catch (e) {
          if (e instanceof ConditionError) {
            // drop the rest of the conditional so one mistake gives one message
            for (let m = this.scanPp1(); m && !(m.kind === "operator" && m.image === "%?"); m = this.scanPp1());
            this.conds.push({ tok: open, state: "skip-then" });
            throw new PreprocessError(e.message, e.tok);
          }
          throw e;
        }
        n = this.scanPp1();
      }
      if (n && n.kind === "operator" && n.image === "&&") continue;
      result ||= andResult;
      andResult = true;
      if (!(n && n.kind === "operator" && n.image === "||")) break;
    }
    if (!(n && n.kind === "operator" && n.image === "%?")) {
      this.conds.push({ tok: open, state: "skip-then" });
      throw new PreprocessError("expected '%?' marker for conditional", open);
    }
    return result;
  }

  /** Skip an untaken branch, heeding only nested `%(`/`%)`; junk and bad macros vanish with it. */
  private skipPp(): Tok | null {
    let nesting = 0;
    for (;;) {
      let t: Tok | null;
      try {
        t = this.scanPp1(true);
      } catch (e) {
        if (e instanceof PreprocessError) continue;
        throw e;
      }
      if (!t) return null;
      if (t.kind !== "operator") continue;
      if (t.image === "%(") nesting++;
      else if (nesting && t.image === "%)") nesting--;
      else if (!nesting && (t.image === "%:" || t.image === "%?" || t.image === "%)")) return t;
    }
  }
}

const rootActivation: Activation = {
  tok: undefined as unknown as Tok,
  macro: { name: "", params: [], body: [], tok: undefined as unknown as Tok, library: false },
  cursor: 0,
  params: new Map(),
};

function isMarker(t: Tok): boolean {
  return t.kind === "operator" && (t.image === "%?" || t.image === "&&" || t.image === "||");
}

function bareTest(env: ConditionEnv, l: Tok): boolean {
  if (l.kind === "identifier" && l.image.startsWith("CONFIG_")) {
    const v = env.kernelConfig.get(l.image);
    return v !== undefined && v !== "" && v !== "n";
  }
  if (l.kind === "number") return l.image !== "0";
  if (l.kind === "string") return l.value !== "";
  return false;
}
