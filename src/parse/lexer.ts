// Characters to tokens, the way SystemTap's lexer cuts them.
//
// Script arguments are spliced here, as stap does: `$N` is re-lexed as
// program text at the position of the `$N`, `@N` becomes a string literal,
// `$#`/`@#` the argument count. A bad reference becomes a junk token, which is
// an error only if the parser ever sees it (an untaken `%( %)` branch drops it).

import { At, AtOther, DollarOnly, TargetName, Embedded, Identifier, Junk, Kw, NumberTok, Op, OtherOp, StringTok, Token, keywordSet, type Tok, type TokKind } from "./tokens.js";
import type { TokenType } from "chevrotain";

const twoCharOps = new Set([
  "==", "!=", "<=", ">=", "=~", "!~", "+=", "-=", "*=", "/=", "%=", "&=", "^=", "|=", ".=",
  "&&", "||", "++", "--", "->", "<<", ">>", "%(", "%?", "%:", "%)",
]);
const threeCharOps = new Set(["<<<", ">>>", "<<=", ">>="]);

// Character classes (C locale, as stap's isalpha/isdigit/ispunct see bytes).
const SPACE = 1;
const DIGIT = 2;
const ALPHA = 4;
const PUNCT = 8;
const IDENT = 16; // may continue an identifier: alphanumeric, '_', '$'
const classes = new Uint8Array(256);
for (let c = 0; c < 128; c++) {
  let k = 0;
  if (c === 32 || (c >= 9 && c <= 13)) k |= SPACE;
  if (c >= 48 && c <= 57) k |= DIGIT | IDENT;
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) k |= ALPHA | IDENT;
  if (c === 95 || c === 36) k |= IDENT;
  // C's ispunct: printable ASCII that is neither alphanumeric nor space
  if (c > 32 && c < 127 && !(k & (DIGIT | ALPHA))) k |= PUNCT;
  classes[c] = k;
}
function is(c: number, k: number): boolean {
  return c >= 0 && c < 256 && (classes[c]! & k) !== 0;
}

/** UTF-8 source characters to a byte string (one JS char per byte). */
export function toBytes(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s;
  // a byte that was not UTF-8 in the source (see decodeSource) is that byte again
  let out = "";
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff && !(i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff)) {
      out += Buffer.from(s.slice(run, i), "utf8").toString("latin1") + String.fromCharCode(c - 0xdc00);
      run = i + 1;
    }
  }
  return out + Buffer.from(s.slice(run), "utf8").toString("latin1");
}

/**
 * Script text (a file, -e, an argument) from its bytes: UTF-8 where it is
 * UTF-8, and each other byte B as the lone surrogate U+DC00+B, which
 * toBytes() turns back into B: strings are bytes in stap, and a script's
 * "\xff" bytes must reach its output as they are.
 */
export function decodeSource(buf: Buffer): string {
  const utf8 = buf.toString("utf8");
  if (!utf8.includes("\ufffd")) return utf8;
  let out = "";
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len > 0 && i + len <= buf.length) {
      const piece = buf.subarray(i, i + len).toString("utf8");
      if (!piece.includes("\ufffd") || (len === 3 && b === 0xef && buf[i + 1] === 0xbf && buf[i + 2] === 0xbd)) {
        out += piece;
        i += len;
        continue;
      }
    }
    out += String.fromCharCode(0xdc00 + b);
    i++;
  }
  return out;
}

export interface LexOptions {
  file: string;
  args: readonly string[];
  /** the argument numbers the text uses, recorded here */
  usedArgs?: Set<number>;
}

export function tokenTypeFor(kind: TokKind, image: string): TokenType {
  switch (kind) {
    case "identifier":
      if (image[0] === "$") return /^\$+$/.test(image) ? DollarOnly : TargetName;
      return Identifier;
    case "keyword":
      return Kw[image as keyof typeof Kw]!;
    case "number":
      return NumberTok;
    case "string":
      return StringTok;
    case "embedded-code":
      return Embedded;
    case "junk":
      return Junk;
    case "operator":
      if (image[0] === "@") return Object.hasOwn(At, image.slice(1)) ? At[image.slice(1) as keyof typeof At] : AtOther;
      return Op[image] ?? OtherOp;
  }
}

export function makeTok(kind: TokKind, image: string, file: string, offset: number, line: number, col: number, ws: boolean): Tok {
  const tokenType = tokenTypeFor(kind, image);
  return new Token(kind, image, file, offset, line, col, ws, tokenType, tokenType.tokenTypeIdx!);
}

/** Lex a whole text. `nested` is set while lexing the text of a `$N` argument. */
export function lex(text: string, opts: LexOptions, nested = false): Tok[] {
  return new Lexer(text, opts, nested).run();
}

