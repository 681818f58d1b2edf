// SystemTap regular expressions (`s =~ re`, `s !~ re`, matched(), ngroups()).
//
// API:
//   class RegexError extends Error { offset }   a bad pattern, with the offset in the pattern
//   compileRegex(pattern): CompiledRegex        parse stap's dialect; throws RegexError.
//                                               Call it at translate time to report errors,
//                                               and once per pattern at load time.
//   CompiledRegex: { pattern, ngroups, program } the pattern compiled to an NFA program
//   match(re, subject): boolean                 `=~`; records the match for matched()/ngroups()
//   lastMatch / resetMatch()                    the recorded state and matching time (per run; stap keeps it per
//                                               context, and tstap runs one handler at a time)
//   matched(n): string, matchedStr(), ngroups(): number   the tapset natives' behaviour,
//                                               throwing RegexError-free MatchError messages
//   class MatchError extends Error              "Attempted to get subexpression ... "
//   regexSteps()                                NFA instructions visited so far (tests assert
//                                               that matching is linear with it)
//   class OverloadError                         a long match ran past stap's overload threshold
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
//
// Matching is an automaton, as stap's is, never a backtracking search: the
// pattern compiles to a Thompson NFA that is simulated over the subject one
// byte at a time (a Pike VM), so the time is linear in the subject for a
// given pattern, whatever the pattern (`^(a+)+$` included).
// - `=~` and matched(0) are POSIX's leftmost-longest match: the earliest start
//   that matches, and the longest match from there (threads that reach the same
//   NFA state keep the one that started first).
// - matched(n) for n > 0 is computed on demand over that span, anchored at both
//   ends, by a second run whose threads carry the positions of every part of
//   variable length (see assignTags); where two reach the same state at the
//   same byte, POSIX's rule picks the survivor: parts in pattern order each
//   start as early and then end as late as they can (so each subpattern is as
//   long as it can be, left to right); a repeated subexpression reports its
//   last iteration.

import { OverloadError, ScriptError } from "./errors.js";
import { flags, limits } from "./limits.js";
export { OverloadError };
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

const MAX_REPEAT = 12345;
/** NFA instructions one pattern may compile to (`(a{9999}){9999}` would be 10^8). */
const MAX_PROGRAM = 100_000;
/** Set index for a character outside the byte range (only `.` and negated sets take it). */
const OTHER = 256;

// ------------------------------------------------------------------- syntax

/** `tag`: the node's position slots (2 tag, 2 tag + 1), given to groups, closures and alternations. */
type Node = { tag?: number } & (
  | { t: "set"; set: Uint8Array }
  | { t: "bol" }
  | { t: "eol" }
  | { t: "group"; index: number; body: Node }
  | { t: "cat"; items: Node[] }
  | { t: "alt"; alts: Node[] }
  | { t: "rep"; body: Node; min: number; max: number | undefined }
);

/**
 * POSIX wants every subpattern, left to right, as long as it can be, not only
 * the parenthesized ones (in `^([a-z]+) *= *(.*)$` the blanks after '=' go to
 * ` *`, not to the group). So every part of variable length (groups, closures,
 * alternations) gets position slots, numbered in pattern order; the reported
 * subexpressions are the groups' slots. Returns the slots of group k at [k].
 */
function assignTags(root: Node, groups: number): number[] {
  const groupTag = new Array<number>(groups + 1).fill(0);
  let next = 1;
  const walk = (n: Node): void => {
    switch (n.t) {
      case "group":
        n.tag = next++;
        groupTag[n.index] = n.tag;
        walk(n.body);
        return;
      case "cat":
        for (const item of n.items) walk(item);
        return;
      case "alt":
        n.tag = next++;
        for (const a of n.alts) walk(a);
        return;
      case "rep":
        if (n.min !== n.max) n.tag = next++;
        walk(n.body);
        return;
      default:
        return;
    }
  };
  walk(root);
  groupTag.push(next); // the slot count / 2
  return groupTag;
}

