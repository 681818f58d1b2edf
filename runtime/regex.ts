// SystemTap regular expressions (`s =~ re`, `s !~ re`, matched(), ngroups()).
//
// API:
//   class RegexError extends Error { offset }   a bad pattern, with the offset in the pattern
//   compileRegex(pattern): CompiledRegex        parse stap's dialect; throws RegexError.
//                                               Call it at translate time to report errors,
//                                               and once per pattern at load time.
//   CompiledRegex: { pattern, js (a JS RegExp source), ngroups }
//   match(re, subject): boolean                 `=~`; records the match for matched()/ngroups()
//   lastMatch / resetMatch()                    the recorded state (per run; stap keeps it per
//                                               context, and tstap runs one handler at a time)
//   matched(n): string, matchedStr(), ngroups(): number   the tapset natives' behaviour,
//                                               throwing RegexError-free MatchError messages
//   class MatchError extends Error              "Attempted to get subexpression ... "
//
// The dialect is stap's own (stapregex, POSIX ERE-like), not JS's:
// - `.` matches any byte (newline included); `^` `$` anchor at the subject's ends
//   wherever they appear; `*` `+` `?` `{n}` `{n,}` `{n,m}` (at most 12344), chains of
//   them allowed (`a**`), none after an anchor or at the start of an alternative;
// - `\` escapes: \a \b \t \n \v \f \r, \xHH, \ooo (first digit 0-3); any other
//   escaped character is itself (`\d` is 'd', `\.` is '.');
// - brackets `[...]`, `[^...]`, ranges, `]` first is literal, backslash escapes
//   inside, classes [:alpha:] [:alnum:] [:blank:] [:cntrl:] [:digit:] [:d:]
//   [:xdigit:] [:graph:] [:lower:] [:l:] [:print:] [:punct:] [:space:] [:s:]
//   [:upper:] [:u:]; no back-references.
// Matching: the result of `=~` is exact (is there a match anywhere). For the
// matched text, POSIX asks for the leftmost-longest match while JS gives the
// leftmost-first one; matched() therefore re-runs the pattern to find the
// longest match at the leftmost start. Subexpressions are those of a JS match
// of exactly that span: in ambiguous patterns (e.g. `(a|ab)(c|bcd)(d*)`) their
// split can differ from POSIX's subexpression rules.

import { ScriptError } from "./errors.js";
export class RegexError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = "RegexError";
    this.offset = offset;
  }
}

export class MatchError extends ScriptError {
  constructor(message: string) {
    super(message);
    this.name = "MatchError";
  }
}

export interface CompiledRegex {
  readonly pattern: string;
  /** JS source; `$` becomes a lookahead for END (see below), bytes are \xHH. */
  readonly js: string;
  /** Subexpressions including the whole match (stap's ngroups()). */
  readonly ngroups: number;
  /** search: unanchored, over subject + END. */
  readonly search: RegExp;
  /** exact: sticky, `(?:js)(?=END?STOP)` for span tests. */
  readonly exact: RegExp;
}

// Sentinels outside the byte range: END marks the subject's end for `$`,
// STOP bounds a candidate span.
const END = "\u0100";
const STOP = "\u0101";
const MAX_REPEAT = 12345;

const CLASSES: Record<string, string> = {
  alpha: "A-Za-z",
  alnum: "A-Za-z0-9",
  blank: " \t",
  cntrl: "\x01-\x1f\x7f",
  digit: "0-9",
  d: "0-9",
  xdigit: "0-9a-fA-F",
  graph: "\x21-\x7e",
  lower: "a-z",
  l: "a-z",
  print: "\x20-\x7e",
  punct: "!\"#$%&'()*+,./:;<=>?@[\\]^_`{|}~-",
  space: " \t\r\n\v\f",
  s: " \t\r\n\v\f",
  upper: "A-Z",
  u: "A-Z",
};

function hex2(c: number): string {
  return "\\x" + c.toString(16).padStart(2, "0");
}

function setFromSpec(spec: string, set: boolean[]): void {
  for (let i = 0; i < spec.length; i++) {
    const a = spec.charCodeAt(i);
    if (spec[i + 1] === "-" && i + 2 < spec.length) {
      const b = spec.charCodeAt(i + 2);
      for (let c = a; c <= b; c++) set[c] = true;
      i += 2;
    } else set[a] = true;
  }
}

function classSource(set: boolean[]): string {
  let out = "";
  for (let c = 0; c < 256; c++) {
    if (!set[c]) continue;
    let d = c;
    while (d + 1 < 256 && set[d + 1]) d++;
    out += d === c ? hex2(c) : d === c + 1 ? hex2(c) + hex2(d) : hex2(c) + "-" + hex2(d);
    c = d;
  }
  return out === "" ? "[^\\x00-\\uffff]" : "[" + out + "]";
}

