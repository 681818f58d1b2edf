// Pass 3's event plan: the families name the events their probes fire on
// (src/points/*, through the EventPlanner interface); this plan shares
// each event between its listeners, combines their pushed-down filters,
// adds the events the runtime's task table follows, and decides whether
// the instance can select the target process (set_event_pid).

import type { Expr, Pos } from "../parse/ast.js";
import type { Program, ResolvedProbe } from "../elaborate/program.js";
import { walkProgram } from "../elaborate/walk.js";
import type { DynamicEventDef, EventDef, KernelDispatch, TracepointEventDef } from "../../runtime/event-def.js";
import { CALLER_FIELD, GROUP_TOKEN } from "../../runtime/event-def.js";
import type { EventPlanner } from "../points/family.js";
import { readTracepointFormat } from "../targets/tracepoints.js";
import { readFileSync } from "node:fs";
import { combineFilters, type FilterField, type PushedFilter, pushdownProbe } from "./filter-pushdown.js";
import { CRED_CONTEXT, CRED_SYSCALLS, TASK_CONTEXT, TASK_EVENTS, taskEventsFor } from "./task-events.js";
import { USER_STACK_FUNCTIONS } from "../../runtime/user-stacks.js";
import { onForget } from "../../runtime/host-state.js";

export interface EventPlanOptions {
  unoptimized: boolean;
  hasTarget: boolean;
  maxStringLen: number;
  /** -D MAXUPROBES: dynamic events one run may define */
  maxDynamic?: number;
}

export class EventPlan implements EventPlanner {
  readonly events: EventDef[] = [];
  private readonly filters = new Map<EventDef, (PushedFilter | undefined)[]>();
  /** the tasks each tracepoint definition records (placed()); dynamic events take theirs from their listeners */
  private readonly scopeOf = new Map<EventDef, ScopeKey>();
  private dynamicCount = 0;
  /** the probe being lowered (lowering()) */
  private current: ResolvedProbe | undefined;

  constructor(
    private readonly opts: EventPlanOptions,
    private readonly onFail: (message: string, pos: Pos | undefined, notes?: string[]) => void,
  ) {}

  get maxStringLen(): number {
    return this.opts.maxStringLen;
  }

  private add<T extends EventDef>(d: T): T {
    this.events.push(d);
    this.filters.set(d, []);
    return d;
  }

  /**
   * The tracepoint's definition for the tasks `scope` selects, made on first
   * use. A tracepoint has one definition per selection: its listeners with
   * the same selection share it, and each selection records in its own
   * instance (set_event_pid is per instance).
   */
  private placed(system: string, event: string, scope: ScopeKey): TracepointEventDef {
    const known = this.events.find((x): x is TracepointEventDef => x.kind === "tracepoint" && x.system === system && x.event === event && this.scopeOf.get(x) === scope);
    if (known) return known;
    const d = this.add<TracepointEventDef>(newTracepoint(system, event));
    this.scopeOf.set(d, scope);
    return d;
  }

  tracepoint(system: string, event: string): TracepointEventDef | undefined {
    const known = this.events.find((x): x is TracepointEventDef => x.kind === "tracepoint" && x.system === system && x.event === event);
    if (known) return known;
    if (!readTracepointFormat(system, event)) return undefined;
    // placed by listen(), once the listener's selection is known
    return newTracepoint(system, event);
  }

  lowering(probe: ResolvedProbe): void {
    this.current = probe;
  }

  dynamic(spec: Parameters<EventPlanner["dynamic"]>[0]): DynamicEventDef {
    const event = `p${this.dynamicCount++}`;
    if (this.dynamicCount === (this.opts.maxDynamic ?? Infinity) + 1) {
      // said once, at the probe that crosses the limit
      const what = this.current ? `probe point ${this.current.pp}` : spec.place;
      this.onFail(
        `too many uprobes: more than ${this.opts.maxDynamic} (one per function matched and per marker call site), the limit reached at ${what}: narrow the pattern, or raise the limit with -D MAXUPROBES=N`,
        this.current?.pos,
      );
    }
    const { line, ...rest } = spec;
    return this.add<DynamicEventDef>({ ...rest, kind: "dynamic", system: GROUP_TOKEN, event, definition: line(event), probes: [], dispatch: [], tracksTasks: false, targetProcess: false });
  }

  listen(def: EventDef, dispatch: KernelDispatch, filter: PushedFilter | undefined): number {
    // a listener that wants only some tasks gets the tracepoint recorded for
    // those alone (a process.begin under -c beside a probe that sees every
    // task: the kernel selects the target's tree, the handler need not)
    const d = def.kind === "tracepoint" ? this.placed(def.system, def.event, scopeKey(filter)) : def;
    d.dispatch.push(dispatch);
    if (!d.probes.includes(dispatch.probe)) d.probes.push(dispatch.probe);
    this.filters.get(d)!.push(filter);
    return this.events.indexOf(d);
  }