const CLASSES: ReadonlyMap<string, string> = new Map([
  ["alpha", "A-Za-z"],
  ["alnum", "A-Za-z0-9"],
  ["blank", " \t"],
  ["cntrl", "\x01-\x1f\x7f"],
  ["digit", "0-9"],
  ["d", "0-9"],
  ["xdigit", "0-9a-fA-F"],
  ["graph", "\x21-\x7e"],
  ["lower", "a-z"],
  ["l", "a-z"],
  ["print", "\x20-\x7e"],
  ["punct", "!\"#$%&'()*+,./:;<=>?@[\\]^_`{|}~-"],
  ["space", " \t\r\n\v\f"],
  ["s", " \t\r\n\v\f"],
  ["upper", "A-Z"],
  ["u", "A-Z"],
]);

function setFromSpec(spec: string, set: Uint8Array): void {
  for (let i = 0; i < spec.length; i++) {
    const a = spec.charCodeAt(i);
    if (spec[i + 1] === "-" && i + 2 < spec.length) {
      const b = spec.charCodeAt(i + 2);
      for (let c = a; c <= b; c++) set[c] = 1;
      i += 2;
    } else set[a] = 1;
  }
}

function anyByte(): Uint8Array {
  return new Uint8Array(OTHER + 1).fill(1);
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

  parse(): Node {
    const out = this.expr();
    if (!this.done) {
      if (this.peek() === ")") this.fail("unbalanced ')'");
      this.fail("BUG -- regex parse failed to finish");
    }
    return out;
  }

  private expr(): Node {
    const alts = [this.term()];
    while (this.peek() === "|") {
      this.pos++;
      alts.push(this.term());
    }
    return alts.length === 1 ? alts[0] : { t: "alt", alts };
  }

  private term(): Node {
    const items: Node[] = [];
    while (!this.done && this.peek() !== "|" && this.peek() !== ")") items.push(this.factor());
    return items.length === 1 ? items[0] : { t: "cat", items };
  }

  private factor(): Node {
    const start = this.pos;
    const c = this.peek()!;
    if (c === "*" || c === "+" || c === "?" || c === "{") this.fail(`unexpected '${c}'`);
    let atom: Node;
    let anchor = false;
    if (c === ".") {
      this.pos++;
      atom = { t: "set", set: anyByte() };
    } else if (c === "[") {
      this.pos++;
      atom = { t: "set", set: this.bracket(start) };
    } else if (c === "(") {
      this.pos++;
      const index = ++this.groups;
      const body = this.expr();
      if (this.done) this.fail("expected ), found end of regex");
      this.pos++; // ')'
      atom = { t: "group", index, body };
    } else if (c === "^" || c === "$") {
      this.pos++;
      anchor = true;
      atom = c === "^" ? { t: "bol" } : { t: "eol" };
    } else {
      const set = new Uint8Array(OTHER + 1);
      set[this.readChar()] = 1;
      atom = { t: "set", set };
    }
    for (;;) {
      const q = this.peek();
      if (q !== "*" && q !== "+" && q !== "?" && q !== "{") break;
      if (anchor) this.fail(`postfix closure '${q}' applied to anchoring operator`);
      this.pos++;
      let min = q === "+" ? 1 : 0;
      let max: number | undefined = q === "?" ? 1 : undefined;
      if (q === "{") {
        min = this.number();
        max = min;
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
        if (max !== undefined && max < min) this.fail(`invalid repetition {${min},${max}}`);
      }
      atom = { t: "rep", body: atom, min, max };
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

  private bracket(open: number): Uint8Array {
    const set = new Uint8Array(OTHER + 1);
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
        const spec = CLASSES.get(name);
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
        for (let k = lo; k <= hi; k++) set[k] = 1;
      } else set[lo] = 1;
    }
    this.pos++; // ']'
    if (invert) for (let k = 0; k <= OTHER; k++) set[k] ^= 1;
    return set;
  }
}

// ------------------------------------------------------------------ program

const enum Op {
  Set,
  Split,
  Jmp,
  Save,
  Bol,
  Eol,
  Match,
}

/** One NFA instruction; `x`/`y` are the next instructions, `slot` a Save's position slot. */
interface Inst {
  op: Op;
  set?: Uint8Array;
  x: number;
  y: number;
  slot: number;
}

/**
 * Compiling with explicit exits: each construct returns the list of exits to
 * patch, so nested alternatives and optional parts point where they should.
 */
