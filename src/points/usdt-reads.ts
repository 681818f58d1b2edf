// What a USDT handler reads at the event, as fetch arguments of each call
// site's uprobe (DESIGN decision 1):
//   $argN                      the note's form for that site (`%bx`, `-144(%bp)`,
//                              `\42`, `@+0x8859aa`) as its size and sign say
//   $$parms, $$vars            every $argN
//   user_string($argN + K)     `+K(FORM):ustring`; user_long/user_int/... the same
//                              with their integer type; user_long(...) nests
// Call sites of one marker differ in forms, not in field names: the handler
// reads `arg1` whichever site fired.

import type { CallExpr, Expr } from "../parse/ast.js";
import type { ResolvedProbe } from "../elaborate/program.js";
import { walk, exprChildren, type Node } from "../elaborate/walk.js";
import type { FetchArg, FetchType } from "../../runtime/event-def.js";
import type { FilterField } from "../translate/filter-pushdown.js";
import type { EventPlanner, VariableRead } from "./family.js";
import { argFetchType, argProblem, type UsdtPoint } from "./usdt.js";
import { literal, strip, USER_INTS, USER_STRINGS } from "./uprobe-fetch.js";

const POINTERS = new Set(["user_long", "user_ulong", "user_int64", "user_uint64"]);
const BYTES: Record<string, number> = { s8: 1, u8: 1, s16: 2, u16: 2, s32: 4, u32: 4, s64: 8, u64: 8 };

/** A value the kernel fetches: `$argN` read through `derefs` levels of `+OFF(...)`. */
interface Access {
  arg: number;
  /** offsets of each dereference, innermost first */
  offsets: bigint[];
}

interface Field {
  name: string;
  access: Access;
  /** undefined: the argument's own type (its note's size and sign) */
  type?: FetchType;
}

export interface MarkerReads {
  reads: Map<Expr, VariableRead>;
  /** call site K's fetch arguments (same names at every site) */
  fetchArgsAt(k: number): FetchArg[];
  filterFieldsAt(k: number): Map<string, FilterField>;
  filterReadsAt(k: number): Map<Expr, FilterField>;
}

/** A call of the runtime's function, not a script function of that name. */
function isNative(e: CallExpr): boolean {
  const sym = e.sym as { kind?: string } | undefined;
  return sym === undefined || sym.kind === "native";
}

function argNumber(e: Expr, p: UsdtPoint): number | undefined {
  const x = strip(e);
  if (x.kind !== "target" || x.steps.length > 0 || x.addressOf) return undefined;
  const m = /^arg([1-9][0-9]*)$/.exec(x.name);
  if (!m || Number(m[1]) > p.argCount) return undefined;
  return Number(m[1]);
}

function offsetText(n: bigint): string {
  return n < 0n ? `-${-n}` : `+${n}`;
}

