// What a uprobe handler reads from the traced program, turned into fetch
// arguments of its event (DESIGN decision 1), following the x86-64 SysV ABI:
//   returnval(), $return              $retval
//   int_arg(N) ... pointer_arg(N)     %di %si %dx %cx %r8 %r9, then $stackK (N > 6)
//   register("rax"), u_register(...)  %ax ... (32-bit names read the low half)
//   uaddr()                           %ip
//   user_string(A), user_long(A) ...  +OFF(A):ustring / :s64 ..., A being one of
//                                     the above, A ± constant, or user_long(A)
// A user_* read of anything else (a pointer kept in a global by another
// probe) cannot be done at the event: a compile error at the call says so.

import type { CallExpr, Expr } from "../parse/ast.js";
import type { ResolvedProbe } from "../elaborate/program.js";
import { exprChildren, walk } from "../elaborate/walk.js";
import type { FetchArg, FetchType } from "../../runtime/event-def.js";
import type { FilterField } from "../translate/filter-pushdown.js";
import type { EventPlanner, VariableRead } from "./family.js";
import type { UprobePoint } from "./uprobe.js";

const ARG_REGS = ["%di", "%si", "%dx", "%cx", "%r8", "%r9"];

const ARG_TYPES: Readonly<Record<string, FetchType>> = {
  int_arg: "s32",
  uint_arg: "u32",
  long_arg: "s64",
  ulong_arg: "u64",
  longlong_arg: "s64",
  ulonglong_arg: "u64",
  s32_arg: "s32",
  u32_arg: "u32",
  s64_arg: "s64",
  u64_arg: "u64",
  pointer_arg: "u64",
};

