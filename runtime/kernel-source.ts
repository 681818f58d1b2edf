// The kernel probes as an event source of the run loop: opens the plan's
// tracepoints in a private tracefs instance (through the kernel back end's
// session, behind the small KernelTraceSession interface below), applies the
// pushed-down filters and the target-process selection, and feeds every
// decoded event, in merged timestamp order, to the KernelDispatcher.

import type { EventSource, SourceContext } from "./run-loop.js";
import { adoptTarget, kernelRun, realtimeOffset } from "./context-kernel.js";
import { KernelDispatcher, offHotPath, type EventListener } from "./kernel-dispatch.js";
import type { DecodedEvent } from "./probe-context.js";
import { instantiateFilter, type EventDef, type KernelEventPlan, type ProbedObject } from "./event-def.js";
import { listProcesses, processTree, TaskTable, threadsOf } from "./tasks.js";
import { HOLD_SHELL } from "./target.js";
import { readFileSync } from "node:fs";
import { armedEvents, SITE_FIELD, type ArmedEvent } from "./armed-events.js";

/** What this source needs of the kernel back end's tracing session. */
export interface KernelTraceSession {
  /** the instance's trace_clock (decides how event times map to the wall clock) */
  readonly traceClock: string;
  /**
   * enables SYSTEM:EVENT (with a tracefs filter); returns its handle. With
   * `define` (a dynamic event's line, GROUP_TOKEN for the group), the event
   * is defined first in the session's own group; several lines (all naming
   * EVENT) make one event with a probe at each place. With `lane` (from
   * addScope), it records in that scope.
   */
  addEvent(system: string, event: string, filter?: string, define?: string | readonly string[], lane?: number): Promise<number>;
  /**
   * a scope of the session: events added with the lane it returns record
   * only these tasks (+ their children with `followForks`), or with
   * `except` every task but those; the others every task; all are
   * delivered merged by time (before start)
   */
  addScope?(pids: number[], followForks: boolean, except?: boolean): Promise<number>;
  /** tracing on in the session's own instance now, before start(): what its events count and record starts together */
  recordFromNow?(): Promise<void>;
  /**
   * defines (as addEvent's `define`) and arms a dynamic event that records
   * nothing and is counted in the kernel (uprobe_profile), in the kernel's
   * cheapest way (soft-disabled: a hit returns before the ring buffer); its
   * handle, for disableEvent. Undefined when this kernel cannot.
   */
  addCountedEvent?(define: string | readonly string[]): Promise<number | undefined>;
  /** disables an event added earlier (a uprobe's: once it returns, no hit of it is still being recorded) */
  disableEvent?(handle: number): Promise<void>;
  /** a dynamic event can hold many probes, each line with immediate fetch arguments (armed-events.ts) */
  readonly multiProbeEvents?: boolean;
  /** defines these dynamic events (lines as addEvent's `define`) in a few writes, before addEvent enables them */
  defineAll?(defines: string[]): Promise<void>;
  /** set_event_pid (+ options/event-fork when `followForks`) */
  setEventPids(pids: number[], followForks: boolean): Promise<void>;
  /** records no event of these tasks (set_event_notrace_pid; + event-fork with setOption); false when the kernel cannot */
  excludePids?(pids: number[]): Promise<boolean>;
  /** an instance option (options/NAME) */
  setOption(name: string, on: boolean): Promise<void>;
  /** each event carries the user stack the kernel records after it (DecodedEvent.ustack); false when this kernel cannot */
  recordUserStacks?(): Promise<boolean>;
  /**
   * starts streaming: `listen` is asked once per handle for the function to
   * run for each of its events (in timestamp order across all), every event
   * of the handle read through the `ev` given with it
   */
  start(listen: (handle: number, ev: DecodedEvent) => EventListener): Promise<void>;
  /** delivers, synchronously, what was recorded before `untilHrNs` (process.hrtime.bigint() time) and is complete */
  catchUp(untilHrNs: bigint): void;
  /** delivers everything recorded up to now */
  drain(): Promise<void>;
  /** stops tracing and delivers the rest, keeping the instance until close(); returns how many events the kernel dropped */
  finish?(): Promise<{ lost: number }>;
  /** stops (unless finished), removes the instance (or hands that to a reaper process: `handedOff`); returns how many events the kernel dropped */
  close(): Promise<{ lost: number; handedOff?: boolean }>;
  /** the kernel's hit counts of this session's uprobe events (uprobe_profile), by event name, then by place (uprobePlaceKey) */
  uprobeHits?(): Map<string, Map<string, number>>;
}