/** `probe`'s reads at `p`; undefined after reporting an error. */
export function lowerMarkerReads(p: UsdtPoint, probe: ResolvedProbe, planner: EventPlanner): MarkerReads | undefined {
  const fields: Field[] = [];
  const reads = new Map<Expr, VariableRead>();
  const filterBy = new Map<Expr, string>();
  let failed = false;
  const fail = (message: string, e: Expr): void => {
    if (!failed) planner.fail(message, e.pos);
    failed = true;
  };
  const field = (stem: string, access: Access, type: FetchType | undefined): Field => {
    const key = `${access.arg}/${access.offsets.join(",")}/${type ?? ""}`;
    const known = fields.find((f) => `${f.access.arg}/${f.access.offsets.join(",")}/${f.type ?? ""}` === key);
    if (known) return known;
    let name = stem;
    for (let n = 2; fields.some((f) => f.name === name); n++) name = `${stem}_${n}`;
    const f: Field = { name, access, ...(type ? { type } : {}) };
    fields.push(f);
    return f;
  };
  const needArg = (n: number, e: Expr): boolean => {
    const problem = argProblem(p, n);
    if (problem !== undefined) fail(problem, e);
    return problem === undefined;
  };

  /** an address in the traced program: $argN ± K, or user_long(ADDRESS) ± K */
  const address = (e0: Expr, depth = 0): Access | undefined => {
    const e = strip(e0);
    if (depth > 8) return undefined;
    if (e.kind === "binary" && (e.op === "+" || e.op === "-")) {
      const k = literal(e.right) ?? (e.op === "+" ? literal(e.left) : undefined);
      if (k === undefined) return undefined;
      const inner = address(literal(e.right) !== undefined ? e.left : e.right, depth + 1);
      if (!inner) return undefined;
      const offsets = [...inner.offsets];
      // the pending offset is the last one, applied at the next dereference
      offsets.push((offsets.pop() ?? 0n) + (e.op === "-" ? -k : k));
      return { arg: inner.arg, offsets };
    }
    const n = argNumber(e, p);
    if (n !== undefined) return needArg(n, e) ? { arg: n, offsets: [0n] } : undefined;
    if (e.kind === "call" && isNative(e) && POINTERS.has(e.name) && e.args.length === 1) {
      const inner = address(e.args[0]!, depth + 1);
      return inner && { arg: inner.arg, offsets: [...inner.offsets, 0n] };
    }
    return undefined;
  };

  const consumed = new Set<Node>();
  const consume = (e: Expr): void => {
    for (const c of exprChildren(e)) {
      consumed.add(c);
      consume(c);
    }
  };
  const visit = (n: Node): void => {
    if (failed || consumed.has(n)) return;
    const e = n as Expr;
    if (e.kind === "target-vars" && (e.which === "parms" || e.which === "vars")) {
      const names: string[] = [];
      for (let k = 1; k <= p.argCount; k++) {
        if (!needArg(k, e)) return;
        names.push(field(`arg${k}`, { arg: k, offsets: [] }, undefined).name);
      }
      // a marker without arguments: stap's $$parms is empty
      if (names.length === 0) reads.set(e, { kind: "constant", value: "" });
      else if (e.pretty === "") reads.set(e, { kind: "fields", fields: names });
      return;
    }
    if (e.kind === "target") {
      const k = argNumber(e, p);
      if (k !== undefined && needArg(k, e)) filterBy.set(e, field(`arg${k}`, { arg: k, offsets: [] }, undefined).name);
      return;
    }
    if (e.kind !== "call" || !isNative(e)) return;
    const isString = USER_STRINGS.has(e.name);
    if (!isString && !Object.prototype.hasOwnProperty.call(USER_INTS, e.name)) return;
    const a = e.args[0] ? address(e.args[0]) : undefined;
    if (failed) return;
    if (!a) {
      fail(`${e.name}() reads the traced program's memory, which tstap can only do at the event, from a marker argument: ${e.name}($arg1), ${e.name}($arg2 + 8), ${e.name}(user_long($arg1))`, e);
      return;
    }
    consume(e);
    if (isString) {
      const post: { quote?: boolean; maxLength?: number } = {};
      if (e.name.includes("quoted")) post.quote = true;
      if (e.name.startsWith("user_string_n")) {
        const len = literal(e.args[1]);
        if (len === undefined || len < 0n) return fail(`${e.name}() takes the length as a literal number`, e.args[1] ?? e);
        post.maxLength = Number(len);
      }
      // a bad address does what it does in stap (as in uprobe-fetch.ts): an error, a warning, or the default
      const dflt = e.name === "user_string" || e.name === "user_string2" ? e.args[1] : e.name === "user_string_n" ? e.args[2] : undefined;
      const dv = dflt ? strip(dflt) : undefined;
      if (dflt && dv?.kind !== "string") return fail(`${e.name}()'s default must be a literal string`, dflt);
      const fault =
        dv?.kind === "string"
          ? { fn: e.name, mode: "default" as const, default: dv.value }
          : e.name === "user_string_warn"
            ? { fn: e.name, mode: "warn" as const }
            : e.name.includes("quoted")
              ? { fn: e.name, mode: "default" as const, default: "<unknown>" }
              : { fn: e.name, mode: "error" as const };
      const f = field(`str_arg${a.arg}`, a, "ustring");
      reads.set(e, { kind: "field", field: f.name, shape: "string", pretty: "s", fault, ...(Object.keys(post).length ? { post } : {}) });
      return;
    }
    const type = USER_INTS[e.name]!;
    const f = field(`${e.name.replace(/^user_/, "")}_arg${a.arg}`, a, type);
    reads.set(e, { kind: "field", field: f.name, shape: "int", pretty: type.startsWith("u") ? "u" : "i" });
    filterBy.set(e, f.name);
  };
  walk(probe.body, visit);
  if (probe.condition) walk(probe.condition, visit);
  if (failed) return undefined;

  const at = (k: number): FetchArg[] =>
    fields.map((f) => {
      const a = p.sites[k]!.args[f.access.arg - 1]!;
      let fetch = a.fetch!;
      for (const off of f.access.offsets) fetch = `${offsetText(off)}(${fetch})`;
      const type = f.type ?? argFetchType(a);
      return { name: f.name, fetch, type, scriptType: type === "ustring" || type === "string" ? "string" : "long" };
    });
  const filterFieldsAt = (k: number): Map<string, FilterField> => {
    const m = new Map<string, FilterField>();
    for (const a of at(k)) if (a.scriptType === "long" && BYTES[a.type] !== undefined) m.set(a.name, { name: a.name, kind: "int", size: BYTES[a.type] ?? 8, signed: a.type.startsWith("s") });
    return m;
  };
  return {
    reads,
    fetchArgsAt: at,
    filterFieldsAt,
    filterReadsAt: (k) => {
      const ff = filterFieldsAt(k);
      const m = new Map<Expr, FilterField>();
      for (const [e, name] of filterBy) {
        const f = ff.get(name);
        if (f) m.set(e, f);
      }
      return m;
    },
  };
}
