// Expressions → JavaScript expressions.
//
// Longs follow runtime/int64.ts (number when safe, bigint beyond, always
// normalized): arithmetic calls the $add/$sub/... helpers, comparisons and
// truth tests use JS operators directly (a normalized 0 is always the number
// 0, so `if (x)` is exact). Strings are byte strings; `.` truncates at
// MAXSTRINGLEN through $cat.

import type { AssignExpr, BinaryExpr, CallExpr, CrementExpr, Expr, HistExpr, IndexExpr, InExpr, StatOpExpr } from "../parse/ast.js";
import type { FunctionGroup, GlobalSym, LocalSym, NativeSym } from "../elaborate/program.js";
import { Gen, longLiteral, stringLiteral } from "./gen-context.js";
import { firstToken, identifierAt, operatorAt } from "./near.js";
import { emitBuiltin, isBuiltin } from "./builtins.js";
import { emitDefined, emitRead, emitTarget } from "./target.js";
import { isUserRead } from "../points/user-reads.js";
import { runsFunctions } from "../points/function-reads.js";
import { validateLinear } from "../../runtime/hist.js";
import { regexProblem } from "../../runtime/regex.js";

const arith: Record<string, string> = {
  "+": "$add",
  "-": "$sub",
  "*": "$mul",
  "&": "$band",
  "|": "$bor",
  "^": "$bxor",
  "<<": "$shl",
  ">>": "$shr",
  ">>>": "$ushr",
};

const compareOps: Record<string, string> = { "==": "===", "!=": "!==", "<": "<", "<=": "<=", ">": ">", ">=": ">=" };

/**
 * An expression used as a truth value, as a JS expression whose truthiness is
 * the script's (comparisons stay JS booleans: no 1/0 round trip in loops).
 */
export function emitCond(g: Gen, e: Expr): string {
  switch (e.kind) {
    case "group":
      return emitCond(g, e.inner);
    case "binary": {
      const cmp = compareOps[e.op];
      if (cmp) return `(${emitExpr(g, e.left)} ${cmp} ${emitExpr(g, e.right)})`;
      return emitExpr(g, e);
    }
    case "logical":
      return `(${emitCond(g, e.left)} ${e.op} ${emitCond(g, e.right)})`;
    case "unary":
      if (e.op === "!") return `!${emitCond(g, e.operand)}`;
      return emitExpr(g, e);
    default:
      return emitExpr(g, e);
  }
}

/** An expression as JS; `unused` lets `x++` as a statement skip saving the old value. */
export function emitExpr(g: Gen, e: Expr, unused = false): string {
  switch (e.kind) {
    case "number":
      return longLiteral(e.value);
    case "string":
      return stringLiteral(truncate(e.value, g.limits.MAXSTRINGLEN));
    case "group":
      return `(${emitExpr(g, e.inner, unused)})`;
    case "ident": {
      const sym = e.sym as GlobalSym | LocalSym | undefined;
      if (!sym) return g.fail(`unresolved symbol '${e.name}'`, e.pos);
      if (sym.kind === "global" && sym.keyTypes) return g.fail(`array '${e.name}' used as a scalar`, e.pos);
      return sym.jsName;
    }
    case "binary":
      return emitBinary(g, e);
    case "logical":
      return `(${emitCond(g, e)} ? 1 : 0)`;
    case "unary": {
      if (e.op === "-" && e.operand.kind === "number") return longLiteral(-e.operand.value);
      const o = emitExpr(g, e.operand);
      switch (e.op) {
        case "!":
          return `(${emitCond(g, e.operand)} ? 0 : 1)`;
        case "-":
          return `$neg(${o})`;
        case "~":
          return `$bnot(${o})`;
        default:
          return o;
      }
    }
    case "ternary":
      return `(${emitCond(g, e.cond)} ? ${emitExpr(g, e.then)} : ${emitExpr(g, e.else)})`;
    case "assign":
      return emitAssign(g, e);
    case "crement":
      return emitCrement(g, e, unused);
    case "regex": {
      const pat = e.pattern.kind === "string" ? e.pattern.value : undefined;
      if (pat === undefined) return g.fail("regular expression must be a string literal", e.pattern.pos);
      const problem = regexProblem(pat);
      if (problem) return g.fail(`invalid regular expression: ${problem}`, e.pattern.pos);
      const re = g.constant("$RE", `$R.regex(${stringLiteral(pat)})`);
      const m = `$match(${emitExpr(g, e.subject)}, ${re})`;
      return e.op === "=~" ? m : `(${m} ? 0 : 1)`;
    }
    case "in":
      return emitIn(g, e);
    case "index":
      return emitIndex(g, e);
    case "call":
      return emitCall(g, e, unused);
    case "statop":
      return emitStatOp(g, e);
    case "hist":
      return g.fail("a histogram can only be printed, indexed or iterated", e.pos);
    case "wildcard":
      return g.fail("'*' is only allowed as an array index in foreach, delete and 'in'", e.pos);
    case "target":
    case "target-vars":
      return emitTarget(g, e, (x) => emitExpr(g, x));
    case "cast":
    case "atvar":
      return g.fail(`${e.kind === "cast" ? "@cast" : "@var"} needs the target's debug information (DWARF types), which tstap does not read yet`, e.pos);
    case "entry":
      return g.fail("@entry(...) needs a return probe that saves values at entry, which tstap does not have yet", e.pos);
    case "defined":
      return emitDefined(g, e);
    case "const":
      return g.fail(`@const("${e.name}") needs kernel headers, which tstap does not use`, e.pos);
    case "probewrite":
      return g.fail("@probewrite is not supported", e.pos);
    case "embedded-expr":
      return g.fail("embedded C is not supported: tstap has no kernel module to run it", e.pos);
    case "machine-access":
      // refused in pass 2 (resolve.ts); a program reaching here is a tstap bug
      return g.fail(`@${e.op} is not supported`, e.pos);
  }
}