export type OpenKernelSession = () => Promise<KernelTraceSession>;

export interface KernelSourceOptions {
  /** target(): the -c command's pid or -x PID (0 without) */
  targetPid: () => number;
  /** where "WARNING: ..." lines go */
  warn: (msg: string) => void;
  /** the -c command's pid while it is held before it runs (runtime/target.ts): a process of one thread and no children */
  heldTarget?: () => number | undefined;
  /** -v: report uprobes the kernel never hit (uprobe_profile), with the probe point */
  verbose?: (msg: string) => void;
  /** pp() of each probe, for those reports and the build-id warnings */
  ppOf?: (probe: number) => string;
  /** why the file a uprobe is placed in is no longer the one pass 2 read, or undefined (src/targets' ELF reader plugs in here) */
  objectChange?: (o: ProbedObject) => string | undefined;
}

/** What the run found wrong with what it was about to arm: said as it is. */
export class ArmingError extends Error {}

export class KernelEventSource implements EventSource {
  private session: KernelTraceSession | undefined;
  private closed = false;
  /** stop() finished the session: close() is still to come (release) */
  private needsClose = false;
  private fireExisting: (() => void) | undefined;
  /** the events as armed (armed-events.ts), for the -v report */
  private armed: ArmedEvent[] = [];
  /** probed files already warned about as changed: once per file */
  private readonly changed = new Set<string>();
  /** the events counted in the kernel */
  private counted: CountedEvent[] = [];
  /** uprobe_profile's counts of our events when tracing started */
  private hitsBefore: Hits = new Map();
  /**
   * the counted events were disabled when the run was asked to stop (what
   * the kernel counts after that is not the run's), with the counts then,
   * or, asked during the begin probes, "nothing" (no event is handled then)
   */
  private stoppedAt: { hits: Hits } | "begin" | undefined;
  /** disabling the counted events failed: said by stop() */
  private disableFailed: unknown;
  /** the begin probes are done and events reach the handlers */
  private begun = false;
  private ctx: SourceContext | undefined;

  constructor(
    private readonly plans: readonly KernelEventPlan[],
    private readonly open: OpenKernelSession,
    private readonly opts: KernelSourceOptions,
  ) {}

