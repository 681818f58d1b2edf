// Reads of the traced program's memory (tapset::uconversions: user_string,
// user_long, ... and their _warn, _error and default-value forms) lowered
// into fetch arguments of the event, for every family whose events fetch
// them (uprobe-fetch.ts, usdt-reads.ts). A family names its probe-time
// values (leaves: a register, $retval, a USDT argument); an address is a
// leaf read through dereferences (`user_long(pointer_arg(1) + 8) - 16`),
// and each call becomes fields of the event plus how a fault reads.
//
// Faults, as this kernel (6.18) records them: a number's fetch gives 0 when
// its own read faults but keeps the per-CPU buffer's stale bytes when an
// inner dereference faults, and neither is marked in the record; a string
// fetch that faults at any level is recorded with length 0. So each number
// read has a companion `ustring` fetch of its last byte, and the read
// faulted iff that string did. (The last byte is the most significant one:
// 0 in small numbers and user-space pointers, so the companion is usually
// just the NUL.) A value may lie across two pages: one whose first bytes
// are unmapped and whose last byte is not reads 0 with a readable last
// byte. That 0 is the plain forms' answer anyway; the _error and _warn
// forms, which must tell the fault, also fetch a companion at the first
// byte (a longer string when the value has no NUL byte: only those forms
// pay it), and the read faulted iff either companion did.
// What a fault gives is stap 4.8's: 0 from the plain number reads, an error
// from user_*_error and user_string, a warning and 0 (or "") from the _warn
// forms, the default of the default forms, the address from the quoted ones.
// user_buffer_quoted reads bytes, NULs included, and tells a fault its own
// way (bufferFields, below).

import type { CallExpr, Expr } from "../parse/ast.js";
import type { FetchType } from "../../runtime/event-def.js";
import type { FilterField } from "../translate/filter-pushdown.js";
import type { VariableRead, UserReadFault } from "./family.js";
import type { LocalLookup, LocalValue } from "./local-values.js";

/** The expression inside any parentheses. */
export const strip = (e: Expr): Expr => (e.kind === "group" ? strip(e.inner) : e);

/** A (negated) number literal's value. */
export function literal(e: Expr | undefined): bigint | undefined {
  if (!e) return undefined;
  const x = strip(e);
  if (x.kind === "number") return x.value;
  if (x.kind === "unary" && x.op === "-") {
    const v = literal(x.operand);
    return v === undefined ? undefined : -v;
  }
  return undefined;
}

/** A call of the runtime's function, not a script function of that name. */
export function isNativeCall(e: CallExpr): boolean {
  const sym = e.sym as { kind?: string } | undefined;
  return sym === undefined || sym.kind === "native";
}

/** user_* readers of integers: the fetch type of the value at the address. */
const USER_INTS: Readonly<Record<string, FetchType>> = {
  user_long: "s64",
  user_ulong: "u64",
  user_int: "s32",
  user_uint: "u32",
  user_short: "s16",
  user_ushort: "u16",
  user_char: "s8",
  user_int8: "s8",
  user_uint8: "u8",
  user_int16: "s16",
  user_uint16: "u16",
  user_int32: "s32",
  user_uint32: "u32",
  user_int64: "s64",
  user_uint64: "u64",
};

/** The _warn forms stap has, and their warnings (%p: the address). */
const INT_WARNINGS: Readonly<Record<string, string>> = {
  user_char: "user char copy fault at %p [man error::fault]",
  user_short: "user short copy fault %p [man error::fault]",
  user_ushort: "user unsigned short copy fault %p [man error::fault]",
  user_int: "user int copy fault %p [man error::fault]",
  user_long: "user long copy fault %p [man error::fault]",
  user_ulong: "user unsigned long copy fault %p [man error::fault]",
};

const READ_FAULT = "read fault [man error::fault] at 0x%x";
const STRING_FAULT = "user string copy fault -14 at 0x%x [man error::fault]";