  pushdown(probe: ResolvedProbe, fields: ReadonlyMap<string, FilterField>, reads?: ReadonlyMap<Expr, FilterField>): PushedFilter | undefined {
    if (this.opts.unoptimized) return undefined;
    return pushdownProbe(probe, { fields, reads, maxStringLen: this.opts.maxStringLen, hasTarget: this.opts.hasTarget });
  }

  processScope(own: PushedFilter | undefined, pid: number | undefined): PushedFilter | undefined {
    if (this.opts.hasTarget) return { filter: own?.filter, targetProcess: true, exact: false };
    if (pid !== undefined && !own?.targetProcess) return { filter: own?.filter, targetProcess: false, pidScope: pid, exact: false };
    return own;
  }

  fail(message: string, pos: Pos, notes?: string[]): void {
    this.onFail(message, pos, notes);
  }

  /**
   * Once every probe is lowered: the task table's events, the filters, the
   * pid selection, and which events are counted in the kernel (those whose
   * every listener is in `countable`), or why one whose listeners only
   * count is not (`uncounted`: what its probes said).
   */
  finish(program: Program, countable: ReadonlySet<number> = new Set(), uncounted: ReadonlyMap<number, string> = new Map()): EventDef[] {
    if (this.events.length === 0) return this.events;
    // Which tasks each event records (set_event_pid, following forks): the
    // target's tree, a process(PID)'s, or every task. set_event_pid is per
    // instance: the runtime records each selection in an instance of its
    // own. When every probe's events want the same one, the task table
    // only needs those tasks too, and the run needs one instance.
    const userFilters = new Map(this.events.map((d) => [d, combineFilters(this.filters.get(d)!)]));
    const scopes = this.events.map((d) => (d.kind === "tracepoint" ? this.scopeOf.get(d) : scopeKey(userFilters.get(d))));
    const shared = scopes.every((k) => k !== undefined && k === scopes[0]) ? scopes[0] : undefined;
    // The task table: whenever a handler asks who a task is, or a process probe
    // must know which tasks run PATH, follow fork/exec/exit/rename.
    const processProbes = this.events.some((d) => d.dispatch.some((x) => x.how === "process"));
    // A handler reading the user stack: the kernel records it after every
    // event of the instance (options/userstacktrace is per instance); the
    // task table says whose address space names it, fork and exec renew that.
    const userStack = usesContext(program, USER_STACK_FUNCTIONS);
    const follow = (system: string, event: string): void => {
      if (!readTracepointFormat(system, event)) return;
      this.placed(system, event, shared).tracksTasks = true;
    };
    // (process probes and user stacks: all four; else what the context functions called need, none when none is)
    const taskEvents = processProbes || userStack ? [TASK_EVENTS.newtask, TASK_EVENTS.exec, TASK_EVENTS.exit, TASK_EVENTS.rename] : taskEventsFor(contextUsed(program, TASK_CONTEXT));
    for (const t of taskEvents) {
      follow(t.system, t.event);
      // A selection's own copy of a task event (its lifecycle probes fire
      // there) may be handled before the copy that records every task:
      // the table is brought up to whichever comes first.
      for (const d of this.events) if (d.kind === "tracepoint" && d.system === t.system && d.event === t.event) d.tracksTasks = true;
    }
    // a probed file replaced during the run is warned about when a program
    // starts (runtime/kernel-source.ts); not for events counted in the kernel:
    // following execs would take an instance of its own beside the counted
    // events' selection, and the end of the run checks the files anyway
    const verdicts = new Map(this.events.map((d) => [d, countedInKernel(d, this.filters.get(d)!, countable, uncounted)]));
    const counted = new Set(this.events.filter((d) => verdicts.get(d) === true));
    if (this.events.some((d) => d.kind === "dynamic" && d.object !== undefined && !counted.has(d))) follow(TASK_EVENTS.exec.system, TASK_EVENTS.exec.event);
    // uid()/gid()... answer for the event's moment: follow the calls that change them
    if (usesContext(program, CRED_CONTEXT)) {
      for (const call of CRED_SYSCALLS) {
        for (const event of [`sys_enter_${call}`, `sys_exit_${call}`]) follow("syscalls", event);
      }
    }
    this.events.forEach((d) => {
      const own = this.filters.get(d)!;
      // The task table needs every event of a task-tracking tracepoint.
      const f = d.tracksTasks ? undefined : userFilters.get(d);
      d.filter = own.length > 0 ? f?.filter : undefined;
      const scope = d.kind === "tracepoint" ? this.scopeOf.get(d) : scopeKey(userFilters.get(d));
      d.targetProcess = scope === "target";
      if (typeof scope === "number") d.pidScope = scope;
      if (counted.has(d)) {
        d.counted = true;
        return;
      }
      const why = verdicts.get(d);
      if (typeof why === "string") d.notCounted = why;
      if (userStack) d.userStack = true;
      if (userStack && d.kind === "dynamic" && d.functionEntry) {
        d.fetchArgs.push({ name: CALLER_FIELD, fetch: "$stack0", type: "u64", scriptType: "long" });
        d.definition += ` ${CALLER_FIELD}=$stack0:u64`;
      }
    });
    return this.events;
  }
}

type ScopeKey = "target" | number | undefined;