class Parser {
  private pos = 0;
  groups = 0;
  constructor(private readonly src: string) {}

  private get done(): boolean {
    return this.pos >= this.src.length;
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private fail(msg: string, at = this.pos): never {
    throw new RegexError(msg, at);
  }

  /** One (possibly escaped) byte, as stap's cursor unescapes it. */
  private readChar(): number {
    const at = this.pos;
    const c = this.src[this.pos++];
    if (c !== "\\") return c.charCodeAt(0);
    if (this.done) this.fail("unexpected end of regex", this.pos);
    const e = this.src[this.pos++];
    switch (e) {
      case "a": return 7;
      case "b": return 8;
      case "t": return 9;
      case "n": return 10;
      case "v": return 11;
      case "f": return 12;
      case "r": return 13;
      case "x": {
        const h = this.src.slice(this.pos, this.pos + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) this.fail("two hex digits required in escape sequence", at + 1);
        this.pos += 2;
        return parseInt(h, 16);
      }
      default:
        if (e >= "4" && e <= "7") this.fail("octal escape sequence out of range", at + 1);
        if (e >= "0" && e <= "3") {
          const o = this.src.slice(this.pos - 1, this.pos + 2);
          if (!/^[0-7]{3}$/.test(o)) this.fail("three octal digits required in escape sequence", at + 1);
          this.pos += 2;
          return parseInt(o, 8);
        }
        return e.charCodeAt(0);
    }
  }

  parse(): string {
    const out = this.expr();
    if (!this.done) {
      if (this.peek() === ")") this.fail("unbalanced ')'");
      this.fail("BUG -- regex parse failed to finish");
    }
    return out;
  }

  private expr(): string {
    let out = this.term();
    while (this.peek() === "|") {
      this.pos++;
      out += "|" + this.term();
    }
    return out;
  }

  private term(): string {
    let out = "";
    while (!this.done && this.peek() !== "|" && this.peek() !== ")") out += this.factor();
    return out;
  }

  private factor(): string {
    const start = this.pos;
    const c = this.peek()!;
    if (c === "*" || c === "+" || c === "?" || c === "{") this.fail(`unexpected '${c}'`);
    let atom: string;
    let anchor = false;
    if (c === ".") {
      this.pos++;
      atom = "[\\x00-\\xff]";
    } else if (c === "[") {
      this.pos++;
      atom = this.bracket(start);
    } else if (c === "(") {
      this.pos++;
      this.groups++;
      const inner = this.expr();
      if (this.done) this.fail("expected ), found end of regex");
      this.pos++; // ')'
      atom = "(" + inner + ")";
    } else if (c === "^" || c === "$") {
      this.pos++;
      anchor = true;
      atom = c === "^" ? "^" : `(?=${END})`;
    } else {
      atom = hex2(this.readChar());
    }
    let quantified: string | undefined;
    for (;;) {
      const q = this.peek();
      if (q !== "*" && q !== "+" && q !== "?" && q !== "{") break;
      if (anchor) this.fail(`postfix closure '${q}' applied to anchoring operator`);
      this.pos++;
      let suffix: string = q;
      if (q === "{") {
        const min = this.number();
        let max: number | undefined = min;
        if (this.done) this.fail("expected ',' or '}'");
        const d = this.src[this.pos++];
        if (d === ",") {
          if (this.peek() === "}") {
            this.pos++;
            max = undefined;
          } else if (this.peek() !== undefined && /[0-9]/.test(this.peek()!)) {
            max = this.number();
            if (this.peek() !== "}") this.fail(this.done ? "expected }, found end of regex" : `expected }, found ${this.peek()}`);
            this.pos++;
          } else this.fail("expected '}' or number");
        } else if (d !== "}") this.fail("expected ',' or '}'", this.pos - 1);
        suffix = max === undefined ? `{${min},}` : max === min ? `{${min}}` : `{${min},${max}}`;
        if (max !== undefined && max < min) this.fail(`invalid repetition {${min},${max}}`);
      }
      if (quantified !== undefined) {
        // Chains of the simple closures collapse (a** is a*, a+? is a*...),
        // which also keeps JS from backtracking through nested quantifiers.
        const merged = mergeClosures(quantified, suffix);
        if (merged !== undefined) {
          atom = atom.slice(0, atom.length - quantified.length) + merged;
          quantified = merged;
          continue;
        }
        atom = "(?:" + atom + ")";
      }
      atom += suffix;
      quantified = suffix;
    }
    return atom;
  }

  private number(): number {
    const m = /^[0-9]+/.exec(this.src.slice(this.pos));
    if (!m) this.fail("expected number");
    const n = parseInt(m[0], 10);
    if (n >= MAX_REPEAT) this.fail(`${m[0]} is too large`);
    this.pos += m[0].length;
    return n;
  }

  private bracket(open: number): string {
    const set = new Array<boolean>(256).fill(false);
    let invert = false;
    if (this.peek() === "^") {
      invert = true;
      this.pos++;
    }
    let first = true;
    for (;;) {
      if (this.done) this.fail("unclosed character class", open);
      const c = this.peek()!;
      if (c === "]" && !first) break;
      first = false;
      if (c === "[" && this.src[this.pos + 1] === ":") {
        const close = this.src.indexOf(":]", this.pos + 2);
        if (close < 0) this.fail(`unclosed character class '${this.src.slice(this.pos)}'`);
        const name = this.src.slice(this.pos + 2, close);
        const spec = CLASSES[name];
        if (spec === undefined) this.fail(`unknown character class '${name}'`);
        setFromSpec(spec, set);
        this.pos = close + 2;
        continue;
      }
      const lo = this.readChar();
      if (this.peek() === "-" && this.src[this.pos + 1] !== undefined && this.src[this.pos + 1] !== "]") {
        this.pos++;
        const hi = this.readChar();
        if (hi < lo) this.fail("invalid range in character class");
        for (let k = lo; k <= hi; k++) set[k] = true;
      } else set[lo] = true;
    }
    this.pos++; // ']'
    if (invert) for (let k = 0; k < 256; k++) set[k] = !set[k];
    return classSource(set);
  }
}

/** The one closure equivalent to applying `outer` after `inner`, when both are * + ?. */
function mergeClosures(inner: string, outer: string): string | undefined {
  const simple = (q: string) => q === "*" || q === "+" || q === "?";
  if (!simple(inner) || !simple(outer)) return undefined;
  if (inner === outer) return inner;
  return "*";
}

export function compileRegex(pattern: string): CompiledRegex {
  const p = new Parser(pattern);
  const js = p.parse();
  return {
    pattern,
    js,
    ngroups: p.groups + 1,
    search: new RegExp(js),
    exact: new RegExp(`(?:${js})(?=${END}?${STOP})`, "y"),
  };
}

interface MatchState {
  ok: boolean;
  re?: CompiledRegex;
  subject: string;
  start: number;
  firstEnd: number;
  groups?: string[];
}

export const lastMatch: MatchState = { ok: false, subject: "", start: 0, firstEnd: 0 };

export function resetMatch(): void {
  lastMatch.ok = false;
  lastMatch.re = undefined;
  lastMatch.groups = undefined;
}

/** `subject =~ re`. */
export function match(re: CompiledRegex, subject: string): boolean {
  const m = re.search.exec(subject + END);
  lastMatch.re = re;
  lastMatch.subject = subject;
  lastMatch.groups = undefined;
  lastMatch.ok = m !== null;
  if (m) {
    lastMatch.start = m.index;
    lastMatch.firstEnd = m.index + m[0].length;
  }
  return lastMatch.ok;
}

function resolveGroups(): string[] {
  if (lastMatch.groups) return lastMatch.groups;
  const re = lastMatch.re!;
  const s = lastMatch.subject;
  let found: RegExpExecArray | null = null;
  for (let e = s.length; e >= lastMatch.firstEnd && !found; e--) {
    const text = s.slice(0, e) + (e === s.length ? END : "") + STOP;
    re.exact.lastIndex = lastMatch.start;
    found = re.exact.exec(text);
  }
  const groups: string[] = [];
  for (let i = 0; i < re.ngroups; i++) groups.push(found?.[i] ?? "");
  lastMatch.groups = groups;
  return groups;
}

/** matched(n): subexpression n of the last successful match ("" if it took no part). */
export function matched(n: number | bigint): string {
  if (!lastMatch.ok) throw new MatchError(`Attempted to get subexpression ${n} from failed match`);
  const re = lastMatch.re!;
  if (n < 0 || n >= re.ngroups) throw new MatchError(`Attempted to get nonexistent subexpression ${n}`);
  return resolveGroups()[Number(n)];
}

export function matchedStr(): string {
  return matched(0);
}

export function ngroups(): number {
  if (!lastMatch.ok) throw new MatchError("Attempted to get subexpression count from failed match");
  return lastMatch.re!.ngroups;
}

/** compileRegex for generated code: a bad pattern is a script error. */
export function compileScriptRegex(pattern: string): CompiledRegex {
  try {
    return compileRegex(pattern);
  } catch (err) {
    throw new ScriptError(err instanceof Error ? err.message : String(err));
  }
}

/** The pattern's problem, if stap would reject it (the translator checks literal patterns). */
export function regexProblem(pattern: string): string | undefined {
  try {
    compileRegex(pattern);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
