// The TraceSession behind runtime/kernel-source.ts's KernelTraceSession
// interface: handles are event type ids, and each event reaches the run
// loop as a DecodedEvent that reads the record where it lies in its page:
// nothing is copied or allocated per event.

import type { DecodedEvent, FieldValue } from "../probe-context.js";
import { uprobePlaceKey, type KernelTraceSession } from "../kernel-source.js";
import type { EventListener } from "../kernel-dispatch.js";
import { TraceSession, lostEventsWarning, type TraceSessionOptions } from "./session.js";
import { EventView, faultTesters } from "./view.js";
import { compileFieldGetter, type FieldGetter } from "./access-code.js";
import { CALLER_FIELD, eventOfDefinition, instantiateDefinition } from "../event-def.js";
import { readFileSync } from "node:fs";
import { readText } from "../tracefs/tracefs.js";
import { safeEventName } from "../tracefs/safe-text.js";
import type { EventPipeline } from "./pipeline.js";
import { userStackOf, userStackRecord, type UserStackRecord } from "./user-stack.js";
import { join } from "node:path";
import { TraceInstance } from "../tracefs/instance.js";
import { reapLeftovers } from "../tracefs/reap.js";
import { reaperAvailable, startReaper } from "../tracefs/reaper.js";
import { claimRunName } from "../tracefs/names.js";

/**
 * An event's handle: its type id, told apart by lane when one tracepoint
 * records in several instances (type ids are 16 bits).
 */
function handleOf(e: { id: number; lane: number }): number {
  return e.lane * 0x10000 + e.id;
}

class KernelSessionAdapter implements KernelTraceSession {
  /** set when events carry the user stack the kernel recorded after them */
  private userStack: UserStackRecord | undefined;

  constructor(readonly session: TraceSession) {}

  async recordUserStacks(): Promise<boolean> {
    const rec = userStackRecord(join(this.session.instance.root, "events"));
    if (rec === undefined) return false;
    try {
      this.session.setOption("userstacktrace", true);
    } catch {
      return false;
    }
    this.userStack = rec;
    return true;
  }

  get traceClock(): string {
    return this.session.traceClock;
  }

  /** dynamic events defined so far, by their line: a retry (with a simpler filter) enables, it does not define again */
  private readonly defined = new Map<string, { system: string; event: string }>();

  async addEvent(system: string, event: string, filter?: string, define?: string | readonly string[], lane?: number): Promise<number> {
    if (define === undefined) return handleOf(this.session.addEvent({ system, event, filter, lane }));
    const lines = typeof define === "string" ? [define] : define;
    let at = this.defined.get(lines[0]!);
    // what defineAll did not define (a refused batch), line by line: the first line makes the event, the others add probes to it
    for (const d of lines) {
      if (this.defined.has(d)) continue;
      const made = this.session.instance.defineDynamicEvent(instantiateDefinition(d, this.session.instance.name));
      this.defined.set(d, made);
      at ??= made;
    }
    return handleOf(this.session.addEvent({ ...at!, filter, lane }));
  }

  /** counted events armed soft-disabled (addCountedEvent), by handle: disabled by taking their trigger off */
  private readonly softDisabled = new Map<number, string>();

