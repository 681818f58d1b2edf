// The token vocabulary of the language, as chevrotain token types.
//
// We lex by hand (lexer.ts) because SystemTap's lexing is context-laden:
// `$1`/`@1` splice script arguments into the character stream, probe point
// components are glued together by adjacency, `%{ %}` is raw C. The parser
// only needs the token *types*, so none of these carry a pattern.

import type { IToken, TokenType } from "chevrotain";
import { createToken, Lexer } from "./chevrotain.js";

/** What SystemTap's lexer calls a token's type; used in "saw: ..." messages. */
export type TokKind = "identifier" | "keyword" | "operator" | "string" | "number" | "embedded-code" | "junk";

/** A lexed token: a chevrotain token plus what preprocessing and messages need. */
export type Tok = Token;

/**
 * The one class of every token. It is also a source position (`line`, `col`,
 * `offset` read its start), so the parser gives each node its first token as
 * `pos` instead of allocating a position object per node: on big scripts
 * those allocations were a third of pass 1's garbage collection.
 */
export class Token implements IToken {
  /** string tokens: the value, a byte string with escapes resolved */
  value: string | undefined = undefined;
  /** string tokens: the content as SystemTap keeps it (escapes as written, `\"` resolved) */
  raw: string | undefined = undefined;
  /** junk tokens: the message to report when the parser meets it */
  junk: string | undefined = undefined;
  /** index in the token array handed to the parser (for error recovery) */
  idx = -1;
  constructor(
    readonly kind: TokKind,
    public image: string,
    /** the file the token was read from (macro bodies keep their own file) */
    readonly file: string,
    public startOffset: number,
    public startLine: number,
    public startColumn: number,
    /** whitespace or a comment came before this token (probe components glue only without it) */
    public ws: boolean,
    public tokenType: TokenType,
    public tokenTypeIdx: number,
  ) {}
  /** a fresh token for each use of a macro body token: identity and `idx` stay per use */
  clone(): Token {
    const t = new Token(this.kind, this.image, this.file, this.startOffset, this.startLine, this.startColumn, this.ws, this.tokenType, this.tokenTypeIdx);
    t.value = this.value;
    t.raw = this.raw;
    t.junk = this.junk;
    return t;
  }
  get line(): number {
    return this.startLine;
  }
  get col(): number {
    return this.startColumn;
  }
  get offset(): number {
    return this.startOffset;
  }
}

const NA = Lexer.NA;

export const Identifier = createToken({ name: "Identifier", pattern: NA, label: "identifier" });
export const NumberTok = createToken({ name: "Number", pattern: NA, label: "number" });
export const StringTok = createToken({ name: "String", pattern: NA, label: "literal string" });
export const Embedded = createToken({ name: "Embedded", pattern: NA, label: "'%{ ... %}'" });
export const Junk = createToken({ name: "Junk", pattern: NA, label: "junk" });
/** `$name`, `$$vars`, `$name$$`: a target variable (an identifier starting with `$`) */
export const TargetName = createToken({ name: "TargetName", pattern: NA, label: "$variable" });
/** `$` or `$$` alone: a pretty-printing suffix written apart (`$foo[1] $`) */
export const DollarOnly = createToken({ name: "DollarOnly", pattern: NA, label: "'$'" });
/** Any keyword (probe point components and `->member` names may be keywords). */
export const KeywordCat = createToken({ name: "Keyword", pattern: NA, label: "keyword" });

export const keywordNames = [
  "probe",
  "global",
  "private",
  "function",
  "if",
  "else",
  "for",
  "foreach",
  "in",
  "limit",
  "return",
  "delete",
  "while",
  "break",
  "continue",
  "next",
  "string",
  "long",
  "try",
  "catch",
] as const;

function kw(name: string): TokenType {
  return createToken({ name: "Kw" + name[0]!.toUpperCase() + name.slice(1), pattern: NA, label: `'${name}'`, categories: [KeywordCat] });
}

export const Kw = Object.fromEntries(keywordNames.map((k) => [k, kw(k)])) as Record<(typeof keywordNames)[number], TokenType>;

/** `@word` operators with their own syntax. Other `@words` (unknown macros, @perf...) are AtOther. */
export const atWordNames = [
  "cast",
  "var",
  "entry",
  "defined",
  "probewrite",
  "const",
  "count",
  "sum",
  "min",
  "max",
  "avg",
  "variance",
  "hist_linear",
  "hist_log",
] as const;

