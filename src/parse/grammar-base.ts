// What every grammar rule shares: the parser's per-run state, positions,
// diagnostics raised while building nodes, the nesting guard, literals.

import type { IToken } from "chevrotain";
import { error, type Diagnostic } from "../diagnostic.js";
import type * as A from "./ast.js";
import { EmbeddedActionsParser } from "./chevrotain.js";
import { numberValue } from "./lexer.js";
import { messageProvider } from "./parse-errors.js";
import { NumberTok, Op, StringTok, Token, allTokenTypes, type Tok } from "./tokens.js";

/** Thrown (not recorded) when nesting gets deep enough to threaten the JS stack. */
export class NestingError extends Error {
  constructor(readonly tok: IToken) {
    super("too deeply nested");
  }
}

/**
 * How much nesting we accept, in units of parser stack: a nested expression
 * (one trip down all the precedence levels) costs EXPR_COST, a nested
 * statement or unary operator 1. 64 nested parentheses fit, far above real
 * scripts and safely below where the JS stack would overflow.
 */
export const MAX_NESTING = 512;
export const EXPR_COST = 8;

/** A node's position: its first token, which is a position (see Token); a plain object for chevrotain's own tokens. */
export function posOf(t: IToken): A.Pos {
  return t instanceof Token ? t : { file: (t as Tok).file, line: t.startLine!, col: t.startColumn!, offset: t.startOffset };
}

export const printFamily = new Set(["print", "println", "sprint", "sprintln"]);
export const formatFamily = new Set(["printf", "sprintf", "printd", "printdln", "sprintd", "sprintdln"]);
export class ParserBase extends EmbeddedActionsParser {
  /** declarations completed so far in this run (kept across error recovery) */
  decls: A.Decl[] = [];
  /** errors found while building nodes (they do not stop parsing) */
  semantic: Diagnostic[] = [];
  privileged = false;
  inFunction = false;
  depth = 0;

  /** `validate`: check the grammar for ambiguities while building (slow; tests and grammar export do it) */
  constructor(validate: boolean) {
    super(allTokenTypes, { recoveryEnabled: false, maxLookahead: 3, errorMessageProvider: messageProvider, skipValidations: !validate });
  }

  begin(privileged: boolean): void {
    this.decls = [];
    this.semantic = [];
    this.privileged = privileged;
    this.inFunction = false;
    this.depth = 0;
  }

  private readonly altCache = new Map<string, unknown>();
  /**
   * One alternatives array per OR site, built on first use: chevrotain then
   * allocates nothing per call. Only for alternatives whose closures use no
   * per-call locals.
   */
  protected cached<T>(key: string, make: () => T): T {
    let v = this.altCache.get(key) as T | undefined;
    if (v === undefined) this.altCache.set(key, (v = make()));
    return v;
  }

  /** the next unconsumed token (for placing a stack-overflow report) */
  nextToken(): IToken {
    return this.LA(1);
  }

  protected err(message: string, t: IToken | A.Pos): void {
    this.semantic.push(error("parse error", message, "startOffset" in t ? posOf(t) : t));
  }

  protected enter(t: IToken, cost = 1): void {
    this.depth += cost;
    if (this.depth > MAX_NESTING) throw new NestingError(t);
  }

  checkPrivileged(t: IToken, message: string): void {
    if (!this.privileged) this.err(message, t);
  }

  numberLit(n: IToken, negate: boolean, at?: IToken): A.NumberLit {
    let v = numberValue(n.image);
    // a negated literal stops at -9223372036854775808, as stap's does
    if (v === undefined || (negate && BigInt.asUintN(64, v) > 1n << 63n)) {
      this.err("number invalid or out of range", n);
      v = 0n;
    }
    return { kind: "number", value: negate ? BigInt.asIntN(64, -v) : v, text: negate ? "-" + n.image : n.image, pos: posOf(at ?? n) };
  }

  // ---------------------------------------------------------------- literals

  /** A literal as stap's parse_literal takes it: a string (adjacent ones joined) or an optionally negated number. */
  literal = this.RULE("literal", (): A.StringLit | A.NumberLit => {
    return this.OR({
      DEF: [
        { ALT: () => this.SUBRULE(this.stringLiteral) },
        {
          ALT: () => {
            const minus = this.OPTION(() => this.CONSUME(Op["-"]!));
            const n = this.CONSUME(NumberTok);
            return this.ACTION(() => this.numberLit(n, minus !== undefined, minus));
          },
        },
      ],
      ERR_MSG: "literal string or number",
    });
  });

  stringLiteral = this.RULE("stringLiteral", (): A.StringLit => {
    const first = this.CONSUME(StringTok);
    let value = "";
    let raw = "";
    this.ACTION(() => {
      value = (first as Tok).value!;
      raw = (first as Tok).raw!;
    });
    this.MANY(() => {
      const more = this.CONSUME2(StringTok);
      this.ACTION(() => {
        value += (more as Tok).value!;
        raw += (more as Tok).raw!;
      });
    });
    return this.ACTION(() => ({ kind: "string", value, raw, pos: posOf(first) }));
  });

  numberValue(): A.NumberLit {
    const n = this.CONSUME(NumberTok);
    return this.ACTION(() => this.numberLit(n, false));
  }

  wildcard(): A.WildcardExpr {
    const t = this.CONSUME(Op["*"]!);
    return this.ACTION(() => ({ kind: "wildcard" as const, pos: posOf(t) }));
  }
}