function newTracepoint(system: string, event: string): TracepointEventDef {
  return { kind: "tracepoint", definition: `${system}:${event}`, system, event, probes: [], dispatch: [], tracksTasks: false, targetProcess: false };
}

/**
 * Whether the kernel's hit count of an event can stand for its records: a
 * uprobe (not a return probe: the kernel counts a return probe's entries,
 * not its returns), fetching nothing, with no filter, whose every listener
 * is a count-only probe fired for every task of its selection (the
 * target's tree, a process(PID)'s, or every task). Or, when its listeners
 * only count but it cannot be counted, why (said by -p3 and -v).
 */
function countedInKernel(d: EventDef, filters: readonly (PushedFilter | undefined)[], countable: ReadonlySet<number>, uncounted: ReadonlyMap<number, string>): boolean | string {
  if (d.kind !== "dynamic" || d.tracksTasks || d.dispatch.length === 0) return false;
  if (!d.dispatch.every((x) => x.how === "direct" && (countable.has(x.probe) || uncounted.has(x.probe)))) return false;
  const said = d.dispatch.map((x) => uncounted.get(x.probe)).find((why) => why !== undefined);
  if (said !== undefined) return said;
  if (d.probeType !== "uprobe" || d.fetchArgs.length > 0 || filters.some((f) => f?.filter !== undefined)) return false;
  // under a selection the hits of every other task are recorded, to be taken
  // off: in a file tstap runs itself (libc), tstap's own calls too, and each
  // read of those records calls it again
  const scoped = filters.some((f) => f?.targetProcess || f?.pidScope !== undefined);
  if (scoped && d.object && mappedByTstap(d.object.path)) {
    return `tstap itself runs ${d.object.path}: counting the target's hits would record every other process's to take them off, tstap's own among them, each read of which calls into it again; the target's hits are recorded instead`;
  }
  return true;
}

let ownMaps: Set<string> | undefined;
onForget(() => {
  ownMaps = undefined;
});

/** Whether this process (the compiler runs in the process that runs the script) maps `path`. */
function mappedByTstap(path: string): boolean {
  if (ownMaps === undefined) {
    ownMaps = new Set();
    try {
      for (const line of readFileSync("/proc/self/maps", "latin1").split("\n")) {
        const at = line.indexOf("/");
        if (at >= 0) ownMaps.add(line.slice(at));
      }
    } catch {
      // no /proc: nothing known to be mapped
    }
  }
  return ownMaps.has(path);
}

/** The tasks a combined filter selects in the kernel: the target's tree, a pid's, or undefined (every task). */
function scopeKey(f: PushedFilter | undefined): ScopeKey {
  return f?.targetProcess ? "target" : f?.pidScope;
}

/** Which of `names` the program calls. */
function contextUsed(program: Program, names: ReadonlySet<string>): Set<string> {
  const used = new Set<string>();
  walkProgram(program, (n) => {
    if (n.kind === "call" && names.has(n.name)) used.add(n.name);
  });
  return used;
}

function usesContext(program: Program, names: ReadonlySet<string>): boolean {
  let found = false;
  walkProgram(program, (n) => {
    if (n.kind === "call" && names.has(n.name)) found = true;
  });
  return found;
}

/** -p3 lines under an event: its fetch arguments, listeners, filter and pid selection. */
export function describeEvent(e: EventDef): string[] {
  const out: string[] = [];
  if (e.kind === "dynamic") {
    out.push(`#   ${e.probeType} at ${e.place}`);
    for (const a of e.fetchArgs) out.push(`#   field ${a.name}: ${a.fetch} as ${a.type} (${a.scriptType})`);
  }
  const who = e.dispatch.map((d) =>
    d.how === "direct" ? `probe ${d.probe}` : `process${d.path ? `("${d.path}")` : d.pid ? `(${d.pid})` : ""}.${d.what} -> probe ${d.probe}`,
  );
  if (who.length) out.push(`#   fires: ${who.join(", ")}`);
  if (e.tracksTasks) out.push("#   task table: follows this event");
  if (e.filter !== undefined) out.push(`#   filter: ${e.filter}`);
  if (e.targetProcess && !e.counted) out.push("#   set_event_pid: target process (options/event-fork)");
  if (e.pidScope !== undefined && !e.counted) out.push(`#   set_event_pid: process ${e.pidScope} (options/event-fork)`);
  if (e.userStack) out.push("#   user stack: recorded after each event (options/userstacktrace)");
  if (e.counted) out.push(`#   counted in the kernel: hits read from uprobe_profile at the end, no record per hit${e.targetProcess ? " (records only processes outside the target's tree, set_event_notrace_pid, to take off)" : e.pidScope !== undefined ? ` (records only processes outside process ${e.pidScope}'s tree, set_event_notrace_pid, to take off)` : ""}`);
  if (e.notCounted !== undefined) out.push(`#   recorded per hit, not counted in the kernel: ${e.notCounted}`);
  return out;
}

export function isTracepointEventDef(e: EventDef): e is TracepointEventDef {
  return e.kind === "tracepoint";
}