/** One user_* function at one arity: what it reads and what a fault gives. */
interface UserFn {
  /** the integer read; undefined: a string */
  type?: FetchType;
  mode: UserReadFault["mode"];
  text?: string;
  /** argument positions of the length, the default (or warning) string */
  lengthArg?: number;
  fallbackArg?: number;
  quote?: boolean;
  /** user_buffer_quoted: (addr, inlen, outlen), NULs included */
  buffer?: boolean;
}

const USER_FNS: ReadonlyMap<string, UserFn> = (() => {
  const m = new Map<string, UserFn>();
  for (const [name, type] of Object.entries(USER_INTS)) {
    m.set(`${name}/1`, { type, mode: "zero" });
    // stap has no user_uint, so no user_uint_error either
    if (name !== "user_uint") m.set(`${name}_error/1`, { type, mode: "error", text: READ_FAULT });
    const w = INT_WARNINGS[name];
    if (w) m.set(`${name}_warn/1`, { type, mode: "warn", text: w });
  }
  const s = (names: string[], f: UserFn): void => names.forEach((n) => m.set(n, f));
  s(["user_string/1"], { mode: "error", text: STRING_FAULT });
  s(["user_string/2", "user_string2/2"], { mode: "default", fallbackArg: 1 });
  s(["user_string_n/2"], { mode: "error", text: STRING_FAULT, lengthArg: 1 });
  s(["user_string_n/3", "user_string_n2/3"], { mode: "default", lengthArg: 1, fallbackArg: 2 });
  s(["user_string_nofault/1"], { mode: "default" });
  s(["user_string_n_nofault/2"], { mode: "default", lengthArg: 1 });
  s(["user_string_warn/1"], { mode: "warn", text: STRING_FAULT });
  s(["user_string_warn/2", "user_string2_warn/2"], { mode: "warn", text: STRING_FAULT, fallbackArg: 1 });
  s(["user_string_n_warn/2"], { mode: "warn", text: STRING_FAULT, lengthArg: 1 });
  s(["user_string_n_warn/3", "user_string2_n_warn/3"], { mode: "warn", text: STRING_FAULT, lengthArg: 1, fallbackArg: 2 });
  s(["user_string_quoted/1"], { mode: "address", quote: true });
  s(["user_string_n_quoted/2"], { mode: "address", quote: true, lengthArg: 1 });
  s(["user_buffer_quoted/3"], { mode: "address", buffer: true });
  s(["user_buffer_quoted_error/3"], { mode: "error", text: "Unable to access user space data at 0x%x", buffer: true });
  return m;
})();

const userFn = (e: CallExpr): UserFn | undefined => (isNativeCall(e) ? USER_FNS.get(`${e.name}/${e.args.length}`) : undefined);

/** Whether `e` reads the traced program's memory (a user_* function the lowering takes). */
export function isUserRead(e: CallExpr): boolean {
  return userFn(e) !== undefined;
}

/**
 * The arguments of a user_* call that its fetch takes in (the address, the
 * literal lengths): the others (user_buffer_quoted's inlen and outlen, which
 * may be any expression) are evaluated in the handler, so the family lowers
 * what they read on its own.
 */
export function userReadOperands(e: CallExpr): readonly Expr[] {
  return userFn(e)?.buffer ? e.args.slice(0, 1) : e.args;
}

/** Reads of 8 bytes: what `user_long(A)` nests through as a pointer. */
const POINTERS = new Set(["user_long", "user_ulong", "user_int64", "user_uint64", "user_long_error", "user_ulong_error", "user_int64_error", "user_uint64_error"]);

const BYTES: Readonly<Record<string, number>> = { s8: 1, u8: 1, s16: 2, u16: 2, s32: 4, u32: 4, s64: 8, u64: 8 };