export const At = Object.fromEntries(
  atWordNames.map((a) => [a, createToken({ name: "At" + a.split("_").map((p) => p[0]!.toUpperCase() + p.slice(1)).join(""), pattern: NA, label: `'@${a}'` })]),
) as Record<(typeof atWordNames)[number], TokenType>;
export const AtOther = createToken({ name: "AtOther", pattern: NA, label: "'@...'" });

/** Every operator the lexer knows, longest first within a family. */
export const operatorSpellings = [
  "<<<", ">>>", "<<=", ">>=",
  "==", "!=", "<=", ">=", "=~", "!~", "+=", "-=", "*=", "/=", "%=", "&=", "^=", "|=", ".=",
  "&&", "||", "++", "--", "->", "<<", ">>", "%(", "%?", "%:", "%)",
  "=", "<", ">", "+", "-", "*", "/", "%", "&", "|", "^", "!", "~", "?", ":", ".", ",", ";",
  "(", ")", "[", "]", "{", "}",
] as const;

const opNames: Record<string, string> = {
  "<<<": "LtLtLt", ">>>": "GtGtGt", "<<=": "LtLtEq", ">>=": "GtGtEq", "==": "EqEq", "!=": "BangEq",
  "<=": "LtEq", ">=": "GtEq", "=~": "EqTilde", "!~": "BangTilde", "+=": "PlusEq", "-=": "MinusEq",
  "*=": "StarEq", "/=": "SlashEq", "%=": "PercentEq", "&=": "AmpEq", "^=": "CaretEq", "|=": "PipeEq",
  ".=": "DotEq", "&&": "AmpAmp", "||": "PipePipe", "++": "PlusPlus", "--": "MinusMinus", "->": "Arrow",
  "<<": "LtLt", ">>": "GtGt", "%(": "PpOpen", "%?": "PpThen", "%:": "PpElse", "%)": "PpClose", "=": "Eq",
  "<": "Lt", ">": "Gt", "+": "Plus", "-": "Minus", "*": "Star", "/": "Slash", "%": "Percent", "&": "Amp",
  "|": "Pipe", "^": "Caret", "!": "Bang", "~": "Tilde", "?": "Question", ":": "Colon", ".": "Dot",
  ",": "Comma", ";": "Semi", "(": "LParen", ")": "RParen", "[": "LBracket", "]": "RBracket",
  "{": "LBrace", "}": "RBrace",
};

/**
 * Operator families a precedence level matches with one CONSUME (no OR on
 * the hot path of every expression). Labels read as EBNF alternatives.
 */
function family(name: string, members: string[]): { cat: TokenType; members: string[] } {
  return { cat: createToken({ name, pattern: NA, label: `( ${members.map((m) => `'${m}'`).join(" | ")} )` }), members };
}
export const Families = {
  binary: family("BinaryOp", ["||", "&&", "|", "^", "&", "==", "!=", "<", ">", "<=", ">=", "<<", ">>", ">>>", ".", "+", "-", "*", "/", "%"]),
  assign: family("AssignOp", ["=", "<<<", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "^=", "|=", ".="]),
  compare: family("CompareOp", ["==", "!=", "<", ">", "<=", ">="]),
  regex: family("RegexOp", ["=~", "!~"]),
  shift: family("ShiftOp", ["<<", ">>", ">>>"]),
  additive: family("AdditiveOp", ["+", "-"]),
  multiplicative: family("MultiplicativeOp", ["*", "/", "%"]),
  unary: family("UnaryOp", ["+", "-", "!", "~"]),
  crement: family("CrementOp", ["++", "--"]),
};
const familyCats = Object.values(Families);

export const Op: Record<string, TokenType> = Object.fromEntries(
  operatorSpellings.map((s) => [
    s,
    createToken({ name: opNames[s]!, pattern: NA, label: `'${s}'`, categories: familyCats.filter((f) => f.members.includes(s)).map((f) => f.cat) }),
  ]),
);
/** Punctuation SystemTap lexes as a one-character operator but no rule uses (`` ` ``, `\`, `'`, ...). */
export const OtherOp = createToken({ name: "OtherOp", pattern: NA, label: "operator" });

export const allTokenTypes: TokenType[] = [
  Identifier,
  NumberTok,
  StringTok,
  Embedded,
  Junk,
  TargetName,
  DollarOnly,
  KeywordCat,
  ...familyCats.map((f) => f.cat),
  ...Object.values(Kw),
  ...Object.values(At),
  AtOther,
  ...Object.values(Op),
  OtherOp,
];

export const keywordSet: ReadonlySet<string> = new Set(keywordNames);