function compileProgram(pattern: string, root: Node): Inst[] {
  const prog: Inst[] = [];
  const emit = (op: Op, extra: Partial<Inst> = {}): number => {
    if (prog.length >= MAX_PROGRAM)
      throw new RegexError(`regex too large: more than ${MAX_PROGRAM} automaton states`, pattern.length);
    prog.push({ op, x: -1, y: -1, slot: -1, ...extra });
    return prog.length - 1;
  };
  type Exit = { at: number; field: "x" | "y" };
  const patch = (exits: Exit[], to: number) => {
    for (const e of exits) prog[e.at][e.field] = to;
  };
  // Emits n (between its Saves when it has a tag); returns its dangling exits.
  const gen = (n: Node): Exit[] => {
    if (n.tag === undefined) return genBody(n);
    const open = emit(Op.Save, { slot: 2 * n.tag });
    prog[open].x = open + 1;
    const inner = genBody(n);
    const close = emit(Op.Save, { slot: 2 * n.tag + 1 });
    patch(inner, close);
    return [{ at: close, field: "x" }];
  };
  const genBody = (n: Node): Exit[] => {
    switch (n.t) {
      case "set":
        return [{ at: emit(Op.Set, { set: n.set }), field: "x" }];
      case "bol":
        return [{ at: emit(Op.Bol), field: "x" }];
      case "eol":
        return [{ at: emit(Op.Eol), field: "x" }];
      case "group":
        return gen(n.body);
      case "cat": {
        let exits: Exit[] = [];
        for (const item of n.items) {
          const startAt = prog.length;
          const next = gen(item);
          patch(exits, startAt);
          exits = next;
        }
        if (n.items.length === 0) {
          const nop = emit(Op.Jmp);
          return [{ at: nop, field: "x" }];
        }
        return exits;
      }
      case "alt": {
        const exits: Exit[] = [];
        for (let i = 0; i < n.alts.length - 1; i++) {
          const split = emit(Op.Split);
          prog[split].x = split + 1;
          exits.push(...gen(n.alts[i]));
          prog[split].y = prog.length;
        }
        exits.push(...gen(n.alts[n.alts.length - 1]));
        return exits;
      }
      case "rep": {
        let exits: Exit[] = [];
        const chain = (next: Exit[]) => {
          exits = next;
        };
        for (let i = 0; i < n.min; i++) {
          const startAt = prog.length;
          const next = gen(n.body);
          patch(exits, startAt);
          chain(next);
        }
        if (n.max === undefined) {
          const split = emit(Op.Split);
          patch(exits, split);
          prog[split].x = split + 1;
          const body = gen(n.body);
          patch(body, split);
          return [{ at: split, field: "y" }];
        }
        const skips: Exit[] = [];
        for (let i = n.min; i < n.max; i++) {
          const split = emit(Op.Split);
          patch(exits, split);
          prog[split].x = split + 1;
          skips.push({ at: split, field: "y" });
          exits = gen(n.body);
        }
        if (n.max === 0 && n.min === 0) return [{ at: emit(Op.Jmp), field: "x" }];
        return [...exits, ...skips];
      }
    }
  };
  const open = emit(Op.Save, { slot: 0 });
  prog[open].x = 1;
  const exits = gen(root);
  const close = emit(Op.Save, { slot: 1 });
  patch(exits, close);
  const done = emit(Op.Match);
  prog[close].x = done;
  return prog;
}

export interface CompiledRegex {
  readonly pattern: string;
  /** Subexpressions including the whole match (stap's ngroups()). */
  readonly ngroups: number;
  readonly program: readonly Inst[];
  /** Position slots of the program (2 per tag). */
  readonly slots: number;
  /** groupTag[k]: the tag of subexpression k (0, the whole match, is tag 0). */
  readonly groupTag: readonly number[];
  /** The bytes a match can start with, when it cannot be empty nor start with an anchor. */
  readonly first: Uint8Array | undefined;
}

function firstBytes(prog: readonly Inst[]): Uint8Array | undefined {
  const first = new Uint8Array(OTHER + 1);
  const seen = new Uint8Array(prog.length);
  const stack = [0];
  while (stack.length > 0) {
    const pc = stack.pop()!;
    if (seen[pc]) continue;
    seen[pc] = 1;
    const inst = prog[pc];
    switch (inst.op) {
      case Op.Split:
        stack.push(inst.x, inst.y);
        break;
      case Op.Jmp:
      case Op.Save:
        stack.push(inst.x);
        break;
      case Op.Set:
        for (let c = 0; c <= OTHER; c++) first[c] |= inst.set![c];
        break;
      default:
        return undefined;
    }
  }
  return first;
}

