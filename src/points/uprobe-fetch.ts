// What a uprobe handler reads from the traced program, turned into fetch
// arguments of its event (DESIGN decision 1), following the x86-64 SysV ABI:
//   returnval(), $return              $retval
//   int_arg(N) ... pointer_arg(N)     %di %si %dx %cx %r8 %r9, then $stackK (N > 6)
//   register("rax"), u_register(...)  %ax ... (32-bit names read the low half)
//   uaddr()                           %ip
//   user_string(A), user_long(A) ...  +OFF(A):ustring / :s64 ..., A being one of
//                                     the above, A ± constant, or user_long(A),
//                                     or a local holding one (`p = pointer_arg(1)`)
//                                     (user-reads.ts, shared with USDT markers)
// A user_* read of anything else (a pointer kept in a global by another
// probe) cannot be done at the event: a compile error at the call says so,
// naming the assignment of a local that made it so. Script functions that
// read any of these are specialized per call (function-reads.ts): their
// reads are this event's fields too.

import type { CallExpr, Expr } from "../parse/ast.js";
import type { ResolvedProbe } from "../elaborate/program.js";
import { exprChildren, walk } from "../elaborate/walk.js";
import type { FetchArg, FetchType } from "../../runtime/event-def.js";
import type { FilterField } from "../translate/filter-pushdown.js";
import type { EventPlanner, VariableRead } from "./family.js";
import type { UprobePoint } from "./uprobe.js";
import { ReadFrames, runsFunctions, type Specialization } from "./function-reads.js";
import { EventFields, isNativeCall, numberFilterField, isStringType, isUserRead, literal, lowerUserRead, userReadOperands, renderPath, strip, type Leaf, type PathField, type UserReadContext } from "./user-reads.js";

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
  /** calls of the handler to functions specialized for it */
  calls: Map<CallExpr, Specialization>;
  /** the fields a filter may test, and the expressions they stand for */
  filterFields: Map<string, FilterField>;
  filterReads: Map<Expr, FilterField>;
}

/** Expression node kinds (walk also hands over statements). */
const EXPR_KINDS = new Set(["number", "string", "ident", "wildcard", "target-vars", "const", "embedded-expr", "target", "binary", "logical", "unary", "crement", "assign", "ternary", "regex", "in", "index", "call", "statop", "hist", "cast", "atvar", "entry", "probewrite", "defined", "group"]);

/**
 * The fetch arguments `probe`'s handler needs at `p`, and which of its
 * expressions read them; undefined after reporting an error.
 */
