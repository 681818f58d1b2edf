// A probe family (DESIGN decision 8): the one owner of what its probe points
// are. Pass 2 asks it which points a written point matches and what
// variables they offer (for binding, @defined, types and -L alike); pass 3
// asks it which kernel events fire them; the runtime reads those events as
// the event definitions it produced say. A new family is a module
// implementing ProbeFamily, added to registry.ts's list, plus its cases.

import type { Diagnostic } from "../diagnostic.js";
import type { CallExpr, Expr, Pos, ProbeComponent } from "../parse/ast.js";
import type { ResolvedProbe } from "../elaborate/program.js";
import type { Trigger } from "../../runtime/unit.js";
import type { DynamicEventDef, EventDef, FetchArg, KernelDispatch, TracepointEventDef } from "../../runtime/event-def.js";
import type { FilterField, PushedFilter } from "../translate/filter-pushdown.js";
import type { Specialization } from "./function-reads.js";

/**
 * The resolved points of every family, by `kind`. Each family module adds
 * its own entry (`declare module "./family.js" { interface PointKinds {...} }`),
 * so the union below grows without this file changing.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface PointKinds {}

/** Where a probe attaches, after alias expansion and wildcard matching. */
export type ResolvedPoint = PointKinds[keyof PointKinds];

export interface PointMatch {
  point: ResolvedPoint;
  /** pp(): the concrete probe point text */
  pp: string;
}

/** `whyNone`: the error for a point its family claims but that matched nothing (unless optional) */
export type PointResult = { matches: PointMatch[]; whyNone?: Diagnostic } | { diagnostics: Diagnostic[] };

/** What resolving a point may depend on besides the point itself. */
export interface ResolveContext {
  /** kernel CONFIG_* values (CONFIG_HZ for jiffies) */
  kernelConfig: ReadonlyMap<string, string>;
  /** `-g`: guru mode (raw addresses, .statement(ADDR).absolute) */
  guru?: boolean;
}

export interface PointContext extends ResolveContext {
  /** the concrete text of the matched point (components joined) */
  text: string;
}

/** Values of a pattern's components, in order: a bigint, a string, or undefined (no argument). */
export type PointArgs = (bigint | string | undefined)[];

export type PointBuilder = (args: PointArgs, ctx: PointContext) => PointMatch | Diagnostic[];

/**
 * A fixed-shape point, e.g. "timer.ms(number).randomize(number)":
 * `number`/`string` name the argument a component takes, `number?` an
 * optional one.
 */
export interface PointPattern {
  pattern: string;
  build: PointBuilder;
}

export type ScriptType = "long" | "string";

/**
 * How `$var$` prints a value, as stap's pretty-printer prints its C type:
 * "i" signed decimal, "u" unsigned decimal, "s" a quoted string, "a" an
 * array (its first element, then `, ...`).
 */
export type PrettyKind = "i" | "u" | "s" | "a";

/** How a handler reads a variable out of its decoded event. */
export type VariableRead =
  /**
   * a field of the event record; an `int-array` field is read one element at
   * a time (`$args[i]`)
   */
  | {
      kind: "field";
      field: string;
      shape: "int" | "string" | "bytes" | "int-array";
      pretty: PrettyKind;
      /** a value fetched from the traced program's memory: how a fault (a bad address) reads */
      fault?: UserReadFault;
    }
  /** a fixed element of an array field (`$arg1` is args[0]) */
  | { kind: "element"; field: string; index: number; pretty: PrettyKind }
  /** known when the probe is lowered: probefunc() of a uprobe is its function's name */
  | { kind: "constant"; value: string | bigint }
  /** several fields as `name=0xHEX ...` (a USDT marker's $$parms) */
  | { kind: "fields"; fields: string[] };

/**
 * What a user_* read (user-reads.ts) gives when the address was not
 * readable at the event, as stap's `fn` does: "zero" 0, "error" raises
 * `text`, "warn" warns `text` and gives 0 or `fallback`, "default" gives
 * `fallback` (or ""), "address" the address as `0x%x`. In `text`, %x and
 * %p stand for the address.
 */
export interface UserReadFault {
  fn: string;
  mode: "zero" | "error" | "warn" | "default" | "address";
  text?: string;
  fallback?: string;
  /** the fields (blank-separated) one of which faulted iff the read did (a number's companion strings); default: the field itself */
  check?: string;
  /** for messages: the address is `field`'s value (0 when `check` faulted) + offset */
  address?: { field: string; check?: string; offset: bigint };
  /** a string read, when it did not fault: user_string_n's length, the _quoted forms' quoting */
  maxLength?: number;
  quote?: boolean;
  /**
   * user_buffer_quoted: the read is these int-array fields (u64 elements,
   * little-endian) joined and cut at `bytes`; `first` and `last` are
   * ustring companions at the buffer's first and last byte (user-reads.ts
   * says how they tell a fault)
   */
  buffer?: { chunks: string[]; bytes: number; first: string; last: string };
}

/** A `$name` a point offers. */
export interface TargetVariable {
  name: string;
  /** the script type `$name` reads as (an int-array's elements are longs) */
  type: ScriptType;
  /** the type -L shows (the C type where there is one) */
  display: string;
  read: VariableRead;
  /**
   * the fetch argument that records it, for dynamic events: pass 3 adds it
   * to the event only when a handler reads the variable
   */
  fetch?: FetchArg;
  /**
   * why the variable exists but cannot be read at this point (a USDT
   * argument form tracefs cannot fetch): an error where the script uses it
   */
  problem?: string;
}