  /**
   * A dynamic event registered (its uprobes placed, counted in
   * uprobe_profile) and soft-disabled, so that a hit returns before the
   * ring buffer: a `disable_event` trigger on the instance's ftrace:print
   * event (it fires only at a write to this instance's trace_marker, which
   * nobody makes, and would only disable the event again) arms the event
   * in the kernel's soft mode. Undefined when this kernel has no trigger
   * there (the caller falls back to a filter no record passes). Measured on
   * 6.18: 0.15-0.5 us a hit cheaper than that filter; taking the trigger
   * off at the end waits ~35 ms more than disabling a filtered event (the
   * trigger's own RCU wait), even from some 100,000 hits on.
   */
  async addCountedEvent(define: string | readonly string[]): Promise<number | undefined> {
    const inst = this.session.instance;
    const host = "events/ftrace/print/trigger";
    if (!inst.has(host) || !readText(inst.root, "README").includes("disable_event")) return undefined;
    const lines = typeof define === "string" ? [define] : define;
    let at = this.defined.get(lines[0]!);
    for (const d of lines) {
      if (this.defined.has(d)) continue;
      const made = inst.defineDynamicEvent(instantiateDefinition(d, inst.name));
      this.defined.set(d, made);
      at ??= made;
    }
    const trigger = `disable_event:${safeEventName("event system", at!.system)}:${safeEventName("event name", at!.event)}`;
    inst.write(host, trigger);
    const ev = `events/${at!.system}/${at!.event}`;
    // "0*": registered, soft-disabled
    if (inst.read(`${ev}/enable`).trim() !== "0*") {
      inst.write(host, `!${trigger}`);
      return undefined;
    }
    const handle = handleOf({ id: Number(inst.read(`${ev}/id`).trim()), lane: 0 });
    this.softDisabled.set(handle, trigger);
    return handle;
  }

  async addScope(pids: number[], followForks: boolean, except?: boolean): Promise<number> {
    return this.session.addScope(pids, followForks, except);
  }

  async recordFromNow(): Promise<void> {
    await this.session.settled();
    this.session.recordFromNow();
  }

  async disableEvent(handle: number): Promise<void> {
    const trigger = this.softDisabled.get(handle);
    if (trigger === undefined) {
      this.session.disableEvent(handle);
      return;
    }
    // the trigger off, the event leaves soft mode and is unregistered (the kernel waits until no handler of it runs)
    this.session.instance.write("events/ftrace/print/trigger", `!${trigger}`);
    this.softDisabled.delete(handle);
  }

  /** a uprobe event can hold many probes, and lines immediate fetch arguments (kernel 5.7+; the README shows `\imm-value`) */
  get multiProbeEvents(): boolean {
    return readText(this.session.instance.root, "README").includes("\\imm-value");
  }

  async defineAll(defines: string[]): Promise<void> {
    const inst = this.session.instance;
    const todo = defines.filter((d) => !this.defined.has(d));
    const lines = todo.map((d) => instantiateDefinition(d, inst.name));
    const eventOf = eventOfDefinition;
    try {
      inst.defineDynamicEvents(lines);
      todo.forEach((d, i) => this.defined.set(d, { system: inst.name, event: eventOf(lines[i]!) }));
    } catch {
      // keep what the kernel took; addEvent defines the rest one by one and reports the line it refuses
      todo.forEach((d, i) => {
        if (inst.defines(lines[i]!)) this.defined.set(d, { system: inst.name, event: eventOf(lines[i]!) });
      });
    }
  }

  async setEventPids(pids: number[], followForks: boolean): Promise<void> {
    this.session.setEventPids(pids, followForks);
  }

  async excludePids(pids: number[]): Promise<boolean> {
    return this.session.setEventNotracePids(pids);
  }

  async setOption(name: string, on: boolean): Promise<void> {
    this.session.setOption(name, on);
  }

  async start(listen: (handle: number, ev: DecodedEvent) => EventListener): Promise<void> {
    const pipeline = this.session.pipeline;
    const byId = new Map<number, EventListener[]>();
    const getters = new Map<number, FieldGetter>();
    for (const added of this.session.events) {
      const names = added.format.fields.map((f) => f.name);
      let get = getters.get(added.id);
      if (get === undefined) getters.set(added.id, (get = compileFieldGetter(added.format)));
      // one event object and one listener per event type, made here: nothing per event
      const ev = new PageEvent(pipeline.view, get, names, faultTesters(added.format), this.userStack && { pipeline, rec: this.userStack });
      const lanes = byId.get(added.id) ?? [];
      lanes[added.lane] = listen(handleOf(added), ev);
      byId.set(added.id, lanes);
    }
    for (const [id, lanes] of byId) {
      const only = lanes.length === 1 ? lanes[0] : undefined;
      // a tracepoint recorded in several instances (each its own selection of tasks): the record's lane says whose listener
      this.session.on(id, only ?? (() => lanes[pipeline.lane]?.()), lanes.some((l) => l?.offHotPath === true));
    }
    await this.session.settled();
    this.session.start();
  }