function truncate(s: string, maxStringLen: number): string {
  return s.length >= maxStringLen ? s.slice(0, maxStringLen - 1) : s;
}

function emitBinary(g: Gen, e: BinaryExpr): string {
  const l = emitExpr(g, e.left);
  const r = emitExpr(g, e.right);
  if (e.op === ".") return `$cat(${l}, ${r})`;
  const cmp = compareOps[e.op];
  if (cmp) return `(${l} ${cmp} ${r} ? 1 : 0)`;
  if (e.op === "/" || e.op === "%") {
    const near = g.near(operatorAt(e.op, e.pos));
    return `${e.op === "/" ? "$div" : "$mod"}(${l}, ${r}, ${near})`;
  }
  const fn = arith[e.op];
  if (!fn) return g.fail(`operator '${e.op}' not supported`, e.pos);
  return `${fn}(${l}, ${r})`;
}

/** The combining helper of a compound assignment (`+=` → $add), with the rvalue's error site for `/=`. */
function combine(g: Gen, op: string, cur: string, val: string, rvalue: Expr): string {
  const base = op.slice(0, -1);
  if (base === ".") return `$cat(${cur}, ${val})`;
  if (base === "/" || base === "%") return `${base === "/" ? "$div" : "$mod"}(${cur}, ${val}, ${g.near(firstToken(rvalue))})`;
  return `${arith[base]}(${cur}, ${val})`;
}

/** How to read and write one array element: keys evaluated once into temporaries. */
interface ElementAccess {
  /** code evaluating the keys into temporaries (ends with ", " when non-empty) */
  prep: string;
  get: string;
  set: (val: string) => string;
  /** `<<< val`, `times` of them at once when given */
  addStat: (val: string, times?: string) => string;
}