class Lexer {
  private readonly out: Tok[] = [];
  private i = 0;
  private line = 1;
  private lineStart = 0;
  private ws = false;

  constructor(
    private readonly text: string,
    private readonly opts: LexOptions,
    private readonly nested: boolean,
  ) {}

  /** Move to offset j, counting the newlines passed. */
  private advanceTo(j: number): void {
    const text = this.text;
    for (let k = this.i; k < j; k++) {
      if (text.charCodeAt(k) === 10) {
        this.line++;
        this.lineStart = k + 1;
      }
    }
    this.i = j;
  }

  private push(kind: TokKind, image: string, start: number, line: number, col: number): Tok {
    const t = makeTok(kind, image, this.opts.file, start, line, col, this.ws);
    this.out.push(t);
    this.ws = false;
    return t;
  }

  run(): Tok[] {
    const text = this.text;
    const n = text.length;
    const opts = this.opts;
    while (this.i < n) {
      const i = this.i;
      const c = text.charCodeAt(i);
      if (c === 10) {
        this.ws = true;
        this.i++;
        this.line++;
        this.lineStart = this.i;
        continue;
      }
      if (is(c, SPACE)) {
        this.ws = true;
        this.i++;
        continue;
      }
      const start = i;
      const tline = this.line;
      const tcol = start - this.lineStart + 1;
      const c2 = i + 1 < n ? text.charCodeAt(i + 1) : -1;

      // comments
      if (c === 35 /* # */ || (c === 47 && c2 === 47) /* // */) {
        let j = text.indexOf("\n", i);
        if (j < 0) j = n;
        this.i = j;
        this.ws = true;
        continue;
      }
      if (c === 47 && c2 === 42 /* slash-star */) {
        let j = text.indexOf("*/", i + 2);
        j = j < 0 ? n : j + 2;
        this.advanceTo(j);
        this.ws = true;
        continue;
      }

      // identifiers, keywords, @words (the commonest tokens first)
      if (is(c, ALPHA) || c === 95 || ((c === 36 || c === 64) && !is(c2, DIGIT) && c2 !== 35)) {
        let j = i + 1;
        while (j < n && is(text.charCodeAt(j), IDENT)) j++;
        const image = text.slice(i, j);
        this.i = j;
        this.push(c === 64 ? "operator" : keywordSet.has(image) ? "keyword" : "identifier", image, start, tline, tcol);
        continue;
      }

      // script arguments
      if ((c === 36 || c === 64) && c2 === 35 /* $# @# */) {
        this.i = i + 2;
        if (this.nested) {
          this.push("junk", text.slice(start, i + 2), start, tline, tcol).junk = "invalid nested substitution of command line arguments";
          continue;
        }
        const count = String(opts.args.length);
        if (c === 36) this.push("number", count, start, tline, tcol);
        else stringTok(this.push("string", `"${count}"`, start, tline, tcol), count, count);
        continue;
      }
      if (c === 36 || c === 64) {
        let j = i + 1;
        while (j < n && is(text.charCodeAt(j), DIGIT)) j++;
        const image = text.slice(i, j);
        this.i = j;
        const idx = Number(image.slice(1));
        if (this.nested) {
          this.push("junk", image, start, tline, tcol).junk = "invalid nested substitution of command line arguments";
          continue;
        }
        if (!(idx >= 1 && idx <= opts.args.length)) {
          this.push("junk", image, start, tline, tcol).junk = `command line argument out of range [1-${opts.args.length}]`;
          continue;
        }
        const arg = opts.args[idx - 1]!;
        opts.usedArgs?.add(idx);
        if (c === 64) {
          const bytes = toBytes(arg);
          stringTok(this.push("string", image, start, tline, tcol), bytes, bytes.replace(/\\/g, "\\\\").replace(/\n/g, "\\n"));
        } else {
          // The argument's text is program text standing where `$N` stood.
          const inner = lex(arg, opts, true);
          let first = true;
          for (const t of inner) {
            t.startOffset = start;
            t.startLine = tline;
            t.startColumn = tcol;
            if (first) t.ws = this.ws;
            first = false;
            this.out.push(t);
          }
          this.ws = false;
        }
        continue;
      }

      // numbers: a digit and every alphanumeric after it; the parser validates
      if (is(c, DIGIT)) {
        let j = i + 1;
        while (j < n && is(text.charCodeAt(j), DIGIT | ALPHA)) j++;
        this.i = j;
        this.push("number", text.slice(i, j), start, tline, tcol);
        continue;
      }

      if (c === 34 /* " */) {
        const r = lexString(text, i);
        const image = text.slice(start, r.end);
        this.advanceTo(r.end);
        const t = this.push(r.closed ? "string" : "junk", image, start, tline, tcol);
        if (r.closed) stringTok(t, r.value, r.raw);
        else t.junk = "Could not find matching closing quote";
        continue;
      }

      if (c === 37 && c2 === 123 /* %{ */) {
        const j = text.indexOf("%}", i + 2);
        if (j < 0) {
          const image = text.slice(i);
          this.advanceTo(n);
          this.push("junk", image, start, tline, tcol).junk = "Could not find matching '%}' to close embedded function block";
          continue;
        }
        const image = text.slice(i, j + 2);
        this.advanceTo(j + 2);
        this.push("embedded-code", image, start, tline, tcol).value = toBytes(text.slice(start + 2, j));
        continue;
      }

      if (is(c, PUNCT)) {
        let image: string;
        if (is(c2, PUNCT)) {
          const three = text.slice(i, i + 3);
          const two = three.slice(0, 2);
          image = threeCharOps.has(three) ? three : twoCharOps.has(two) ? two : text[i]!;
        } else image = text[i]!;
        this.i = i + image.length;
        this.push("operator", image, start, tline, tcol);
        continue;
      }

      // anything else: control characters, non-ASCII outside strings
      const cp = text.codePointAt(i)!;
      this.i = i + (cp > 0xffff ? 2 : 1);
      const hex = Buffer.from(String.fromCodePoint(cp), "utf8")[0]!.toString(16).padStart(2, "0");
      this.push("junk", `\\x${hex}`, start, tline, tcol).junk = "unknown junk token";
    }
    return this.out;
  }
}