/** The filter field of a number fetched as `type`; undefined for other types (strings, bitfields). */
export function numberFilterField(name: string, type: FetchType): FilterField | undefined {
  const size = BYTES[type];
  return size === undefined ? undefined : { name, kind: "int", size, signed: type.startsWith("s") };
}

/** A probe-time value: `key` is the family's handle on it (a fetch like `%di`, a USDT argument's `arg3`). */
export interface Leaf {
  key: string;
  stem: string;
  /** its own type; undefined: the family's (a USDT argument's size and sign at each call site) */
  type?: FetchType;
}

/** A leaf read through `offsets.length` dereferences (`+OFF(...)`), innermost first. */
export interface MemPath {
  leaf: Leaf;
  offsets: readonly bigint[];
}

/** One fetch argument of the event, before the family renders its fetch. */
export interface PathField {
  name: string;
  path: MemPath;
  /** undefined: the leaf's own type */
  type?: FetchType;
}

/** `path`'s fetch, around the leaf's (`+8(+0(%si))`). */
export function renderPath(path: MemPath, leafFetch: string): string {
  let fetch = leafFetch;
  for (const off of path.offsets) fetch = `${off < 0n ? "-" : "+"}${off < 0n ? -off : off}(${fetch})`;
  return fetch;
}

export const isStringType = (t: FetchType | undefined): boolean => t === "string" || t === "ustring";

/** An event's fetch arguments, each one once, named uniquely. */
export class EventFields {
  readonly list: PathField[] = [];
  private readonly byKey = new Map<string, PathField>();

  field(stem: string, path: MemPath, type: FetchType | undefined): PathField {
    const key = `${path.leaf.key}/${path.offsets.join(",")}/${type ?? ""}`;
    let f = this.byKey.get(key);
    if (!f) {
      let name = stem;
      for (let n = 2; this.list.some((x) => x.name === name); n++) name = `${stem}_${n}`;
      f = { name, path, ...(type ? { type } : {}) };
      this.byKey.set(key, f);
      this.list.push(f);
    }
    return f;
  }
}

export interface UserReadContext {
  fields: EventFields;
  /** the probe-time value `e` is, if it is one (a family reports its own errors through fail) */
  leaf(e: Expr): Leaf | undefined;
  /** what the locals of the body being lowered hold where they are read (local-values.ts) */
  locals: LocalLookup;
  fail(message: string, e: Expr, notes?: string[]): void;
  failed(): boolean;
  /** the error for an address that is not probe-time data: how to read it in this family */
  notAtEvent(fn: string): string;
  /** MAXSTRINGLEN: a user buffer read takes at most MAXSTRINGLEN-1 bytes, as stap's */
  maxStringLen: number;
}

export interface UserRead {
  read: VariableRead;
  /** the field a probe filter may test for the call (a number read nothing can make stale) */
  filter?: PathField;
}

const stemOf = (p: MemPath): string => "p_".repeat(Math.max(0, p.offsets.length - 1)) + p.leaf.stem;

/** The local whose value made an address not probe-time data, and why (the innermost such assignment). */
interface Blame {
  value: LocalValue;
  why: string;
}

/** What the local `e` holds here, if it is a local read (a `p` of `user_long(p)`). */
function localValue(locals: LocalLookup, e: Expr): LocalValue | undefined {
  return e.kind === "ident" ? locals.get(e) : undefined;
}

/** A literal, or a local that certainly holds one (`off = 8`, a parameter given 8). */
function constant(locals: LocalLookup, e0: Expr, depth = 0): bigint | undefined {
  const k = literal(e0);
  if (k !== undefined || depth > 8) return k;
  const v = localValue(locals, strip(e0));
  return v?.kind === "expr" ? constant(v.in ?? locals, v.expr, depth + 1) : undefined;
}