function elementAccess(g: Gen, e: IndexExpr): ElementAccess | undefined {
  const sym = g.globalOf(e.array);
  if (!sym || !sym.keyTypes) {
    g.fail("only global arrays can be indexed", e.pos);
    return undefined;
  }
  const a = sym.jsName;
  // stap names the array's own token (`a` of `a[k]`)
  const near = g.near(identifierAt(sym.name, e.array.pos));
  if (e.indices.length !== sym.keyTypes.length) {
    g.fail(`array '${sym.name}' has ${sym.keyTypes.length} keys, indexed with ${e.indices.length}`, e.pos);
    return undefined;
  }
  if (sym.keyTypes.length === 1) {
    const k = e.indices[0]!;
    const simple = k.kind === "number" || k.kind === "string" || (k.kind === "ident" && (k.sym as LocalSym | undefined)?.kind === "local");
    const kc = emitExpr(g, k);
    if (simple) {
      return { prep: "", get: `${a}.get(${kc})`, set: (v) => `${a}.set(${kc}, ${v}, ${near})`, addStat: (v, n) => `${a}.addStat(${kc}, ${v}, ${near}${n ? `, ${n}` : ""})` };
    }
    const t = g.temp();
    return { prep: `${t} = ${kc}, `, get: `${a}.get(${t})`, set: (v) => `${a}.set(${t}, ${v}, ${near})`, addStat: (v, n) => `${a}.addStat(${t}, ${v}, ${near}${n ? `, ${n}` : ""})` };
  }
  const ts = e.indices.map(() => g.temp());
  const prep = e.indices.map((k, i) => `${ts[i]} = ${emitExpr(g, k)}, `).join("");
  const ck = g.temp();
  const prepAll = `${prep}${ck} = ${compositeKeyCode(ts)}, `;
  const keys = `[${ts.join(", ")}]`;
  return {
    prep: prepAll,
    get: `${a}.get(${ck})`,
    set: (v) => `${a}.set(${ck}, ${keys}, ${v}, ${near})`,
    addStat: (v, n) => `${a}.addStat(${ck}, ${keys}, ${v}, ${near}${n ? `, ${n}` : ""})`,
  };
}

export function compositeKeyCode(parts: string[]): string {
  return `("" + ${parts.join(' + "\\0" + ')})`;
}

function emitAssign(g: Gen, e: AssignExpr): string {
  const target = e.target.kind === "group" ? e.target.inner : e.target;
  if (target.kind === "ident") {
    const sym = target.sym as GlobalSym | LocalSym | undefined;
    if (!sym) return g.fail(`unresolved symbol '${target.name}'`, target.pos);
    const v = sym.jsName;
    const val = emitExpr(g, e.value);
    if (e.op === "<<<") return `$statAdd(${v}, ${val})`;
    if (e.op === "=") return `(${v} = ${val})`;
    // stap evaluates the right side before it reads the variable (`g += f()`
    // where f changes g); a literal or a variable cannot change it
    const rhs = e.value.kind === "group" ? e.value.inner : e.value;
    if (rhs.kind === "number" || rhs.kind === "string" || rhs.kind === "ident") return `(${v} = ${combine(g, e.op, v, val, e.value)})`;
    const t = g.temp();
    return `(${t} = ${val}, ${v} = ${combine(g, e.op, v, t, e.value)})`;
  }
  if (target.kind === "index") {
    const acc = elementAccess(g, target);
    if (!acc) return "undefined";
    if (e.op === "<<<") {
      const val = emitExpr(g, e.value);
      return `(${acc.prep}${acc.addStat(val)})`;
    }
    if (e.op === "=") {
      const val = emitExpr(g, e.value);
      return `(${acc.prep}${acc.set(val)})`;
    }
    // stap evaluates the keys, then the right side, then reads the element
    const t = g.temp();
    const val = emitExpr(g, e.value);
    return `(${acc.prep}${t} = ${val}, ${acc.set(combine(g, e.op, acc.get, t, e.value))})`;
  }
  return g.fail("invalid assignment target", e.target.pos);
}

/**
 * `x <<< v` done `times` times at once (`times` a JS expression): how a
 * probe counted in the kernel applies its hits (count-only.ts).
 */
export function emitStatAddTimes(g: Gen, e: AssignExpr, times: string): string {
  const target = e.target.kind === "group" ? e.target.inner : e.target;
  const val = emitExpr(g, e.value);
  if (target.kind === "index") {
    const acc = elementAccess(g, target);
    return acc ? `(${acc.prep}${acc.addStat(val, times)})` : "undefined";
  }
  return `$R.stats.statAddTimes(${statObject(g, target)}, ${val}, ${times})`;
}

function emitCrement(g: Gen, e: CrementExpr, unused: boolean): string {
  const fn = e.op === "++" ? "$add" : "$sub";
  const target = e.operand.kind === "group" ? e.operand.inner : e.operand;
  if (target.kind === "ident") {
    const sym = target.sym as GlobalSym | LocalSym | undefined;
    if (!sym) return g.fail(`unresolved symbol '${target.name}'`, target.pos);
    const v = sym.jsName;
    if (e.prefix || unused) return `(${v} = ${fn}(${v}, 1))`;
    const t = g.temp();
    return `(${t} = ${v}, ${v} = ${fn}(${t}, 1), ${t})`;
  }
  if (target.kind === "index") {
    const acc = elementAccess(g, target);
    if (!acc) return "undefined";
    if (e.prefix || unused) return `(${acc.prep}${acc.set(`${fn}(${acc.get}, 1)`)})`;
    const t = g.temp();
    return `(${acc.prep}${t} = ${acc.get}, ${acc.set(`${fn}(${t}, 1)`)}, ${t})`;
  }
  return g.fail("invalid increment target", e.operand.pos);
}