  /** The kernel events of a loaded unit: every event definition is one. */
  static plansOf(events: readonly EventDef[]): KernelEventPlan[] {
    return [...events];
  }

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    kernelRun.tasks = new TaskTable();
    const target = this.opts.targetPid();
    adoptTarget(target, target > 0 && target === this.opts.heldTarget?.() ? HOLD_SHELL : undefined);
    for (const p of this.plans) for (const d of p.dispatch) if (d.pn !== undefined) kernelRun.pnByProbe.set(d.probe, d.pn);
    // (pure computation, done before the wait for the kernel's slow instance
    // writes that open() may meet: the wall clock's offset is the same for
    // every trace clock but boot)
    const offset = realtimeOffset("mono");
    const s = await this.open();
    this.session = s;
    // The kernel keeps tid -> tgid for tasks we never saw fork (saved_tgids).
    // Not when every event is counted in the kernel: their records (outsiders'
    // hits) are only counted, and the option has the kernel hook sched_switch
    // while an event is on (~15 ms more to disable it, measured on 6.18).
    if (this.plans.some((p) => !p.counted)) await s.setOption("record-tgid", true).catch(() => undefined);
    // the user-stack functions read what the kernel walked at the event (user-stacks.ts)
    if (this.plans.some((p) => p.userStack)) {
      const ok = (await s.recordUserStacks?.().catch(() => false)) ?? false;
      if (!ok) this.opts.warn("this kernel cannot record user stacks (no options/userstacktrace or ftrace user_stack record): user backtraces will be empty");
    }
    const { scopes, oneScope, extra } = eventScopes(this.plans, target);
    // a tree (-x PID, process(PID)) as it is now: the process, its descendants, all their threads; event-fork adds what they start
    const tasksOf = (sel: Selection): number[] => {
      const pid = sel.pid;
      // a process(PID) probe counted in the kernel: PID's own threads (its children's hits are recorded and taken off)
      if (!sel.tree) return threadsOf(pid);
      // the -c command as this run made it, still held: one thread, no children (a scan of /proc, some 5-10 ms, would find just that)
      if (pid === this.opts.heldTarget?.()) return [pid];
      const procs = listProcesses();
      const tree = processTree(pid, procs);
      // tstap itself (-x of the shell that ran it) is never traced: its reads would record the events that make more reads necessary
      if (pid !== process.pid && tree.has(process.pid)) for (const own of processTree(process.pid, procs)) tree.delete(own);
      return [...tree].flatMap((tgid) => {
        const tids = procs.find((p) => p.tgid === tgid)?.tids;
        return tids !== undefined && tids.length > 0 ? tids : [tgid];
      });
    };
    const lanes = new Map<string, number>();
    if (oneScope !== undefined && !oneScope.except) await s.setEventPids(tasksOf(oneScope), true);
    else if (oneScope === undefined && s.addScope) for (const k of extra) lanes.set(selectionKey(k)!, await s.addScope(tasksOf(k), k.tree, k.except));
    const laneOf = (i: number): number | undefined => {
      const k = selectionKey(scopes[i]);
      return k === undefined ? undefined : lanes.get(k);
    };
    // tstap's own reader thread is never traced: each read of trace_pipe_raw
    // is a system call, and with syscall events on, every read would record
    // the event that makes the next read necessary, a loop that never idles.
    // A filter, not set_event_notrace_pid: neither costs anything measurable
    // per event, but a pid list costs the instance's removal about 100 ms
    // more (the kernel unhooks its sched_switch/wakeup probes and waits two
    // more grace periods, RCU tasks-trace and RCU).
    // When every event is counted in the kernel, the instance records every
    // task but the target's tree: the hits to take off, tstap's own too (a
    // probe in libc traps in tstap as well).
    if (oneScope?.except) {
      const excluded = s.excludePids !== undefined && s.recordFromNow !== undefined && (await s.excludePids(tasksOf(oneScope)).catch(() => false));
      if (!excluded) throw new ArmingError("this kernel has no set_event_notrace_pid: the probes counted in the kernel cannot leave out the target's process tree");
      if (oneScope.tree) await s.setOption("event-fork", true);
      // the kernel counts hits from when an event is enabled: the outsiders'
      // records to take off start then too (every event here is counted)
      await s.recordFromNow!();
    }
    const notSelf = oneScope !== undefined ? undefined : `common_pid != ${process.pid}`;
    // a uprobe's offset is the file's as pass 2 read it: a file rebuilt or
    // replaced since would be probed mid-instruction, or in the wrong place
    for (const o of this.objects()) {
      const why = this.opts.objectChange?.(o);
      if (why !== undefined) throw new ArmingError(`Build-id mismatch [man error::buildid]: ${why}; its probes were not armed`);
    }
    // thousands of uprobes (a marker's call sites, a glob's functions) are
    // defined in a few writes, as few events as the kernel allows (the
    // README, which says whether the kernel can, read only for those)
    const armed = armedEvents(this.plans, { multiProbe: this.plans.some((p) => p.kind === "dynamic") && s.multiProbeEvents === true });
    this.armed = armed;
    const defines = armed.flatMap((a) => a.lines ?? []);
    const t0 = process.hrtime.bigint();
    if (defines.length > 1 && s.defineAll) await s.defineAll(defines);
    const t1 = process.hrtime.bigint();
    const byHandle = new Map<number, ArmedEvent>();
    for (const a of armed) {
      const p = this.plans[a.first]!;
      const define = a.lines?.length === 1 ? a.lines[0] : a.lines;
      const pushed = p.filter === undefined ? undefined : instantiateFilter(p.filter, target);
      const filters = [pushed && notSelf ? `(${pushed}) && ${notSelf}` : (pushed ?? notSelf), notSelf];
      let handle: number | undefined;
      // counted, recording every task: nothing to take off, so nothing may be
      // recorded (every record would be taken off the count); soft-disabled
      // where the kernel can, else under a filter no record passes
      if (p.counted && scopes[a.first] === undefined && define !== undefined) {
        handle = await s.addCountedEvent?.(define).catch(() => undefined);
        handle ??= await s.addEvent(p.system, p.event, RECORD_NOTHING, define, laneOf(a.first));
      }
      for (const filter of handle === undefined ? [...new Set(filters)] : []) {
        try {
          handle = await s.addEvent(p.system, p.event, filter, define, laneOf(a.first));
          break;
        } catch {
          // A filter is only an optimization (handlers check again): if this
          // kernel refuses it, try a simpler one, then none.
        }
      }
      handle ??= await s.addEvent(p.system, p.event, undefined, define, laneOf(a.first));
      byHandle.set(handle, a);
      if (p.counted) this.counted.push(countedEvent(a, handle));
    }
    if (this.counted.length > 0) {
      if (!s.uprobeHits || !s.disableEvent) throw new ArmingError("internal: probes counted in the kernel need the session's uprobe_profile and disableEvent");
      if (this.opts.verbose) {
        const pps = [...new Set(this.counted.flatMap((c) => this.probesOf(c.armed)))].map((probe) => this.opts.ppOf?.(probe) ?? `probe ${probe}`);
        // a glob over libc is thousands of probe points: the first few, and how many more
        const named = pps.length > 5 ? [...pps.slice(0, 3), `and ${pps.length - 3} more`] : pps;
        this.opts.verbose(`Pass 5: counting ${plural(pps.length, "probe")} in the kernel (uprobe_profile), with no record per hit: ${named.join(", ")}`);
      }
    }
    // probes that only count, recorded per hit all the same: why (pass 3's reasons, event-def.ts notCounted)
    if (this.opts.verbose) {
      const byWhy = new Map<string, Set<number>>();
      for (const p of this.plans) {
        if (p.notCounted === undefined) continue;
        const probes = byWhy.get(p.notCounted) ?? new Set<number>();
        for (const d of p.dispatch) probes.add(d.probe);
        byWhy.set(p.notCounted, probes);
      }
      for (const [why, probes] of byWhy) {
        const pps = [...probes].slice(0, 3).map((probe) => this.opts.ppOf?.(probe) ?? `probe ${probe}`);
        if (probes.size > 3) pps.push(`and ${probes.size - 3} more`);
        this.opts.verbose(`Pass 5: recording ${plural(probes.size, "probe")} per hit, not counting ${probes.size === 1 ? "it" : "them"} in the kernel: ${pps.join(", ")}: ${why}`);
      }
    }
    if (this.opts.verbose && defines.length > 0) {
      const t2 = process.hrtime.bigint();
      const events = armed.filter((a) => a.lines !== undefined).length;
      this.opts.verbose(`Pass 5: armed ${plural(defines.length, "uprobe")} as ${plural(events, "tracefs event")} in ${msSince(t0, t2)} ms (defining ${msSince(t0, t1)} ms, enabling ${msSince(t1, t2)} ms)`);
    }
    kernelRun.realtimeOffsetNs = s.traceClock === "boot" ? realtimeOffset(s.traceClock) : offset;
    const dispatcher = new KernelDispatcher(this.plans, (probe, ev) => ctx.fire(probe, ev), undefined, ctx.firer);
    // what runs when tracing starts gets its begin probes once begin is done
    this.fireExisting = dispatcher.snapshotExisting(listProcesses, { cpu: 0, tsNs: process.hrtime.bigint() });
    // the kernel counts hits from the moment an event is enabled: for an
    // event recording nothing, what it counted before tracing starts is not
    // the run's (one that records outsiders records them from then on too)
    if (this.counted.length > 0) {
      this.hitsBefore = s.uprobeHits!();
      // exit() (or -T, a signal, the target's end) drops every event not yet
      // handled: the counting stops there too, the events disabled at once
      // (a synchronous write) and their counts read. A stop asked during the
      // begin probes handles no event at all: nothing is counted.
      ctx.onStopRequest?.(() => {
        if (this.stoppedAt !== undefined || this.closed) return;
        this.disableCounted();
        this.stoppedAt = this.begun ? { hits: s.uprobeHits!() } : "begin";
      });
    }
    const watchExecs = this.opts.objectChange !== undefined && this.objects().length > 0;
    await s.start((handle, ev) => {
      const a = byHandle.get(handle);
      if (a === undefined) return () => undefined;
      // a counted event's records are hits of processes outside the selection: taken off its count
      const c = this.counted.find((x) => x.handle === handle);
      if (c) {
        const tagged = c.armed.classes.length > 1;
        const sel = this.scopeOf(c.armed);
        // process(PID): a thread PID started since arming is recorded (no event-fork), and its hits are PID's
        const own = sel !== undefined && !sel.tree ? sel.pid : undefined;
        return () => {
          if (own !== undefined && kernelRun.tasks.tgid(ev.tid) === own) return;
          const cls = tagged ? Number(ev.get(SITE_FIELD)) : 0;
          if (cls >= 0 && cls < c.outsiders.length) c.outsiders[cls]!++;
        };
      }
      const p = this.plans[a.first]!;
      if (watchExecs && p.system === "sched" && p.event === "sched_process_exec") {
        // a process starting a program: the moment a probed file replaced since it was armed starts to matter
        // (an exec is rare: off the decode loop's hot path, as the task table's own events are)
        const inner = dispatcher.listener(a.first, ev);
        return offHotPath(() => {
          this.checkObjects(ev);
          inner();
        });
      }
      if (a.classes.length === 1) return dispatcher.listener(a.classes[0]![0]!, ev);
      // probes of one event that fire different listeners: __site says whose
      const listeners = a.classes.map((c) => dispatcher.listener(c[0]!, ev));
      return () => listeners[Number(ev.get(SITE_FIELD))]?.();
    });
  }

  /**
   * process.begin and thread.begin for the processes and threads that ran
   * when tracing started (stap's task finder reports those at startup), once
   * the begin probes are done, before any event recorded since.
   */
  running(): void {
    this.begun = true;
    const fire = this.fireExisting;
    this.fireExisting = undefined;
    fire?.();
  }

  /** The events recorded before `untilHrNs` reach the handlers now (a timer probe due then is about to run). */
  catchUp(untilHrNs: bigint): void {
    if (this.session && !this.closed) this.session.catchUp(untilHrNs);
  }

  /** Everything the kernel has recorded so far reaches the handlers (the -c command just exited). */
  async drain(): Promise<void> {
    if (this.session && !this.closed) await this.session.drain();
  }

  async stop(): Promise<void> {
    if (!this.session || this.closed) return;
    this.closed = true;
    // Counted events are disabled first (unless the stop request did): once
    // the kernel says so, no hit of theirs is still being counted or
    // recorded, so the counts read next and the records drained after them
    // agree exactly.
    try {
      if (this.stoppedAt === undefined) for (const c of this.counted) await this.session.disableEvent!(c.handle);
      if (this.disableFailed !== undefined) throw this.disableFailed;
    } catch (err) {
      this.needsClose = true;
      await this.release();
      throw err;
    }
    const hits = this.session.uprobeHits && (this.opts.verbose || this.counted.length > 0) ? this.session.uprobeHits() : undefined;
    // -v: a uprobe that produced no events either never trapped (the code did
    // not run) or was filtered out; the kernel's own hit count tells which
    if (this.opts.verbose && hits) {
      for (const a of this.armed) {
        const p = this.plans[a.first]!;
        if (p.kind !== "dynamic") continue;
        const byPlace = hits.get(p.event);
        if (byPlace === undefined) continue;
        const n = sum(byPlace.values());
        const probes = this.probesOf(a);
        const pps = probes.slice(0, 3).map((probe) => this.opts.ppOf?.(probe) ?? `probe ${probe}`);
        if (probes.length > 3) pps.push(`and ${probes.length - 3} more probe points`);
        const uprobes = a.lines && a.lines.length > 1 ? `, ${a.lines.length} uprobes` : "";
        this.opts.verbose(`uprobe ${p.event} (${pps.join(", ")}${uprobes}): ${n} hit${n === 1 ? "" : "s"} in the kernel`);
      }
    }
    // and at the end: a change after the last exec left the uprobes where the old file had them too
    for (const o of this.objects()) {
      if (this.changed.has(o.path)) continue;
      const why = this.opts.objectChange?.(o);
      if (why !== undefined) this.opts.warn(`Build-id mismatch [man warning::buildid]: ${why}, during the run: its probes stayed at the offsets of the file as it was`);
    }
    const s = this.session;
    this.needsClose = s.finish !== undefined;
    try {
      const { lost } = s.finish ? await s.finish() : await s.close();
      if (lost > 0) this.opts.warn(`${lost} kernel events were lost (the trace buffers overflowed; try a larger -s)`);
      if (hits && this.counted.length > 0) this.applyCounts(hits, lost);
    } catch (err) {
      await this.release();
      throw err;
    }
  }

  /** Disables the counted events now: the kernel's writes are synchronous (a failure is said by stop()). */
  private disableCounted(): void {
    for (const c of this.counted) {
      this.session?.disableEvent!(c.handle).catch((err: unknown) => {
        this.disableFailed ??= err;
      });
    }
  }

  /**
   * At an exec (the event `ev`): does the new program map a probed file
   * that is no longer the one armed (another inode at its path)? A uprobe
   * stays on the file it was placed in, so a process mapping the file now
   * at that path (the program itself, or a library it maps) runs unprobed.
   * Said when first seen, once per file, with the probe points. Read from
   * the process's maps when its event is handled: a process gone by then
   * is not seen, and the end of the run checks the paths again.
   */
  private checkObjects(ev: DecodedEvent): void {
    const objects = this.objects().filter((o) => !this.changed.has(o.path) && !o.path.startsWith("/proc/"));
    if (objects.length === 0) return;
    const pid = Number(ev.get("pid") ?? ev.tid);
    let maps: string;
    try {
      maps = readFileSync(`/proc/${pid}/maps`, "latin1");
    } catch {
      return;
    }
    for (const o of objects) {
      const ino = mappedInode(maps, o.path);
      if (ino === undefined || ino === o.identity.ino) continue;
      this.changed.add(o.path);
      const why = this.opts.objectChange?.(o) ?? `'${o.path}' is another file than the one its probes were placed in`;
      const probes = [...new Set(this.plans.filter((p) => p.object?.path === o.path).flatMap((p) => p.dispatch.map((d) => d.probe)))];
      const pps = probes.slice(0, 3).map((probe) => this.opts.ppOf?.(probe) ?? `probe ${probe}`);
      if (probes.length > 3) pps.push(`and ${probes.length - 3} more`);
      const one = probes.length === 1;
      this.opts.warn(
        `Build-id mismatch [man warning::buildid]: ${why}, and process ${pid} ('${String(ev.get("filename") ?? "")}') maps it: ${pps.join(", ")} ${one ? "stays" : "stay"} at the offsets of the file as it was and ${one ? "does" : "do"} not fire there`,
      );
    }
  }

  /** The probes an armed event fires. */
  private probesOf(a: ArmedEvent): number[] {
    return [...new Set(a.classes.flat().flatMap((i) => this.plans[i]!.dispatch.map((d) => d.probe)))];
  }

  /**
   * Each counted event's hits at each of its places, the kernel's count
   * since tracing started (up to the stop, when it was asked for) less the
   * records of processes outside the selection (all delivered by now), go
   * to the counters of the probes at that place, before the end probes run.
   */
  private applyCounts(atEnd: Hits, lost: number): void {
    if (this.stoppedAt === "begin") {
      if (this.opts.verbose) this.opts.verbose("the run stopped during the begin probes: no hit is counted");
      return;
    }
    const hits = this.stoppedAt?.hits ?? atEnd;
    for (const c of this.counted) {
      const p = this.plans[c.armed.first]!;
      const now = hits.get(p.event);
      if (now === undefined) {
        this.opts.warn(`uprobe_profile has no count of uprobe ${p.event}: its probes counted nothing`);
        continue;
      }
      const before = this.scopeOf(c.armed) === undefined ? this.hitsBefore.get(p.event) : undefined;
      const perClass = c.outsiders.map((o) => -o);
      for (const site of c.sites) perClass[site.cls]! += (now.get(site.place) ?? 0) - (before?.get(site.place) ?? 0);
      if (this.opts.verbose) {
        const n = sum(perClass);
        const outsiders = sum(c.outsiders);
        const sites = c.sites.length > 1 ? ` at ${c.sites.length} places` : "";
        const sel = this.scopeOf(c.armed);
        const whose = sel === undefined || sel.tree ? "the target's process tree" : `process ${sel.pid}`;
        this.opts.verbose(`uprobe ${p.event}: ${n} hit${n === 1 ? "" : "s"} counted in the kernel${sites}${outsiders > 0 ? ` (${outsiders} more outside ${whose}, left out)` : ""}`);
      }
      c.armed.classes.forEach((plans, cls) => {
        const n = Math.max(0, perClass[cls]!);
        for (const probe of new Set(plans.flatMap((i) => this.plans[i]!.dispatch.map((d) => d.probe)))) this.ctx?.count(probe, n);
      });
    }
    // a lost record of an outsider's hit stays in the count
    if (lost > 0 && this.counted.some((c) => this.scopeOf(c.armed) !== undefined)) {
      this.opts.warn(`the hit counts of probes counted in the kernel may be too high: records of ${lost} events were lost, and some may have been hits of processes outside the target's tree (try a larger -s)`);
    }
  }

  private scopeOf(a: ArmedEvent): Selection | undefined {
    return eventScopes(this.plans, this.opts.targetPid()).scopes[a.first];
  }

  /** The files uprobes are placed in, each once. */
  private objects(): ProbedObject[] {
    const byPath = new Map<string, ProbedObject>();
    for (const p of this.plans) if (p.object && !byPath.has(p.object.path)) byPath.set(p.object.path, p.object);
    return [...byPath.values()];
  }

  /** Removes what stop() left in tracefs: after the end probes have printed, so that their output is not kept waiting. */
  async release(): Promise<void> {
    if (!this.needsClose || !this.session) return;
    this.needsClose = false;
    const t0 = process.hrtime.bigint();
    const { handedOff } = await this.session.close();
    const uprobes = this.armed.reduce((n, a) => n + (a.lines?.length ?? 0), 0);
    // disabling is the slow part: the kernel waits a grace period per uprobe event (armed-events.ts)
    if (this.opts.verbose && uprobes > 0) {
      const ms = msSince(t0, process.hrtime.bigint());
      this.opts.verbose(handedOff ? `Pass 5: handed the removal of ${plural(uprobes, "uprobe")} and the instance to a reaper process in ${ms} ms` : `Pass 5: disabled and removed ${plural(uprobes, "uprobe")} and the instance in ${ms} ms`);
    }
  }
}