/** A literal string, or a local that certainly holds one (a parameter given the default of user_string2). */
function constantString(locals: LocalLookup, e0: Expr, depth = 0): string | undefined {
  const e = strip(e0);
  if (e.kind === "string") return e.value;
  const v = depth > 8 ? undefined : localValue(locals, e);
  return v?.kind === "expr" ? constantString(v.in ?? locals, v.expr, depth + 1) : undefined;
}

/** What an assignment's value is, for an error that blames it. */
function describe(e0: Expr): string {
  const e = strip(e0);
  if (e.kind === "index" && e.array.kind === "ident") return `from the array ${e.array.name}`;
  if (e.kind === "ident" && (e.sym as { kind?: string } | undefined)?.kind === "global") return `from the global ${e.name}`;
  if (e.kind === "call") return isNativeCall(e) ? `from ${e.name}(), which is not a value the probe has at the event` : `from the return of the function ${e.name}()`;
  if (e.kind === "number" || e.kind === "string") return "a constant";
  return "from an expression tstap computes in the handler, after the event";
}

/**
 * `e` as an address in the traced program: a leaf ± constants, through
 * pointer reads, and through locals that hold such an expression; `blame`
 * gets the assignment that made a local's value not one.
 */
function addressOf(cx: UserReadContext, e0: Expr, blame: { at?: Blame }, depth = 0, locals: LocalLookup = cx.locals): MemPath | undefined {
  const e = strip(e0);
  if (depth > 16) return undefined;
  // a local, or a call of a function's copy that returns one value (`user_string(field(p))`)
  const local = localValue(locals, e) ?? (e.kind === "call" && !isNativeCall(e) ? locals.call?.(e) : undefined);
  if (local) {
    if (local.kind === "unknown") {
      blame.at ??= { value: local, why: local.why };
      return undefined;
    }
    const r = addressOf(cx, local.expr, blame, depth + 1, local.in ?? locals);
    const what = describe(local.expr);
    const verb = local.passed ? `is passed (to ${local.passed.name}())` : local.returned ? (what.startsWith("from") ? "returns a value" : "returns") : "is assigned";
    if (!r && !cx.failed()) blame.at ??= { value: local, why: `${verb} ${what}` };
    return r;
  }
  if (e.kind === "binary" && (e.op === "+" || e.op === "-")) {
    const right = constant(locals, e.right);
    const k = right ?? (e.op === "+" ? constant(locals, e.left) : undefined);
    if (k === undefined) {
      // an offset in a local of no one value (a loop's counter) is the one to blame
      const off = localValue(locals, strip(e.right));
      if (off?.kind === "unknown") blame.at ??= { value: off, why: off.why };
      return undefined;
    }
    const inner = addressOf(cx, right !== undefined ? e.left : e.right, blame, depth + 1, locals);
    if (!inner) return undefined;
    // the pending offset is the last one, applied at the next dereference
    const offsets = [...inner.offsets];
    offsets.push((offsets.pop() ?? 0n) + (e.op === "-" ? -k : k));
    return { leaf: inner.leaf, offsets };
  }
  if (e.kind === "call" && isNativeCall(e) && POINTERS.has(e.name) && e.args.length === 1) {
    const inner = addressOf(cx, e.args[0]!, blame, depth + 1, locals);
    return inner && { leaf: inner.leaf, offsets: [...inner.offsets, 0n] };
  }
  const leaf = cx.leaf(e);
  return leaf && { leaf, offsets: [0n] };
}

/**
 * The reads of a user_* call `e` (undefined when it is not one, or after
 * reporting an error): its fields, added to `cx.fields`, and how the
 * handler reads them.
 */