/** `$$vars`, `$$parms`, `$$locals`, `$$return`. */
export type Bundle = "vars" | "parms" | "locals" | "return";

/**
 * What a point's context holds beyond its variables; context functions
 * that need one (context-functions.ts) are refused where it is missing.
 */
export type ContextOffer = "return-value" | "arguments" | "registers" | "user-address";

/** A probe being lowered: its resolved form, its handler id, pn(). */
export interface LoweringProbe {
  probe: ResolvedProbe;
  id: number;
  /** pn(): the point as written */
  pn: string;
}

/**
 * Pass 3's event plan as a family sees it (translate/events.ts): the
 * families name the events, the plan shares them between probes and
 * decides the filters, the task table and the pid selection.
 */
export interface EventPlanner {
  /** pass 3 is about to lower `probe` (the plan's own errors name its position) */
  lowering?(probe: ResolvedProbe): void;
  /** the tracepoint's event definition (shared by every probe on it); undefined when this kernel has no such tracepoint */
  tracepoint(system: string, event: string): TracepointEventDef | undefined;
  /** a dynamic event of this run's group, named uniquely by the plan (its `event` and GROUP_TOKEN filled in) */
  dynamic(def: Omit<DynamicEventDef, "kind" | "system" | "event" | "definition" | "probes" | "dispatch" | "tracksTasks" | "targetProcess" | "filter"> & { line: (event: string) => string }): DynamicEventDef;
  /** `probe` listens to `def`; returns the event's index (the first one is the probe's trigger) */
  listen(def: EventDef, dispatch: KernelDispatch, filter: PushedFilter | undefined): number;
  /**
   * the probe's pushable condition over `fields` (undefined under -u or when
   * nothing is pushable); `reads` are expressions of the probe the family
   * lowered to fields (`returnval()` as the field of `$retval`)
   */
  pushdown(probe: ResolvedProbe, fields: ReadonlyMap<string, FilterField>, reads?: ReadonlyMap<Expr, FilterField>): PushedFilter | undefined;
  /**
   * A user-space probe's selection in the kernel, with its own filter `own`:
   * with -c/-x, process probes are restricted to the target process and its
   * descendants (stapprobes(3stap)); a process(PID) probe records that
   * process (with its children: the kernel's pid selection follows forks,
   * the dispatcher keeps the process's own threads).
   */
  processScope(own: PushedFilter | undefined, pid: number | undefined): PushedFilter | undefined;
  /** a translate error at `pos` (notes: lines printed under it) */
  fail(message: string, pos: Pos, notes?: string[]): void;
  /** MAXSTRINGLEN (-D): what bounds a user buffer read */
  readonly maxStringLen: number;
}

/**
 * What pass 3 made of a probe: the trigger of its handler, and the
 * expressions of its body the family turned into reads of its event's
 * fields (`user_string($return)` fetched by the kernel as `+0($retval):ustring`,
 * `int_arg(1)` as `%di`); the code generator emits those reads instead.
 */
export interface Lowering {
  trigger: Trigger;
  reads?: ReadonlyMap<Expr, VariableRead>;
  /** calls of its body to script functions that read at the event, each to its own copy (function-reads.ts) */
  calls?: ReadonlyMap<CallExpr, Specialization>;
}

export interface ProbeFamily<P extends ResolvedPoint = ResolvedPoint> {
  /** for messages and -p3 */
  readonly name: string;
  /** the first components the family answers to ("similar:" suggestions) */
  readonly heads: readonly string[];
  /** fixed-shape points; matched by the registry in name order, as stap's match tree */
  readonly patterns?: readonly PointPattern[];
  /** the point shapes a family that matches points itself answers to, as patterns (`process(string).begin`), for --dump-probe-types */
  readonly shapes?: readonly string[];
  /** a family that matches points itself; undefined when the written point is not its */
  resolve?(components: readonly ProbeComponent[], pos: Pos, ctx: ResolveContext): PointResult | undefined;
  owns(point: ResolvedPoint): point is P;
  /** the variables a point offers, in the order -L and $$vars list them */
  variables(point: P): readonly TargetVariable[];
  /** the $$ bundles the point offers */
  bundles(point: P): readonly Bundle[];
  /** context a point offers beyond its variables (default: none) */
  offers?(point: P): readonly ContextOffer[];
  /** -L: what follows the point (default: its variables as ` $name:type`) */
  listing?(point: P): string;
  /** how pass 3 messages call a variable ("tracepoint variable") */
  readonly variableNoun?: string;
  /**
   * Pass 3: what fires the handler; event-driven families register their
   * events with `planner`. Undefined after `planner.fail`.
   */
  lower(point: P, probe: LoweringProbe, planner: EventPlanner): Lowering | undefined;
}

/** A family as the registry holds it (the point type erased). */
export type AnyFamily = ProbeFamily<ResolvedPoint>;

/** A family's own point type, for declaring one: `family<TimerPoint>({...})`. */
export function family<P extends ResolvedPoint>(f: ProbeFamily<P>): AnyFamily {
  return f as unknown as AnyFamily;
}