/** The inode `path` is mapped from in a /proc/PID/maps text (its first mapping), if it is mapped. */
function mappedInode(maps: string, path: string): number | undefined {
  const at = maps.indexOf(` ${path}\n`);
  if (at < 0) return undefined;
  const line = maps.slice(maps.lastIndexOf("\n", at) + 1, at);
  // ADDR PERMS OFFSET DEV INODE
  const inode = line.trim().split(/\s+/)[4];
  return inode === undefined ? undefined : Number(inode);
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

function msSince(from: bigint, to: bigint): number {
  return Number((to - from) / 1_000_000n);
}

/**
 * The tasks an event records: the process tree of `pid` (following forks),
 * or with `except` every task but that tree (an event counted in the
 * kernel records only the hits to take off its count).
 */
export interface Selection {
  pid: number;
  except: boolean;
  /**
   * the process tree, following forks; false: the process's own threads
   * (a process(PID) probe counted in the kernel: the record path's
   * dispatcher leaves PID's children out, so their hits are recorded and
   * taken off)
   */
  tree: boolean;
}

function selectionKey(s: Selection | undefined): string | undefined {
  return s === undefined ? undefined : `${s.except ? "!" : ""}${s.tree ? "" : "="}${s.pid}`;
}

/**
 * Which tasks each event records (a Selection, or undefined: every task).
 * set_event_pid and set_event_notrace_pid are per instance, so when every
 * event wants the same selection (`oneScope`) the session's instance makes
 * it; otherwise each selection in `extra` gets a scope (an instance of its
 * own) and the rest record every task.
 */
export function eventScopes(plans: readonly KernelEventPlan[], target: number): { scopes: (Selection | undefined)[]; oneScope?: Selection; extra: Selection[] } {
  const scopes = plans.map((p): Selection | undefined => {
    const targeted = p.targetProcess && target > 0;
    const pid = targeted ? target : p.pidScope;
    return pid === undefined ? undefined : { pid, except: p.counted === true, tree: targeted || p.counted !== true };
  });
  const one = scopes[0];
  if (one !== undefined && scopes.every((k) => selectionKey(k) === selectionKey(one))) return { scopes, oneScope: one, extra: [] };
  const extra = new Map<string, Selection>();
  for (const k of scopes) if (k !== undefined) extra.set(selectionKey(k)!, k);
  return { scopes, extra: [...extra.values()] };
}

/**
 * A filter no event passes: an unscoped event counted in the kernel traps
 * and is counted (uprobe_profile), and writes nothing, where the kernel
 * cannot soft-disable it (addCountedEvent). The kernel still fills a
 * record and runs the filter at each hit: measured on 6.18, 0.15-0.5 us a
 * hit more than a soft-disabled event or one whose task the instance's
 * pid list leaves out (~4.3 us a hit in all).
 */
export const RECORD_NOTHING = "common_pid < 0";

/** An event counted in the kernel: its places, and the records of outsiders' hits seen so far. */
interface CountedEvent {
  armed: ArmedEvent;
  handle: number;
  /** each probe of the event (a line): its place (uprobePlaceKey) and the class of plans it serves */
  sites: { place: string; cls: number }[];
  /** per class: records of hits by processes outside the selection */
  outsiders: number[];
}

/** uprobe_profile's counts: by event, then by place (uprobePlaceKey) */
type Hits = ReadonlyMap<string, ReadonlyMap<string, number>>;

function countedEvent(armed: ArmedEvent, handle: number): CountedEvent {
  const sites = (armed.lines ?? []).map((line) => {
    const words = line.split(" ");
    const tag = words.find((w) => w.startsWith(`${SITE_FIELD}=`));
    return { place: uprobePlaceKey(words[1] ?? ""), cls: tag === undefined ? 0 : Number(/\\(\d+)/.exec(tag)?.[1] ?? 0) };
  });
  return { armed, handle, sites, outsiders: armed.classes.map(() => 0) };
}

/**
 * A uprobe's place as a key: `FILE:OFFSET` with the offset in plain hex,
 * whether written by tstap (`/bin/x:0x1040(0x88)`) or listed by
 * uprobe_events (`/bin/x:0x0000000000001040(0x88)`).
 */
export function uprobePlaceKey(place: string): string {
  const at = place.lastIndexOf(":");
  if (at < 0) return place;
  const off = /^0x([0-9a-f]+)/i.exec(place.slice(at + 1));
  return off ? `${place.slice(0, at)}:${BigInt(`0x${off[1]}`).toString(16)}` : place;
}

function sum(ns: Iterable<number>): number {
  let t = 0;
  for (const n of ns) t += n;
  return t;
}