/** Slice pattern for `[*, k]`: undefined stands for `*`. */
function slicePattern(g: Gen, indices: Expr[]): string | undefined {
  if (!indices.some((k) => k.kind === "wildcard")) return undefined;
  return `[${indices.map((k) => (k.kind === "wildcard" ? "undefined" : emitExpr(g, k))).join(", ")}]`;
}

function emitIn(g: Gen, e: InExpr): string {
  const arr = e.array.kind === "group" ? e.array.inner : e.array;
  const sym = g.globalOf(arr);
  if (!sym || !sym.keyTypes) return g.fail("'in' needs a global array", e.array.pos);
  const a = sym.jsName;
  const pattern = slicePattern(g, e.keys);
  if (pattern) {
    if (sym.keyTypes.length === 1) return `(${a}.size > 0 ? 1 : 0)`;
    return `(${a}.hasMatching(${pattern}) ? 1 : 0)`;
  }
  if (e.keys.length !== sym.keyTypes.length) return g.fail(`array '${sym.name}' has ${sym.keyTypes.length} keys`, e.pos);
  const key = e.keys.length === 1 ? emitExpr(g, e.keys[0]!) : compositeKeyCode(e.keys.map((k) => emitExpr(g, k)));
  return `(${a}.has(${key}) ? 1 : 0)`;
}

/** The statistic an expression names: a stats scalar or one element of a stats array (may be undefined at run time). */
export function statObject(g: Gen, e: Expr): string {
  const x = e.kind === "group" ? e.inner : e;
  if (x.kind === "ident") {
    const sym = x.sym as GlobalSym | LocalSym | undefined;
    if (!sym || sym.type !== "stats") return g.fail("expected a statistic", x.pos);
    return sym.jsName;
  }
  if (x.kind === "index") {
    const sym = g.globalOf(x.array);
    if (!sym || !sym.keyTypes || sym.type !== "stats") return g.fail("expected an element of a statistics array", x.pos);
    const key = x.indices.length === 1 ? emitExpr(g, x.indices[0]!) : compositeKeyCode(x.indices.map((k) => emitExpr(g, k)));
    return `${sym.jsName}.stat(${key})`;
  }
  return g.fail("expected a statistic", x.pos);
}

function emitStatOp(g: Gen, e: StatOpExpr): string {
  const s = statObject(g, e.operand);
  const near = g.near(operatorAt("@" + e.op, e.pos));
  switch (e.op) {
    case "count":
      return `$statCount(${s})`;
    case "sum":
      return `$statSum(${s})`;
    case "variance": {
      const shift = e.args[0] ? literalNumber(e.args[0]) : 0n;
      if (shift === undefined || shift < 0n || shift > 62n) return g.fail("@variance's bit shift must be a literal number 0..62", e.args[0]!.pos);
      const x = e.operand.kind === "group" ? e.operand.inner : e.operand;
      const sym = g.globalOf(x.kind === "index" ? x.array : x);
      if (sym && shift !== 0n) g.statUse(sym).varianceShift = Number(shift);
      return `$statVariance(${s}, ${near})`;
    }
    default:
      return `$stat_${e.op}(${s}, ${near})`;
  }
}

function literalNumber(a: Expr): bigint | undefined {
  if (a.kind === "number") return a.value;
  if (a.kind === "group") return literalNumber(a.inner);
  if (a.kind === "unary" && a.op === "-") {
    const v = literalNumber(a.operand);
    return v === undefined ? undefined : -v;
  }
  return undefined;
}

