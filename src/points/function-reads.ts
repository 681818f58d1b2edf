// Script functions that read at the event (a user_* read, pointer_arg(N),
// returnval(), register(...), directly or through the functions they call),
// specialized per call: `function rd(p) { return user_long(p) }` called as
// rd(pointer_arg(1)) from a uprobe reads as if its body were written in the
// probe, its read a fetch argument of that probe's event (DESIGN decision 1).
// Each call from a probe (and each call inside a specialized body) gets its
// own copy of the function, whose parameters hold that call's arguments as
// the caller has them (local-values.ts); the copy runs in the handler like
// any function (MAXNESTING, MAXACTION, side effects in order), and reads
// the fields its reads became.
//
// What cannot be fetched once per event is refused, at the call: a
// recursion through a reading function (its reads would be unbounded), an
// overloaded one (which body runs is decided in the handler), and a read
// whose address is not probe-time data in this copy (a parameter given a
// value kept from another probe), with where the read is. A read under a
// condition or in a loop whose address stays the same is fetched at every
// event and used as often as the handler reaches it: the traced thread is
// stopped while stap's handler runs, so every one of stap's reads of that
// address sees what the event's one fetch saw (short of another thread of
// the program writing it between two of them: one fetch is one moment). A
// fetch under a condition that guards a bad address (`if (p) ...`) faults
// quietly when the handler does not reach it: a fault is only looked at
// where the read is evaluated. A read whose address changes
// in the loop is refused by local-values.ts ("is assigned in a loop").
// What a copy returns, when its every return gives one value, is an address
// like a local's (`user_string(field(p))`, `rd(rd(p))`); the copy still
// runs in the handler before the read. So is what a function that reads
// nothing returns (`user_long(add8(p))`), worked out on the spot: it is not
// copied, and runs as it is before the read.

import type { Block, CallExpr, Expr, Pos } from "../parse/ast.js";
import type { FunctionGroup, FunctionSym, LocalSym, ResolvedProbe } from "../elaborate/program.js";
import { walk, type Node } from "../elaborate/walk.js";
import type { VariableRead } from "./family.js";
import { contextFunctionNeed } from "./context-functions.js";
import { callReturn, localValues, type BodyValues, type LocalLookup, type LocalValue } from "./local-values.js";
import { isNativeCall, isUserRead } from "./user-reads.js";

/** One script function specialized for one call: its reads are fields of the calling probe's event. */
export interface Specialization {
  fn: FunctionSym;
  call: CallExpr;
  /** the JavaScript function of this copy */
  jsName: string;
  /** expressions of its body read from the event's fields */
  reads: Map<Expr, VariableRead>;
  /** calls in its body to functions specialized in turn */
  calls: Map<CallExpr, Specialization>;
}

/** A body being lowered: the probe's, or a specialized function's. */
export interface ReadFrame {
  reads: Map<Expr, VariableRead>;
  calls: Map<CallExpr, Specialization>;
  /** what its locals hold, and what its calls to copies return */
  locals: LocalLookup;
  /** the specializations from the probe down to this body, outermost first (empty: the probe) */
  chain: readonly Specialization[];
  root: Node[];
  /** the frames of its calls' copies */
  children: Map<CallExpr, ReadFrame>;
  /** what the body returns, when it is a copy whose returns all give one value */
  returned(): LocalValue | undefined;
}

const at = (pos: Pos): string => `${pos.file}:${pos.line}:${pos.col}`;

/** A native call the probe family reads at the event. */
function readsAtEventItself(e: Node): boolean {
  return e.kind === "call" && isNativeCall(e) && (isUserRead(e) || contextFunctionNeed(e.name) !== undefined);
}

/** The script functions a call may run (its group's overloads); none for a native. */
export function calledFunctions(e: Node): readonly FunctionSym[] {
  if (e.kind !== "call") return [];
  const sym = e.sym as FunctionGroup | { kind?: string } | undefined;
  return sym?.kind === "function-group" ? (sym as FunctionGroup).overloads : [];
}

const memo = new WeakMap<FunctionSym, boolean>();

/** Whether `f`, or a function it calls, reads at the event (and so is specialized per call from a probe). */
export function readsAtEvent(f: FunctionSym): boolean {
  let r = memo.get(f);
  if (r !== undefined) return r;
  // a plain search of the call graph from f (memoizing only f: a cycle's members are answered on their own)
  const seen = new Set<FunctionSym>();
  const search = (g: FunctionSym): boolean => {
    if (seen.has(g) || g.body.kind === "embedded-code") return false;
    seen.add(g);
    let found = false;
    walk(g.body, (n) => {
      if (found) return;
      if (readsAtEventItself(n)) found = true;
      else for (const h of calledFunctions(n)) if (!found && (memo.get(h) ?? search(h))) found = true;
    });
    return found;
  };
  r = search(f);
  memo.set(f, r);
  return r;
}

/** Whether `e` calls a script function that reads at the event. */
export function callsReader(e: Node): e is CallExpr {
  return calledFunctions(e).some(readsAtEvent);
}

/**
 * Whether `e` calls a script function (a copy, or one that reads nothing):
 * a read whose address it is still evaluates it in the handler, for what
 * the function does besides returning the address (its own reads' faults,
 * its side effects), before the read.
 */
