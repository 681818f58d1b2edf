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
import { combineFilters, type FilterField, type PushedFilter, pushdownProbe } from "./filter-pushdown.js";
import { CRED_CONTEXT, CRED_SYSCALLS, TASK_CONTEXT, TASK_EVENTS } from "./task-events.js";
import { USER_STACK_FUNCTIONS } from "../../runtime/user-stacks.js";

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
  private dynamicCount = 0;
  /** the probe being lowered (lowering()) */
  private current: ResolvedProbe | undefined;

  constructor(
    private readonly opts: EventPlanOptions,
    private readonly onFail: (message: string, pos: Pos | undefined) => void,
  ) {}

  get maxStringLen(): number {
    return this.opts.maxStringLen;
  }

  private add<T extends EventDef>(d: T): T {
    this.events.push(d);
    this.filters.set(d, []);
    return d;
  }

  private findTracepoint(system: string, event: string): TracepointEventDef | undefined {
    return this.events.find((x): x is TracepointEventDef => x.kind === "tracepoint" && x.system === system && x.event === event);
  }

  tracepoint(system: string, event: string): TracepointEventDef | undefined {
    const known = this.findTracepoint(system, event);
    if (known) return known;
    if (!readTracepointFormat(system, event)) return undefined;
    return this.add<TracepointEventDef>({ kind: "tracepoint", definition: `${system}:${event}`, system, event, probes: [], dispatch: [], tracksTasks: false, targetProcess: false });
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

  listen(d: EventDef, dispatch: KernelDispatch, filter: PushedFilter | undefined): number {
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

  fail(message: string, pos: Pos): void {
    this.onFail(message, pos);
  }

  /** Once every probe is lowered: the task table's events, the filters, the pid selection. */
  finish(program: Program): EventDef[] {
    if (this.events.length === 0) return this.events;
    // The task table: whenever a handler asks who a task is, or a process probe
    // must know which tasks run PATH, follow fork/exec/exit/rename.
    const processProbes = this.events.some((d) => d.dispatch.some((x) => x.how === "process"));
    // A handler reading the user stack: the kernel records it after every
    // event of the instance (options/userstacktrace is per instance); the
    // task table says whose address space names it, fork and exec renew that.
    const userStack = usesContext(program, USER_STACK_FUNCTIONS);
    if (processProbes || usesContext(program, TASK_CONTEXT) || userStack) {
      for (const t of [TASK_EVENTS.newtask, TASK_EVENTS.exec, TASK_EVENTS.exit, TASK_EVENTS.rename]) {
        const d = this.tracepoint(t.system, t.event);
        if (d) d.tracksTasks = true;
      }
    }
    // uid()/gid()... answer for the event's moment: follow the calls that change them
    if (usesContext(program, CRED_CONTEXT)) {
      for (const call of CRED_SYSCALLS) {
        for (const event of [`sys_enter_${call}`, `sys_exit_${call}`]) {
          const d = this.tracepoint("syscalls", event);
          if (d) d.tracksTasks = true;
        }
      }
    }
    // Which tasks each event records (set_event_pid, following forks): the
    // target's tree, a process(PID)'s, or every task. set_event_pid is per
    // instance: the runtime records each selection in an instance of its
    // own. When every probe's events want the same one, the task table
    // only needs those tasks too, and the run needs one instance.
    const userFilters = this.events.map((d) => combineFilters(this.filters.get(d)!));
    const scopes = userFilters.map((f, i) => (this.filters.get(this.events[i]!)!.length === 0 ? "none" : scopeKey(f)));
    const listened = scopes.filter((k) => k !== "none");
    const shared = listened.length > 0 && listened.every((k) => k !== undefined && k === listened[0]) ? listened[0] : undefined;
    this.events.forEach((d, i) => {
      const own = this.filters.get(d)!;
      // The task table needs every event of a task-tracking tracepoint.
      const f = d.tracksTasks ? undefined : userFilters[i];
      d.filter = own.length > 0 ? f?.filter : undefined;
      const scope = shared ?? (d.tracksTasks ? undefined : scopes[i]);
      d.targetProcess = scope === "target";
      if (typeof scope === "number") d.pidScope = scope;
      if (userStack) d.userStack = true;
      if (userStack && d.kind === "dynamic" && d.functionEntry) {
        d.fetchArgs.push({ name: CALLER_FIELD, fetch: "$stack0", type: "u64", scriptType: "long" });
        d.definition += ` ${CALLER_FIELD}=$stack0:u64`;
      }
    });
    return this.events;
  }
}

/** The tasks a combined filter selects in the kernel: the target's tree, a pid's, or undefined (every task). */
function scopeKey(f: PushedFilter | undefined): "target" | number | undefined {
  return f?.targetProcess ? "target" : f?.pidScope;
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
  if (e.targetProcess) out.push("#   set_event_pid: target process (options/event-fork)");
  if (e.pidScope !== undefined) out.push(`#   set_event_pid: process ${e.pidScope} (options/event-fork)`);
  if (e.userStack) out.push("#   user stack: recorded after each event (options/userstacktrace)");
  return out;
}

export function isTracepointEventDef(e: EventDef): e is TracepointEventDef {
  return e.kind === "tracepoint";
}