/** Records that a stats global keeps the histogram `h` asks for; returns the JS constant of its spec. */
export function noteHist(g: Gen, h: HistExpr): string {
  const x = h.operand.kind === "group" ? h.operand.inner : h.operand;
  const base = x.kind === "index" ? x.array : x;
  const sym = g.globalOf(base);
  let spec: string;
  if (h.hist === "log") spec = '{ type: "log" }';
  else {
    const nums = h.args.map(literalNumber);
    if (nums.length !== 3 || nums.some((n) => n === undefined)) return g.fail("@hist_linear needs three literal numbers: start, stop, interval", h.pos);
    const [start, stop, interval] = nums as bigint[];
    const problem = validateLinear(Number(start), Number(stop), Number(interval));
    if (problem) return g.fail(problem, h.pos);
    spec = `{ type: "linear", start: ${start}, stop: ${stop}, interval: ${interval} }`;
  }
  if (sym) g.statUse(sym).hists.set(spec, spec);
  return g.constant("$H", spec);
}

function emitIndex(g: Gen, e: IndexExpr): string {
  const base = e.array.kind === "group" ? e.array.inner : e.array;
  if (base.kind === "hist") {
    const spec = noteHist(g, base);
    if (e.indices.length !== 1) return g.fail("a histogram takes one bucket index", e.pos);
    const near = g.near(operatorAt("@hist_" + base.hist, base.pos));
    return `$histBucket(${statObject(g, base.operand)}, ${spec}, ${emitExpr(g, e.indices[0]!)}, ${near})`;
  }
  const sym = g.globalOf(base);
  if (!sym || !sym.keyTypes) return g.fail("only global arrays can be indexed", e.pos);
  if (sym.type === "stats") return g.fail("a statistics array element can only be used with <<< and @count/@sum/...", e.pos);
  if (e.indices.length !== sym.keyTypes.length) return g.fail(`array '${sym.name}' has ${sym.keyTypes.length} keys, indexed with ${e.indices.length}`, e.pos);
  if (e.indices.length === 1) return `${sym.jsName}.get(${emitExpr(g, e.indices[0]!)})`;
  return `${sym.jsName}.get(${compositeKeyCode(e.indices.map((k) => emitExpr(g, k)))})`;
}

function emitCall(g: Gen, e: CallExpr, unused: boolean): string {
  // read at the event by the kernel (the probe family made it a fetch argument)
  const read = g.reads?.get(e);
  if (read) {
    const value = emitRead(g, read, false, e, (x) => emitExpr(g, x));
    // an address a script function returns: the function still runs, then the read (fetched at the event) is the value
    return isUserRead(e) && e.args[0] && runsFunctions(e.args[0]) ? `(${emitExpr(g, e.args[0])}, ${value})` : value;
  }
  // the function's copy for this call, its reads fetched at the probe's event (function-reads.ts)
  const copy = g.calls?.get(e);
  if (copy) return `${copy.jsName}(${e.args.map((a) => emitExpr(g, a)).join(", ")})`;
  const sym = e.sym as FunctionGroup | NativeSym | undefined;
  // a user function may shadow a builtin's name; anything else named like one is the builtin
  if (isBuiltin(e.name) && sym?.kind !== "function-group") return emitBuiltin(g, e, unused);
  if (!sym) return g.fail(`unresolved function '${e.name}'`, e.pos);
  const args = e.args.map((a) => emitExpr(g, a));
  if (sym.kind !== "function-group") {
    // a function runs after the event, on values, unless a probe that fetches
    // its reads calls it (then it is that probe's copy, above): the read would
    // fail at run time, so it fails here (DESIGN decision 1)
    if (g.fn && isUserRead(e)) {
      const call = g.calledAt;
      return g.fail(
        `${e.name}() reads the traced program's memory, which tstap can only do at the event: ${g.fn.name}() is called${call ? ` at ${call.pos.file}:${call.pos.line}:${call.pos.col}` : ""} where no event fetches it (only process(...).function and .mark probes fetch user memory, for calls in their own handler), so it would run after the event`,
        e.pos,
      );
    }
    const near = g.near(identifierAt(e.name, e.pos));
    const fn = g.constant("$nat_", `$R.native(${stringLiteral(sym.name)}, ${args.length}, ${near})`);
    return `${fn}(${args.join(", ")})`;
  }
  if (sym.overloads.length === 1 && !sym.overloads[0]!.usesNext) return `${sym.overloads[0]!.jsName}(${args.join(", ")})`;
  return `$fg_${sym.overloads[0]!.jsName}(${[...args, g.near(identifierAt(e.name, e.pos))].join(", ")})`;
}