function stringTok(t: Tok, value: string, raw: string): void {
  // a string ends at its first NUL, as stap's C strings do ("a\000b" is "a")
  const nul = value.indexOf("\0");
  t.value = nul < 0 ? value : value.slice(0, nul);
  t.raw = raw;
}

const simpleEscapes: Record<string, string> = { a: "\x07", b: "\b", t: "\t", n: "\n", v: "\v", f: "\f", r: "\r", "\\": "\\" };

/**
 * Read a string literal starting at the opening quote. Reports the end offset
 * (after the closing quote), the byte value, and the raw content as stap keeps
 * it: escapes stap passes through to C keep their backslash; others lose it.
 */
function lexString(text: string, at: number): { end: number; value: string; raw: string; closed: boolean } {
  const done = (end: number, value: string, raw: string, closed: boolean) => ({ end, value, raw, closed });
  const n = text.length;
  let i = at + 1;
  let value = "";
  let raw = "";
  let runStart = i;
  const flush = (upto: number): void => {
    if (upto > runStart) {
      const b = toBytes(text.slice(runStart, upto));
      value += b;
      raw += b;
    }
  };
  while (true) {
    if (i >= n || text.charCodeAt(i) === 10) {
      flush(i);
      return done(i, value, raw, false);
    }
    const c = text[i]!;
    if (c === '"') {
      flush(i);
      return done(i + 1, value, raw, true);
    }
    if (c !== "\\") {
      i++;
      continue;
    }
    flush(i);
    i++;
    if (i >= n) return done(i, value, raw, false);
    const e = text[i]!;
    if (simpleEscapes[e] !== undefined) {
      value += simpleEscapes[e];
      raw += "\\" + e;
      i++;
    } else if (e >= "0" && e <= "7") {
      let j = i;
      while (j < n && j < i + 3 && text[j]! >= "0" && text[j]! <= "7") j++;
      value += String.fromCharCode(parseInt(text.slice(i, j), 8) & 0xff);
      raw += "\\" + text.slice(i, j);
      i = j;
    } else if (e === "x") {
      let j = i + 1;
      while (j < n && j < i + 3 && /[0-9a-fA-F]/.test(text[j]!)) j++;
      value += j > i + 1 ? String.fromCharCode(parseInt(text.slice(i + 1, j), 16)) : "x";
      raw += "\\" + text.slice(i, j);
      i = j;
    } else {
      // `\"`, `\'`, `\q`: the character itself, as stap's lexer does
      const cp = text.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      const b = toBytes(ch);
      value += b;
      raw += b;
      i += ch.length;
    }
    runStart = i;
  }
}

const U64 = (1n << 64n) - 1n;

/**
 * A number token's value as strtoull(…, 0) reads it, wrapped to signed
 * 64 bits; undefined when stap says "number invalid or out of range".
 */
export function numberValue(image: string): bigint | undefined {
  let v: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(image)) v = BigInt(image);
  else if (/^0[0-7]*$/.test(image)) v = image.length > 1 ? BigInt("0o" + image.slice(1)) : 0n;
  else if (/^[1-9][0-9]*$/.test(image)) v = BigInt(image);
  else return undefined;
  if (v > U64) return undefined;
  return BigInt.asIntN(64, v);
}