export function lowerUprobeReads(p: UprobePoint, lp: { probe: ResolvedProbe; id: number }, planner: EventPlanner): UprobeReads | undefined {
  const frames = new ReadFrames(lp, (message, pos, notes) => planner.fail(message, pos, notes));
  const filterBy = new Map<Expr, PathField>();
  const fields = new EventFields();
  const fail = (message: string, e: Expr, notes?: string[]): undefined => void frames.fail(message, e, notes);

  /** A probe-time value: its fetch (the leaf's key), name stem and type; undefined when it is not one. */
  const leaf = (e0: Expr): Required<Leaf> | undefined => {
    const e = strip(e0);
    if (e.kind === "target" && e.name === "return" && p.at === "return" && e.steps.length === 0 && e.pretty === "" && !e.addressOf) return { key: "$retval", stem: "retval", type: "s64" };
    if (e.kind !== "call" || !isNativeCall(e)) return undefined;
    if (e.name === "returnval" && e.args.length === 0 && p.at === "return") return { key: "$retval", stem: "retval", type: "s64" };
    if (e.name === "uaddr" && e.args.length === 0) return { key: "%ip", stem: "uaddr", type: "u64" };
    const argType = ARG_TYPES[e.name];
    if (argType && e.args.length === 1 && p.at !== "return") {
      const n = literal(e.args[0]);
      if (n === undefined || n < 1n || n > 32n) return fail(`${e.name}() takes the argument's number as a literal from 1 to 32 (it is read when the function is entered)`, e.args[0]!);
      const key = n <= 6n ? ARG_REGS[Number(n) - 1]! : `$stack${Number(n) - 6}`;
      return { key, stem: `arg${n}`, type: argType };
    }
    if ((e.name === "register" || e.name === "u_register") && e.args.length === 1) {
      const r = strip(e.args[0]!);
      const reg = r.kind === "string" ? registerFetch(r.value) : undefined;
      if (!reg) return fail(`${e.name}() takes an x86-64 register name as a literal ("rax", "rdi", "r8", "eax" ...)`, e.args[0]!);
      const signed = e.name === "register";
      return { key: reg.reg, stem: (r as { value: string }).value, type: reg.bits === 64 ? (signed ? "s64" : "u64") : signed ? "s32" : "u32" };
    }
    return undefined;
  };
  const cx: UserReadContext = {
    fields,
    leaf,
    get locals() {
      return frames.current.locals;
    },
    fail,
    failed: () => frames.hasFailed(),
    maxStringLen: planner.maxStringLen,
    notAtEvent: (fn) =>
      `${fn}() reads the traced program's memory, which tstap can only do at the event, from a value the probe has then (an argument, a register, the return value): read it in that probe, e.g. ${fn}(pointer_arg(1)), not from a value kept from elsewhere`,
  };

  const visit = (e: Expr): void => {
    const { reads } = frames.current;
    if (frames.hasFailed() || reads.has(e)) return;
    if (e.kind === "call" && isNativeCall(e)) {
      // what the point itself says
      if (e.args.length === 0 && (e.name === "probefunc" || e.name === "ppfunc")) return void reads.set(e, { kind: "constant", value: p.function });
      if (e.args.length === 0 && e.name === "probemod") return void reads.set(e, { kind: "constant", value: p.module });
      if (e.args.length === 0 && e.name === "is_return") return void reads.set(e, { kind: "constant", value: p.at === "return" ? 1n : 0n });
      if (isUserRead(e)) {
        const r = lowerUserRead(cx, e);
        if (r) reads.set(e, r.read);
        if (r?.filter && frames.current === frames.probe) filterBy.set(e, r.filter);
        return;
      }
    } else if (e.kind !== "target") return;
    const v = leaf(e);
    if (!v) return;
    const f = fields.field(v.stem, { leaf: v, offsets: [] }, v.type);
    reads.set(e, { kind: "field", field: f.name, shape: "int", pretty: v.type.startsWith("u") ? "u" : "i" });
    if (frames.current === frames.probe) filterBy.set(e, f);
  };

  // outermost first: user_string(pointer_arg(1)) is one fetch, not two
  let consumed = new Set<Expr>();
  const consume = (e: Expr): void => {
    for (const c of exprChildren(e)) {
      consumed.add(c);
      consume(c);
    }
  };
  const visitTree = (root: Parameters<typeof walk>[0]): void => {
    // a function's body is walked once per copy
    consumed = new Set();
    walk(root, (n) => {
      const e = n as Expr;
      if (consumed.has(e) || !EXPR_KINDS.has(e.kind)) return;
      visit(e);
      if (!frames.current.reads.has(e)) return;
      // user_buffer_quoted's lengths are the handler's: what they read is lowered on its own
      if (e.kind === "call" && isUserRead(e)) {
        // an address a function's copy returns is still computed in the handler (function-reads.ts)
        for (const a of userReadOperands(e))
          if (!runsFunctions(a)) {
            consumed.add(a);
            consume(a);
          }
      } else consume(e);
    });
  };
  frames.run(visitTree);
  if (frames.hasFailed()) return undefined;

  const fetchArgs: FetchArg[] = fields.list.map((f) => {
    const type = f.type ?? f.path.leaf.type!;
    return { name: f.name, fetch: renderPath(f.path, f.path.leaf.key), type, scriptType: isStringType(type) ? "string" : "long" };
  });
  const filterFields = new Map<string, FilterField>();
  const filterReads = new Map<Expr, FilterField>();
  for (const [e, pf] of filterBy) {
    const f = numberFilterField(pf.name, pf.type ?? pf.path.leaf.type!);
    if (!f) continue;
    filterFields.set(f.name, f);
    filterReads.set(e, f);
  }
  return { fetchArgs, reads: frames.probe.reads, calls: frames.probe.calls, filterFields, filterReads };
}