export function lowerUserRead(cx: UserReadContext, e: CallExpr): UserRead | undefined {
  const fn = userFn(e);
  if (!fn) return undefined;
  const blame: { at?: Blame } = {};
  const address = e.args[0] ? addressOf(cx, e.args[0], blame) : undefined;
  if (cx.failed()) return undefined;
  if (!address) {
    const b = blame.at;
    if (!b) cx.fail(cx.notAtEvent(e.name), e);
    else {
      const at = b.value.pos;
      const verb = b.value.kind === "expr" && b.value.passed ? "passed" : b.value.name.endsWith("()") ? "returned" : "assigned";
      cx.fail(`${cx.notAtEvent(e.name)}; here \`${b.value.name}\` ${b.why}`, e, at && [`${verb} at: ${at.file}:${at.line}:${at.col}`]);
    }
    return undefined;
  }
  let maxLength: number | undefined;
  if (fn.lengthArg !== undefined) {
    const n = e.args[fn.lengthArg] && constant(cx.locals, e.args[fn.lengthArg]!);
    if (n === undefined || n < 0n) return void cx.fail(`${e.name}() takes the length as a literal number`, e.args[fn.lengthArg] ?? e);
    maxLength = Number(n);
  }
  let fallback: string | undefined;
  if (fn.fallbackArg !== undefined) {
    fallback = constantString(cx.locals, e.args[fn.fallbackArg]!);
    if (fallback === undefined) return void cx.fail(`${e.name}()'s ${fn.mode === "warn" ? "warning" : "default"} must be a literal string`, strip(e.args[fn.fallbackArg]!));
  }

  const { fields } = cx;
  const offsets = address.offsets;
  const last = offsets[offsets.length - 1]!;
  const at = (delta: bigint): MemPath => ({ leaf: address.leaf, offsets: [...offsets.slice(0, -1), last + delta] });
  const stem = stemOf(address);
  const buffer = fn.buffer ? bufferFields(cx, e, stem, at) : undefined;
  const value = buffer
    ? fields.list.find((f) => f.name === buffer.chunks[0])!
    : fn.type
      ? fields.field(`${e.name.replace(/^user_|_(error|warn)$/g, "")}_${stem}`, address, fn.type)
      : fields.field(`str_${stem}`, address, "ustring");
  const size = fn.type ? BYTES[fn.type]! : 0;
  const check = fn.type ? fields.field(`${value.name}_ok`, at(BigInt(size - 1)), "ustring") : undefined;
  // a fault the script must hear of: the first byte's page too (a value across a mapping's start)
  const told = fn.mode === "error" || fn.mode === "warn";
  const checkFirst = check && told && size > 1 ? fields.field(`${value.name}_ok0`, address, "ustring") : undefined;

  const fault: UserReadFault = { fn: e.name, mode: fn.mode };
  if (check) fault.check = checkFirst ? `${check.name} ${checkFirst.name}` : check.name;
  if (fn.text) fault.text = fn.text;
  if (fallback !== undefined) fault.fallback = fallback;
  if (maxLength !== undefined) fault.maxLength = maxLength;
  if (fn.quote) fault.quote = true;
  if (buffer) fault.buffer = buffer;
  if (fn.mode === "error" || fn.mode === "warn" || fn.mode === "address") {
    // the address, for the message: the base value (0 if its own read faulted) plus the offset
    const base: MemPath = { leaf: address.leaf, offsets: offsets.slice(0, -1) };
    const baseField = base.offsets.length === 0 ? fields.field(address.leaf.stem, base, address.leaf.type) : fields.field(`p_${stemOf(base)}`, base, "u64");
    const baseCheck = base.offsets.length === 0 ? undefined : fields.field(`${baseField.name}_ok`, { leaf: base.leaf, offsets: [...base.offsets.slice(0, -1), base.offsets[base.offsets.length - 1]! + 7n] }, "ustring");
    fault.address = { field: baseField.name, offset: last, ...(baseCheck ? { check: baseCheck.name } : {}) };
  }
  const read: VariableRead = fn.type
    ? { kind: "field", field: value.name, shape: "int", pretty: fn.type.startsWith("u") ? "u" : "i", fault }
    : { kind: "field", field: value.name, shape: "string", pretty: "s", fault };
  // a plain read of one dereference gives 0 on a fault in the kernel as in stap; deeper ones may be stale
  const filterable = fn.type !== undefined && fn.mode === "zero" && offsets.length === 1;
  return filterable ? { read, filter: value } : { read };
}