  catchUp(untilHrNs: bigint): void {
    this.session.catchUp(untilHrNs);
  }

  async drain(): Promise<void> {
    await this.session.drain();
  }

  async finish(): Promise<{ lost: number }> {
    return { lost: this.session.close({ keepInstance: true }).lost };
  }

  uprobeHits(): Map<string, Map<string, number>> {
    // the kernel's event names (unique to the run) back to the plan's (p0, p1 ...)
    const ours = new Map([...this.defined].map(([line, d]) => [d.event, eventOfDefinition(line)]));
    if (ours.size === 0) return new Map();
    const root = this.session.instance.root;
    try {
      // uprobe_events first: our probes stay while both are read, another run's may come and go
      const events = readFileSync(join(root, "uprobe_events"), "latin1");
      const profile = readFileSync(join(root, "uprobe_profile"), "latin1");
      return uprobeHitsByPlace(events, profile, this.session.instance.name, ours);
    } catch {
      return new Map();
    }
  }

  async close(): Promise<{ lost: number; handedOff: boolean }> {
    const { lost } = await this.session.release();
    return { lost, handedOff: this.session.handedOff };
  }
}

/**
 * The event as handlers read it: fields straight from the record in its
 * ring-buffer page, through the pipeline's one EventView. Valid only while
 * the handlers of this event run (the page is reused after them), which is
 * all a handler can do with it: script values are longs and strings, copies.
 */
export class PageEvent implements DecodedEvent {
  constructor(
    private readonly view: EventView,
    /** the format's fields at their offsets (access-code.ts) */
    private readonly field: FieldGetter,
    private readonly fieldNames: readonly string[],
    private readonly faults: ReadonlyMap<string, (v: EventView) => boolean> = new Map(),
    private readonly stacks?: { pipeline: EventPipeline; rec: UserStackRecord },
  ) {}

  /** the user stack recorded after this event: read from the page when a handler asks (undefined when the run records none) */
  get ustack(): number[] | undefined {
    if (!this.stacks) return undefined;
    const caller = this.field(this.view, CALLER_FIELD);
    return userStackOf(this.stacks.pipeline, this.view, this.stacks.rec, typeof caller === "bigint" ? Number(BigInt.asUintN(64, caller)) : typeof caller === "number" ? caller : undefined);
  }

  get tid(): number {
    return this.view.pid;
  }

  get cpu(): number {
    return this.view.cpu;
  }

  /** a bigint made only when a handler asks for the event's time */
  get tsNs(): bigint {
    return this.view.tsNs();
  }

  get(name: string): FieldValue | undefined {
    return this.field(this.view, name);
  }

  names(): readonly string[] {
    return this.fieldNames;
  }

  faulted(name: string): boolean {
    return this.faults.get(name)?.(this.view) ?? false;
  }
}

/**
 * Makes the run's instance ahead of time, while the script is still being
 * compiled: its slow writes (trace_clock, the buffer: some 60 ms of kernel
 * waits here) run meanwhile. Undefined when it cannot be made now (the
 * run's own attempt then says why). Whoever holds it closes it unless a
 * session took it (openKernelTraceSession with `instance`).
 */
export function prepareKernelInstance(opts: { bufferKb?: number; launched?: TraceInstance } = {}): TraceInstance | undefined {
  let inst: TraceInstance;
  try {
    inst = opts.launched ?? TraceInstance.create({ bufferKb: opts.bufferKb, deferred: true });
  } catch {
    return undefined;
  }
  // leftovers of dead runs once the kernel's slow writes have started (our
  // name cannot be theirs: create() takes the next one on EEXIST)
  try {
    reapLeftovers();
  } catch {
    // the run's own reap (TraceSession.open) says nothing either: leftovers wait for the next run
  }
  return inst;
}