/** user_* readers of integers: the fetch type of the value at the address. */
export const USER_INTS: Readonly<Record<string, FetchType>> = {
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

export const USER_STRINGS: ReadonlySet<string> = new Set(["user_string", "user_string_warn", "user_string_quoted", "user_string_n", "user_string_n_quoted", "user_string2"]);

/** Registers by the names register()/u_register() take: the tracefs name and the width read. */
function registerFetch(name: string): { reg: string; bits: 64 | 32 } | undefined {
  const r64 = /^r(ax|bx|cx|dx|si|di|bp|sp|ip|8|9|1[0-5])$/.exec(name);
  if (r64) return { reg: `%${/^\d/.test(r64[1]!) ? "r" + r64[1] : r64[1]}`, bits: 64 };
  const r32 = /^e(ax|bx|cx|dx|si|di|bp|sp)$/.exec(name);
  if (r32) return { reg: `%${r32[1]}`, bits: 32 };
  const rN = /^r(8|9|1[0-5])d$/.exec(name);
  if (rN) return { reg: `%r${rN[1]}`, bits: 32 };
  return undefined;
}

export interface UprobeReads {
  fetchArgs: FetchArg[];
  /** expressions of the handler read from the event's fields */
  reads: Map<Expr, VariableRead>;
  /** the fields a filter may test, and the expressions they stand for */
  filterFields: Map<string, FilterField>;
  filterReads: Map<Expr, FilterField>;
}

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

/** Expression node kinds (walk also hands over statements). */
const EXPR_KINDS = new Set(["number", "string", "ident", "wildcard", "target-vars", "const", "embedded-expr", "target", "binary", "logical", "unary", "crement", "assign", "ternary", "regex", "in", "index", "call", "statop", "hist", "cast", "atvar", "entry", "probewrite", "defined", "group"]);

const FIELD_BITS: Record<string, number> = { s8: 1, u8: 1, s16: 2, u16: 2, s32: 4, u32: 4, s64: 8, u64: 8, x8: 1, x16: 2, x32: 4, x64: 8 };

/**
 * The fetch arguments `probe`'s handler needs at `p`, and which of its
 * expressions read them; undefined after reporting an error.
 */
export function lowerUprobeReads(p: UprobePoint, probe: ResolvedProbe, planner: EventPlanner): UprobeReads | undefined {
  const out: UprobeReads = { fetchArgs: [], reads: new Map(), filterFields: new Map(), filterReads: new Map() };
  let failed = false;
  const byFetch = new Map<string, FetchArg>();

  const arg = (base: string, fetch: string, type: FetchType): FetchArg => {
    const key = `${fetch}:${type}`;
    let a = byFetch.get(key);
    if (!a) {
      let name = base;
      for (let n = 2; out.fetchArgs.some((x) => x.name === name); n++) name = `${base}${n}`;
      a = { name, fetch, type, scriptType: type === "string" || type === "ustring" ? "string" : "long" };
      byFetch.set(key, a);
      out.fetchArgs.push(a);
    }
    return a;
  };
  const readOf = (a: FetchArg, post?: { quote?: boolean; maxLength?: number }): VariableRead => ({
    kind: "field",
    field: a.name,
    shape: a.scriptType === "string" ? "string" : "int",
    pretty: a.scriptType === "string" ? "s" : a.type.startsWith("u") ? "u" : "i",
    ...(post ? { post } : {}),
  });
  const use = (e: Expr, a: FetchArg, post?: { quote?: boolean; maxLength?: number }): void => {
    out.reads.set(e, readOf(a, post));
    if (a.scriptType === "long") {
      const f: FilterField = { name: a.name, kind: "int", size: FIELD_BITS[a.type] ?? 8, signed: a.type.startsWith("s") };
      out.filterFields.set(a.name, f);
      out.filterReads.set(e, f);
    }
  };
  const fail = (message: string, e: Expr): undefined => {
    if (!failed) planner.fail(message, e.pos);
    failed = true;
    return undefined;
  };

  /** A probe-time value: its fetch expression, name stem and type; undefined when it is not one. */
  const value = (e0: Expr): { fetch: string; stem: string; type: FetchType } | undefined => {
    const e = strip(e0);
    if (e.kind === "target" && e.name === "return" && p.at === "return" && e.steps.length === 0 && e.pretty === "" && !e.addressOf) return { fetch: "$retval", stem: "retval", type: "s64" };
    if (e.kind !== "call" || !isContextCall(e)) return undefined;
    if (e.name === "returnval" && e.args.length === 0 && p.at === "return") return { fetch: "$retval", stem: "retval", type: "s64" };
    if (e.name === "uaddr" && e.args.length === 0) return { fetch: "%ip", stem: "uaddr", type: "u64" };
    const argType = ARG_TYPES[e.name];
    if (argType && e.args.length === 1 && p.at !== "return") {
      const n = literal(e.args[0]);
      if (n === undefined || n < 1n || n > 32n) return fail(`${e.name}() takes the argument's number as a literal from 1 to 32 (it is read when the function is entered)`, e.args[0]!);
      const fetch = n <= 6n ? ARG_REGS[Number(n) - 1]! : `$stack${Number(n) - 6}`;
      return { fetch, stem: `arg${n}`, type: argType };
    }
    if ((e.name === "register" || e.name === "u_register") && e.args.length === 1) {
      const r = strip(e.args[0]!);
      const reg = r.kind === "string" ? registerFetch(r.value) : undefined;
      if (!reg) return fail(`${e.name}() takes an x86-64 register name as a literal ("rax", "rdi", "r8", "eax" ...)`, e.args[0]!);
      const signed = e.name === "register";
      return { fetch: reg.reg, stem: (r as { value: string }).value, type: reg.bits === 64 ? (signed ? "s64" : "u64") : signed ? "s32" : "u32" };
    }
    return undefined;
  };

  /** An address in the traced program: OFF and the fetch it is relative to, for `+OFF(BASE)`. */
  const address = (e0: Expr, depth = 0): { base: string; off: bigint; stem: string } | undefined => {
    const e = strip(e0);
    if (depth > 8) return undefined;
    if (e.kind === "binary" && (e.op === "+" || e.op === "-")) {
      const k = literal(e.right) ?? (e.op === "+" ? literal(e.left) : undefined);
      const other = literal(e.right) !== undefined ? e.left : e.right;
      if (k === undefined) return undefined;
      const inner = address(other, depth + 1);
      return inner && { ...inner, off: inner.off + (e.op === "-" ? -k : k) };
    }
    const v = value(e);
    if (v) return { base: v.fetch, off: 0n, stem: v.stem };
    // a pointer read from memory: user_long(A) → +OFF(A)
    if (e.kind === "call" && isContextCall(e) && (e.name === "user_long" || e.name === "user_ulong" || e.name === "user_uint64" || e.name === "user_int64") && e.args.length === 1) {
      const inner = address(e.args[0]!, depth + 1);
      return inner && { base: deref(inner), off: 0n, stem: `p_${inner.stem}` };
    }
    return undefined;
  };
  const deref = (a: { base: string; off: bigint }): string => `${a.off < 0n ? "-" : "+"}${a.off < 0n ? -a.off : a.off}(${a.base})`;

  const visit = (e: Expr): void => {
    if (failed || out.reads.has(e)) return;
    if (e.kind === "target" && e.name === "return" && p.at === "return") {
      const v = value(e);
      if (v) use(e, arg(v.stem, v.fetch, v.type));
      return;
    }
    if (e.kind !== "call" || !isContextCall(e)) return;
    // what the point itself says
    if (e.args.length === 0 && (e.name === "probefunc" || e.name === "ppfunc")) return void out.reads.set(e, { kind: "constant", value: p.function });
    if (e.args.length === 0 && e.name === "probemod") return void out.reads.set(e, { kind: "constant", value: p.module });
    if (e.args.length === 0 && e.name === "is_return") return void out.reads.set(e, { kind: "constant", value: p.at === "return" ? 1n : 0n });
    if (USER_STRINGS.has(e.name) || Object.prototype.hasOwnProperty.call(USER_INTS, e.name)) {
      const a = e.args[0] ? address(e.args[0]) : undefined;
      if (!a) {
        fail(`${e.name}() reads the traced program's memory, which tstap can only do at the event, from a value the probe has then (an argument, a register, the return value): read it in that probe, e.g. ${e.name}(pointer_arg(1)), not from a value kept from elsewhere`, e);
        return;
      }
      if (USER_STRINGS.has(e.name)) {
        const post: { quote?: boolean; maxLength?: number } = {};
        if (e.name.includes("quoted")) post.quote = true;
        if (e.name.startsWith("user_string_n")) {
          const n = literal(e.args[1]);
          if (n === undefined || n < 0n) return void fail(`${e.name}() takes the length as a literal number`, e.args[1] ?? e);
          post.maxLength = Number(n);
        }
        // stap: user_string() errors on a bad address, _warn warns and gives "<unknown>",
        // user_string(addr, "default") gives the default; the quoted forms give "<unknown>"
        const dflt = e.name === "user_string" || e.name === "user_string2" ? e.args[1] : e.name === "user_string_n" ? e.args[2] : undefined;
        const dv = dflt ? strip(dflt) : undefined;
        if (dflt && dv?.kind !== "string") return void fail(`${e.name}()'s default must be a literal string`, dflt);
        const fault = dv?.kind === "string" ? { fn: e.name, mode: "default" as const, default: dv.value }
          : e.name === "user_string_warn" ? { fn: e.name, mode: "warn" as const }
          : e.name.includes("quoted") ? { fn: e.name, mode: "default" as const, default: "<unknown>" }
          : { fn: e.name, mode: "error" as const };
        use(e, arg(`str_${a.stem}`, deref(a), "ustring"), Object.keys(post).length ? post : undefined);
        const r = out.reads.get(e);
        if (r?.kind === "field") r.fault = fault;
      } else use(e, arg(`${e.name.replace(/^user_/, "")}_${a.stem}`, deref(a), USER_INTS[e.name]!));
      return;
    }
    const v = value(e);
    if (v) use(e, arg(v.stem, v.fetch, v.type));
  };

  // outermost first: user_string(pointer_arg(1)) is one fetch, not two
  const consumed = new Set<Expr>();
  const consume = (e: Expr): void => {
    for (const c of exprChildren(e)) {
      consumed.add(c);
      consume(c);
    }
  };
  const visitTree = (root: Parameters<typeof walk>[0]): void =>
    walk(root, (n) => {
      const e = n as Expr;
      if (consumed.has(e) || !EXPR_KINDS.has(e.kind)) return;
      visit(e);
      if (out.reads.has(e)) consume(e);
    });
  visitTree(probe.body);
  if (probe.condition) visitTree(probe.condition);
  return failed ? undefined : out;
}

/** A call of the runtime's context function, not a script function of that name. */
function isContextCall(e: CallExpr): boolean {
  const sym = e.sym as { kind?: string } | undefined;
  return sym === undefined || sym.kind === "native";
}