export function runsFunctions(e: Expr): boolean {
  let found = false;
  walk(e, (n) => void (found ||= calledFunctions(n).length > 0));
  return found;
}

/**
 * A probe's body and the functions it calls that read at the event, each
 * specialized per call, lowered by one family: `run` hands the family each
 * body in turn, with `current` its frame (its reads, its locals).
 */
export class ReadFrames {
  readonly probe: ReadFrame;
  current: ReadFrame;
  private count = 0;
  private failed = false;

  constructor(
    private readonly lp: { probe: ResolvedProbe; id: number },
    private readonly report: (message: string, pos: Pos, notes?: string[]) => void,
  ) {
    const roots: Node[] = [lp.probe.body, ...(lp.probe.condition ? [lp.probe.condition] : [])];
    this.probe = this.newFrame(roots, [], () => localValues(lp.probe.body));
    this.current = this.probe;
  }

  hasFailed(): boolean {
    return this.failed;
  }

  /**
   * An error in the current body: in a specialized function, at the
   * probe's call (where it is given what it cannot read), with where in the
   * function and through which calls.
   */
  fail(message: string, e: Expr, notes: string[] = []): void {
    if (this.failed) return;
    this.failed = true;
    const chain = this.current.chain;
    if (chain.length === 0) return this.report(message, e.pos, notes);
    const through = chain.slice(1).map((s) => `calls ${s.fn.name}() at: ${at(s.call.pos)}`);
    this.report(message, chain[0]!.call.pos, [...through, `in ${chain[chain.length - 1]!.fn.name}() at: ${at(e.pos)}`, ...notes]);
  }

  /**
   * Lower the probe's body and condition with `lower`, then every copy
   * below them (all copies exist first: a read may take its address from
   * what a copy returns).
   */
  run(lower: (root: Node) => void): void {
    this.specializeBelow(this.probe);
    const visit = (frame: ReadFrame): void => {
      if (this.failed) return;
      this.current = frame;
      for (const r of frame.root) lower(r);
      frame.children.forEach((c) => visit(c));
    };
    if (!this.failed) visit(this.probe);
    this.current = this.probe;
  }

  /** A frame over `root`, its values worked out at the first question. */
  private newFrame(root: Node[], chain: readonly Specialization[], values: (self: LocalLookup) => BodyValues, spec?: Specialization): ReadFrame {
    let v: BodyValues | undefined;
    const frame: ReadFrame = {
      reads: spec?.reads ?? new Map(),
      calls: spec?.calls ?? new Map(),
      chain,
      root,
      children: new Map(),
      // a call of a copy returns what the copy does; of a function that reads nothing, what its body does
      locals: { get: (e) => (v ??= values(frame.locals)).uses.get(e), call: (c) => (frame.children.has(c) ? frame.children.get(c)!.returned() : callReturn(c, frame.locals)) },
      returned: () => (v ??= values(frame.locals)).returned,
    };
    return frame;
  }

  /** The copies `frame`'s calls run, and theirs, down to the last. */
  private specializeBelow(frame: ReadFrame): void {
    const calls: CallExpr[] = [];
    for (const r of frame.root) walk(r, (n) => void (callsReader(n) && calls.push(n)));
    for (const call of calls) {
      if (this.failed) return;
      this.current = frame;
      const spec = this.specialize(frame, call);
      if (!spec) continue;
      const params = new Map<LocalSym, LocalValue>();
      spec.fn.params.forEach((p, i) => {
        const arg = call.args[i]!;
        params.set(p, { kind: "expr", name: p.name, expr: arg, pos: arg.pos, in: frame.locals, passed: call });
      });
      const body = spec.fn.body as Block;
      const child = this.newFrame([body], [...frame.chain, spec], (self) => localValues(body, { name: spec.fn.name, params, self }), spec);
      frame.calls.set(call, spec);
      frame.children.set(call, child);
      this.specializeBelow(child);
    }
  }

  /** The copy of the function `call` runs, or an error saying why there is none. */
  private specialize(frame: ReadFrame, call: CallExpr): Specialization | undefined {
    const group = call.sym as FunctionGroup;
    const fn = group.overloads[0]!;
    const what = `${call.name}() reads the traced program's memory or registers, which tstap fetches at the event, once per read, as if the function's body were written in the probe`;
    if (group.overloads.length > 1 || fn.usesNext) {
      this.fail(`${what}; but ${call.name}() has several bodies (overloads, or \`next\`), and which one runs is only known in the handler: read in the probe and pass what it read`, call);
      return undefined;
    }
    const earlier = frame.chain.findIndex((s) => s.fn === fn);
    if (earlier >= 0 || frame.chain.length >= 32) {
      const loop = [...frame.chain.slice(Math.max(0, earlier)).map((s) => s.fn.name), fn.name].map((n) => `${n}()`).join(" -> ");
      this.fail(`${what}; but ${call.name}() calls itself (${loop}), so its reads have no fixed number: read in the probe and pass what it read`, call);
      return undefined;
    }
    if (fn.body.kind === "embedded-code") return undefined;
    return { fn, call, jsName: `${fn.jsName}$p${this.lp.id}_${this.count++}`, reads: new Map(), calls: new Map() };
  }
}