/**
 * The instance bin/tstap began making for this process before node ran
 * (TSTAP_EARLY_INSTANCE=NAME:PID, PID the shell still writing to it), now
 * this run's: for prepareKernelInstance, or discardKernelInstance when the
 * run needs none. Taken once; the variable leaves the environment (the -c
 * command does not inherit it).
 */
export function launchedKernelInstance(): TraceInstance | undefined {
  const v = process.env.TSTAP_EARLY_INSTANCE;
  if (v === undefined) return undefined;
  delete process.env.TSTAP_EARLY_INSTANCE;
  const m = /^(tstap_(\d+)_\d+):(\d+)$/.exec(v);
  if (!m || Number(m[2]) !== process.pid) return undefined;
  claimRunName(m[1]!);
  try {
    return TraceInstance.adopt(m[1]!, Number(m[3]));
  } catch {
    return undefined;
  }
}

/**
 * Gives up an instance prepareKernelInstance made for a run that turned out
 * to need none (a guess from the script's text, before it was parsed): its
 * removal (some 100 ms of kernel waits, its slow writes still running) is
 * handed to a reaper process where one can start, else done here.
 */
export function discardKernelInstance(inst: TraceInstance): void {
  const items = inst.teardownItems();
  if (reaperAvailable() && startReaper(inst.root, items)) inst.handedOff();
  else inst.close();
}

/** Opens a session for the run loop (OpenKernelSession of runtime/kernel-source.ts). */
export async function openKernelTraceSession(opts: TraceSessionOptions = {}): Promise<KernelTraceSession & { session: TraceSession }> {
  if (opts.instance) {
    try {
      // the buffer's allocation goes on while the events are armed: settled before tracing starts
      await opts.instance.settleFormat();
    } catch (err) {
      opts.instance.close();
      throw err;
    }
  }
  const session = TraceSession.open(opts);
  try {
    await session.sizeBuffer(opts);
  } catch (err) {
    await session.close({ flush: false });
    throw err;
  }
  return new KernelSessionAdapter(session);
}

export { lostEventsWarning };

/**
 * The hit counts of a group's uprobe events, by event (`ours`: the kernel's
 * event name → the plan's) and place (uprobePlaceKey). uprobe_events and
 * uprobe_profile list every probe in the same order (the kernel's list of
 * dynamic events), the first with its place, the second with its hits
 * ("  FILE EVENT HITS", with no group: our event names carry the run's
 * group, instantiateDefinition): an event's Nth place has its Nth count.
 */
export function uprobeHitsByPlace(events: string, profile: string, group: string, ours: ReadonlyMap<string, string>): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  const places = new Map<string, string[]>();
  for (const l of events.split("\n")) {
    const m = /^[pr]\d*:([^/\s]+)\/(\S+)\s+(\S+)/.exec(l);
    if (!m || m[1] !== group || !ours.has(m[2]!)) continue;
    places.set(m[2]!, [...(places.get(m[2]!) ?? []), uprobePlaceKey(m[3]!)]);
  }
  const seen = new Map<string, number>();
  for (const l of profile.split("\n")) {
    const m = /^\s*(\S+)\s+(\S+)\s+(\d+)\s*$/.exec(l);
    if (!m) continue;
    const ev = m[2]!.startsWith(`${group}/`) ? m[2]!.slice(group.length + 1) : m[2]!.includes("/") ? undefined : m[2]!;
    const plan = ev === undefined ? undefined : ours.get(ev);
    if (plan === undefined) continue;
    const n = seen.get(ev!) ?? 0;
    seen.set(ev!, n + 1);
    const key = places.get(ev!)?.[n] ?? m[1]!;
    const byPlace = out.get(plan) ?? new Map<string, number>();
    byPlace.set(key, (byPlace.get(key) ?? 0) + Number(m[3]));
    out.set(plan, byPlace);
  }
  return out;
}