export function compileRegex(pattern: string): CompiledRegex {
  const p = new Parser(pattern);
  const root = p.parse();
  const tags = assignTags(root, p.groups);
  const slots = 2 * tags.pop()!;
  const program = compileProgram(pattern, root);
  return { pattern, ngroups: p.groups + 1, program, slots, groupTag: tags, first: firstBytes(program) };
}

// ----------------------------------------------------------------- bounding the work
//
// stap charges a match no action: its translator emits the pattern's DFA
// inside the expression and records no action for it (translate.cxx,
// c_unparser::visit_regex_query; record_actions counts statements), so a
// `=~` is part of its statement's one action here too. stap's DFA takes one
// step a byte; this NFA takes up to a program's size of steps a byte, and
// submatches copy position slots, so one match of a long subject (up to
// MAXSTRINGLEN) against a large pattern could run for hours, and no signal
// nor -T is handled while a handler runs. What bounds a handler's time in
// stap is its overload check (STP_OVERLOAD: more than STP_OVERLOAD_THRESHOLD
// ns of probe time within STP_OVERLOAD_INTERVAL ends the run with an error
// that --suppress-handler-errors does not hide; -DSTP_NO_OVERLOAD and
// --suppress-time-limits lift it). It is applied here to matching time,
// measured by long matches every CHECK_STEPS steps: a match shorter than
// that (well under a millisecond) reads no clock.

const CHECK_STEPS = 1 << 14;
/** stap's cycles_base and cycles_sum, over matching time (ns, performance.now's clock) */
let overloadBase = -Infinity;
let overloadSum = 0;
/** when the running match's first check came (-1: no check yet) */
let matchT0 = -1;

function overloadChecked(): boolean {
  return !(flags.has("STP_NO_OVERLOAD") || flags.has("STAP_NO_OVERLOAD") || flags.has("STAP_SUPPRESS_TIME_LIMITS_ENABLE"));
}

/** A check inside a long match: the first starts its clock, a later one fails the run past the threshold. */
function overloadCheck(): void {
  if (!overloadChecked()) return;
  const now = performance.now() * 1e6;
  if (matchT0 < 0) {
    matchT0 = now;
    if (now - overloadBase > limits.STP_OVERLOAD_INTERVAL) {
      overloadBase = now;
      overloadSum = 0;
    }
    return;
  }
  if (overloadSum + (now - matchT0) > limits.STP_OVERLOAD_THRESHOLD) {
    throw new OverloadError(
      `probe overhead exceeded threshold: matching regular expressions took more than STP_OVERLOAD_THRESHOLD (${limits.STP_OVERLOAD_THRESHOLD} ns) within STP_OVERLOAD_INTERVAL (${limits.STP_OVERLOAD_INTERVAL} ns)`,
    );
  }
}

/** The end of a match (or of a submatch run): its time joins the interval's sum. */
function overloadDone(): void {
  if (matchT0 >= 0) overloadSum += performance.now() * 1e6 - matchT0;
  matchT0 = -1;
}

// ----------------------------------------------------------------- matching

let steps = 0;

/** NFA instructions visited since the process started (for linearity tests). */
export function regexSteps(): number {
  return steps;
}

function byteAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c > 255 ? OTHER : c;
}

/** Per-regex scratch space for search(), allocated once (one handler runs at a time). */
interface SearchSpace {
  mark: Int32Array;
  lists: [Int32Array, Int32Array, Int32Array, Int32Array];
  stack: Int32Array;
}

const spaces = new WeakMap<CompiledRegex, SearchSpace>();

function spaceOf(re: CompiledRegex): SearchSpace {
  let sp = spaces.get(re);
  if (!sp) {
    const m = re.program.length;
    sp = {
      mark: new Int32Array(m),
      lists: [new Int32Array(m), new Int32Array(m), new Int32Array(m), new Int32Array(m)],
      stack: new Int32Array(2 * m + 2),
    };
    spaces.set(re, sp);
  }
  return sp;
}

