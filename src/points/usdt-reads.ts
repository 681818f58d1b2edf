// What a USDT handler reads at the event, as fetch arguments of each call
// site's uprobe (DESIGN decision 1):
//   $argN                      the note's form for that site (`%bx`, `-144(%bp)`,
//                              `\42`, `@+0x8859aa`) as its size and sign say
//   $$parms, $$vars            every $argN
//   user_string($argN + K)     `+K(FORM):ustring`; user_long/user_int/... the same
//                              with their integer type; user_long(...) nests;
//                              `q = $arg1; user_string(q)` is the same read
//                              (user-reads.ts, shared with function probes)
// Call sites of one marker differ in forms, not in field names: the handler
// reads `arg1` whichever site fired.

import type { CallExpr, Expr } from "../parse/ast.js";
import type { ResolvedProbe } from "../elaborate/program.js";
import { walk, exprChildren, type Node } from "../elaborate/walk.js";
import type { FetchArg } from "../../runtime/event-def.js";
import type { FilterField } from "../translate/filter-pushdown.js";
import type { EventPlanner, VariableRead } from "./family.js";
import { argFetchType, argProblem, type UsdtPoint } from "./usdt.js";
import { ReadFrames, runsFunctions, type Specialization } from "./function-reads.js";
import { EventFields, isNativeCall, numberFilterField, isStringType, isUserRead, lowerUserRead, userReadOperands, renderPath, strip, type Leaf, type PathField, type UserReadContext } from "./user-reads.js";

export interface MarkerReads {
  reads: Map<Expr, VariableRead>;
  /** calls of the handler to functions specialized for it (function-reads.ts) */
  calls: Map<CallExpr, Specialization>;
  /** call site K's fetch arguments (same names at every site) */
  fetchArgsAt(k: number): FetchArg[];
  filterFieldsAt(k: number): Map<string, FilterField>;
  filterReadsAt(k: number): Map<Expr, FilterField>;
}

function argNumber(e: Expr, p: UsdtPoint): number | undefined {
  const x = strip(e);
  if (x.kind !== "target" || x.steps.length > 0 || x.addressOf) return undefined;
  const m = /^arg([1-9][0-9]*)$/.exec(x.name);
  if (!m || Number(m[1]) > p.argCount) return undefined;
  return Number(m[1]);
}

/** `$argN`: a leaf whose fetch and type each call site's note gives. */
const argLeaf = (n: number): Leaf => ({ key: `arg${n}`, stem: `arg${n}` });

/** `probe`'s reads at `p`; undefined after reporting an error. */
export function lowerMarkerReads(p: UsdtPoint, lp: { probe: ResolvedProbe; id: number }, planner: EventPlanner): MarkerReads | undefined {
  const frames = new ReadFrames(lp, (message, pos, notes) => planner.fail(message, pos, notes));
  const fields = new EventFields();
  const filterBy = new Map<Expr, PathField>();
  const fail = (message: string, e: Expr, notes?: string[]): void => frames.fail(message, e, notes);
  const needArg = (n: number, e: Expr): boolean => {
    const problem = argProblem(p, n);
    if (problem !== undefined) fail(problem, e);
    return problem === undefined;
  };
  const argField = (k: number): PathField => fields.field(`arg${k}`, { leaf: argLeaf(k), offsets: [] }, undefined);
  const cx: UserReadContext = {
    fields,
    get locals() {
      return frames.current.locals;
    },
    leaf: (e) => {
      const n = argNumber(e, p);
      return n !== undefined && needArg(n, e) ? argLeaf(n) : undefined;
    },
    fail,
    failed: () => frames.hasFailed(),
    maxStringLen: planner.maxStringLen,
    notAtEvent: (fn) => `${fn}() reads the traced program's memory, which tstap can only do at the event, from a marker argument: ${fn}($arg1), ${fn}($arg2 + 8), ${fn}(user_long($arg1))`,
  };

  let consumed = new Set<Node>();
  const consume = (e: Expr): void => {
    for (const c of exprChildren(e)) {
      consumed.add(c);
      consume(c);
    }
  };
  const visit = (n: Node): void => {
    const { reads } = frames.current;
    if (frames.hasFailed() || consumed.has(n)) return;
    const e = n as Expr;
    if (e.kind === "target-vars" && (e.which === "parms" || e.which === "vars")) {
      const names: string[] = [];
      for (let k = 1; k <= p.argCount; k++) {
        if (!needArg(k, e)) return;
        names.push(argField(k).name);
      }
      // a marker without arguments: stap's $$parms is empty
      if (names.length === 0) reads.set(e, { kind: "constant", value: "" });
      else if (e.pretty === "") reads.set(e, { kind: "fields", fields: names });
      return;
    }
    if (e.kind === "target") {
      const k = argNumber(e, p);
      if (k !== undefined && needArg(k, e) && frames.current === frames.probe) filterBy.set(e, argField(k));
      return;
    }
    if (e.kind !== "call" || !isNativeCall(e) || !isUserRead(e)) return;
    const r = lowerUserRead(cx, e);
    if (!r) return;
    // user_buffer_quoted's lengths are the handler's: what they read is lowered on its own
    // an address a function's copy returns is still computed in the handler (function-reads.ts)
    for (const a of userReadOperands(e))
      if (!runsFunctions(a)) {
        consumed.add(a);
        consume(a);
      }
    reads.set(e, r.read);
    if (r.filter && frames.current === frames.probe) filterBy.set(e, r.filter);
  };
  frames.run((root) => {
    // a function's body is walked once per copy
    consumed = new Set();
    walk(root, visit);
  });
  if (frames.hasFailed()) return undefined;

  const at = (k: number): FetchArg[] =>
    fields.list.map((f) => {
      const a = p.sites[k]!.args[Number(f.path.leaf.key.slice(3)) - 1]!;
      const type = f.type ?? argFetchType(a);
      return { name: f.name, fetch: renderPath(f.path, a.fetch!), type, scriptType: isStringType(type) ? "string" : "long" };
    });
  const filterFieldsAt = (k: number): Map<string, FilterField> => {
    const m = new Map<string, FilterField>();
    for (const a of at(k)) {
      const f = numberFilterField(a.name, a.type);
      if (f) m.set(a.name, f);
    }
    return m;
  };
  return {
    reads: frames.probe.reads,
    calls: frames.probe.calls,
    fetchArgsAt: at,
    filterFieldsAt,
    filterReadsAt: (k) => {
      const ff = filterFieldsAt(k);
      const m = new Map<Expr, FilterField>();
      for (const [e, pf] of filterBy) {
        const f = ff.get(pf.name);
        if (f) m.set(e, f);
      }
      return m;
    },
  };
}