/** The most bytes one user_buffer_quoted call fetches (a ring-buffer page holds the whole event). */
const MAX_BUFFER_BYTES = 2048;

/** The elements of one buffer fetch: 8 bytes each, at most 64 of them (the kernel's MAX_ARRAY_LEN). */
const CHUNK_BYTES = 8 * 64;

/**
 * user_buffer_quoted's fields: the bytes as u64[N] fetches of 512 bytes
 * each (8-byte elements: an eighth of the user-memory reads u8[64] makes),
 * and two companion strings that tell a fault.
 *
 * How many bytes: stap reads at most MAXSTRINGLEN-1 (its text_str caps
 * inlen there, and inlen <= 0 means that cap), and with a literal outlen at
 * most the output room plus one more (multi-byte) character, 4 bytes; a
 * literal inlen bounds it too. A run-time inlen or outlen therefore fetches
 * MAXSTRINGLEN-1 bytes and is cut in the handler: exact, not a guess.
 *
 * Faults: the kernel reads each element with copy_from_user, so a faulted
 * byte reads 0 and the others are real. The bytes stap reads lie in at most
 * two pages (MAXSTRINGLEN is far below a page); a page is mapped iff one of
 * its bytes reads non-zero, or else its zero byte at the buffer's first
 * (last) position did not fault as a string: a ustring fetch of a readable
 * NUL is recorded with length 1, of an unreadable byte with length 0. So
 * `first` and `last` decide, exactly, with the address (the base field)
 * saying where the page boundary falls. A pointer read on the way
 * (`user_long(p)`) that faults leaves stale bytes: its own companion says
 * so. Not covered: a USDT argument that is itself a memory operand and
 * faults (the marker's own stack or data, which the program just used).
 */
function bufferFields(cx: UserReadContext, e: CallExpr, stem: string, at: (delta: bigint) => MemPath): NonNullable<UserReadFault["buffer"]> {
  const max = cx.maxStringLen - 1;
  const lit = (k: number): number | undefined => {
    const v = literal(e.args[k]);
    return v === undefined ? undefined : v > BigInt(1 << 30) ? 1 << 30 : v < -1n ? -1 : Number(v);
  };
  const inlen = lit(1);
  const outlen = lit(2);
  let bytes = inlen === undefined || inlen <= 0 || inlen > max ? max : inlen;
  if (outlen !== undefined) {
    const o = outlen <= 0 || outlen > max ? max : outlen;
    bytes = Math.min(bytes, Math.max(o, 5) - 2 + 4);
  }
  bytes = Math.max(1, bytes);
  // one event must fit a ring-buffer page, and the fault check above needs the bytes within two pages
  if (bytes > MAX_BUFFER_BYTES) {
    cx.fail(`${e.name}() may read ${bytes} bytes here, more than the ${MAX_BUFFER_BYTES} a kernel event can hold: give a literal inlen or outlen of at most ${MAX_BUFFER_BYTES}`, e);
    bytes = MAX_BUFFER_BYTES;
  }
  const chunks: string[] = [];
  for (let off = 0; off < bytes; off += CHUNK_BYTES) {
    const n = Math.ceil(Math.min(CHUNK_BYTES, bytes - off) / 8);
    chunks.push(cx.fields.field(`buf${chunks.length}_${stem}`, at(BigInt(off)), `u64[${n}]`).name);
  }
  const first = cx.fields.field(`buf_${stem}_ok0`, at(0n), "ustring").name;
  const last = cx.fields.field(`buf_${stem}_ok${bytes - 1}`, at(BigInt(bytes - 1)), "ustring").name;
  return { chunks, bytes, first, last };
}