/**
 * The leftmost-longest match of `re` in `s`: [start, end], or undefined.
 * Threads carry only their start; at a shared state the earliest start wins
 * (the thread list stays ordered by start, so the first to arrive is it).
 */
function search(re: CompiledRegex, s: string): [number, number] | undefined {
  const prog = re.program;
  const n = s.length;
  const sp = spaceOf(re);
  const { mark, stack } = sp;
  // marks are generation numbers: position + 1 of the list a state joined
  mark.fill(0);
  let [cur, curStart, next, nextStart] = sp.lists;
  let curLen = 0;
  let nextLen = 0;
  let bestStart = -1;
  let bestEnd = -1;
  let count = 0;
  // Adds the closure of pc0 at position pos to (next, nextStart).
  const add = (pc0: number, start: number, pos: number): void => {
    let top = 0;
    stack[top++] = pc0;
    const gen = pos + 1;
    while (top > 0) {
      const pc = stack[--top];
      if (mark[pc] === gen) continue;
      mark[pc] = gen;
      count++;
      const inst = prog[pc];
      switch (inst.op) {
        case Op.Split:
          stack[top++] = inst.y;
          stack[top++] = inst.x;
          break;
        case Op.Jmp:
        case Op.Save:
          stack[top++] = inst.x;
          break;
        case Op.Bol:
          if (pos === 0) stack[top++] = inst.x;
          break;
        case Op.Eol:
          if (pos === n) stack[top++] = inst.x;
          break;
        default:
          next[nextLen] = pc;
          nextStart[nextLen++] = start;
          break;
      }
    }
  };
  const first = re.first;
  for (let pos = 0; ; pos++) {
    if (count >= CHECK_STEPS) {
      steps += count;
      count = 0;
      overloadCheck();
    }
    // no thread alive: skip to a byte that can start a match
    if (first && curLen === 0 && bestStart < 0) while (pos < n && !first[byteAt(s, pos)]) pos++;
    if (bestStart < 0) {
      // the seed joins the list being built for pos (after the older threads)
      [cur, next] = [next, cur];
      [curStart, nextStart] = [nextStart, curStart];
      [curLen, nextLen] = [nextLen, curLen];
      add(0, pos, pos);
      [cur, next] = [next, cur];
      [curStart, nextStart] = [nextStart, curStart];
      [curLen, nextLen] = [nextLen, curLen];
    }
    if (curLen === 0) break;
    const c = pos < n ? byteAt(s, pos) : -1;
    nextLen = 0;
    for (let i = 0; i < curLen; i++) {
      const inst = prog[cur[i]];
      const start = curStart[i];
      count++;
      if (inst.op === Op.Match) {
        if (bestStart < 0 || start < bestStart || (start === bestStart && pos > bestEnd)) {
          bestStart = start;
          bestEnd = pos;
        }
        continue;
      }
      // threads that started after the match found cannot win any more
      if (bestStart >= 0 && start > bestStart) continue;
      if (c >= 0 && inst.set![c]) add(inst.x, start, pos + 1);
    }
    if (pos >= n) break;
    [cur, next] = [next, cur];
    [curStart, nextStart] = [nextStart, curStart];
    curLen = nextLen;
    nextLen = 0;
  }
  steps += count;
  return bestStart < 0 ? undefined : [bestStart, bestEnd];
}

/**
 * POSIX order between two threads at the same state and position: is `a`
 * better than `b`? Subexpressions in the order of their '(' (the whole match
 * first): an earlier start wins (a set one over an unset one), then a later
 * end (a finished one over one still open).
 */
function better(a: Int32Array, b: Int32Array): boolean {
  for (let k = 0; k < a.length; k += 2) {
    const sa = a[k];
    const sb = b[k];
    if (sa !== sb) {
      if (sa < 0) return false;
      if (sb < 0) return true;
      return sa < sb;
    }
    const ea = a[k + 1];
    const eb = b[k + 1];
    if (ea !== eb) return ea > eb;
  }
  return false;
}

/** Subexpression positions of the match [start, end] (which is known to exist). */
function submatches(re: CompiledRegex, s: string, start: number, end: number): Int32Array | undefined {
  const prog = re.program;
  const n = s.length;
  const slots = re.slots;
  const mark = new Int32Array(prog.length).fill(-1);
  const caps: (Int32Array | undefined)[] = new Array(prog.length);
  let cur: number[] = [];
  let next: number[] = [];
  const stackPc: number[] = [];
  const stackCaps: Int32Array[] = [];
  const add = (list: number[], pc0: number, c0: Int32Array, pos: number) => {
    stackPc.push(pc0);
    stackCaps.push(c0);
    while (stackPc.length > 0) {
      const pc = stackPc.pop()!;
      let c = stackCaps.pop()!;
      if (mark[pc] === pos) {
        if (!better(c, caps[pc]!)) continue;
      } else {
        mark[pc] = pos;
        const op = prog[pc].op;
        if (op === Op.Set || op === Op.Match) list.push(pc);
      }
      caps[pc] = c;
      if ((++steps & (CHECK_STEPS - 1)) === 0) overloadCheck();
      const inst = prog[pc];
      switch (inst.op) {
        case Op.Split:
          stackPc.push(inst.y, inst.x);
          stackCaps.push(c, c);
          break;
        case Op.Jmp:
          stackPc.push(inst.x);
          stackCaps.push(c);
          break;
        case Op.Save:
          c = c.slice();
          c[inst.slot] = pos;
          // entering a subexpression (again): its end is not known yet
          if ((inst.slot & 1) === 0) c[inst.slot + 1] = -1;
          stackPc.push(inst.x);
          stackCaps.push(c);
          break;
        case Op.Bol:
          if (pos === 0) (stackPc.push(inst.x), stackCaps.push(c));
          break;
        case Op.Eol:
          if (pos === n) (stackPc.push(inst.x), stackCaps.push(c));
          break;
        default:
          break;
      }
    }
  };
  add(cur, 0, new Int32Array(slots).fill(-1), start);
  for (let pos = start; ; pos++) {
    const c = pos < end ? byteAt(s, pos) : -1;
    const nextCaps: Int32Array[] = [];
    for (const pc of cur) {
      const inst = prog[pc];
      steps++;
      if (inst.op === Op.Match) {
        if (pos === end) return caps[pc];
        continue;
      }
      if (c >= 0 && inst.set![c]) nextCaps.push(caps[pc]!), next.push(inst.x);
    }
    if (pos >= end) return undefined;
    const targets = next;
    next = [];
    cur = [];
    for (let i = 0; i < targets.length; i++) add(cur, targets[i], nextCaps[i], pos + 1);
  }
}

interface MatchState {
  ok: boolean;
  re?: CompiledRegex;
  subject: string;
  start: number;
  end: number;
  groups?: string[];
}

export const lastMatch: MatchState = { ok: false, subject: "", start: 0, end: 0 };

/** A new run (or test): no match recorded, no matching time counted. */
export function resetMatch(): void {
  overloadBase = -Infinity;
  overloadSum = 0;
  matchT0 = -1;
  lastMatch.ok = false;
  lastMatch.re = undefined;
  lastMatch.groups = undefined;
}

/** `subject =~ re`. */
export function match(re: CompiledRegex, subject: string): boolean {
  let m: [number, number] | undefined;
  try {
    m = search(re, subject);
  } finally {
    overloadDone();
  }
  lastMatch.re = re;
  lastMatch.subject = subject;
  lastMatch.groups = undefined;
  lastMatch.ok = m !== undefined;
  if (m) [lastMatch.start, lastMatch.end] = m;
  return lastMatch.ok;
}

function resolveGroups(): string[] {
  if (lastMatch.groups) return lastMatch.groups;
  const re = lastMatch.re!;
  const s = lastMatch.subject;
  let caps: Int32Array | undefined;
  try {
    caps = submatches(re, s, lastMatch.start, lastMatch.end);
  } finally {
    overloadDone();
  }
  const groups: string[] = [];
  for (let i = 0; i < re.ngroups; i++) {
    const a = caps ? caps[2 * re.groupTag[i]] : -1;
    const b = caps ? caps[2 * re.groupTag[i] + 1] : -1;
    groups.push(a >= 0 && b >= a ? s.slice(a, b) : "");
  }
  groups[0] = s.slice(lastMatch.start, lastMatch.end);
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
