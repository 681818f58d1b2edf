// A tracing session: a private instance, the events it enables, the
// per-CPU trace_pipe_raw readers, the merge pipeline, lost-event
// accounting, and a close() that leaves tracefs as it was found.
//
// Reading: non-blocking reads of every CPU's trace_pipe_raw in rounds, on a
// timer (pollMs, default 50 ms) when idle and again at once while pages keep
// coming, so an idle run costs a few failed reads per interval and a burst
// is drained as fast as handlers go. Nothing ever waits on the buffers (no
// poll, no blocking read), so the kernel never queues a wake-up (an
// irq_work on the writing CPU, the traced program's): measured, 10 IRQ-work
// interrupts in a whole 1M-event -c run, and an idle -T run uses no tick of
// CPU in 5 s. The price is latency: a live script's output comes out within
// pollMs (+ the commit slack) while events come, within 4 x pollMs after
// some seconds idle (the back-off below). The trace clock is `mono`
// (CLOCK_MONOTONIC, what process.hrtime reads), so the watermark of a round
// is simply "now, taken before the round, minus a small commit slack": no
// event earlier than it can still arrive from another CPU. Wall-clock time
// is `ts + realtimeOffset`, sampled once per run.

import { closeSync, constants, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { readTracepointFormatAt, type TracepointFormat } from "./format.js";
import { EventPipeline, PAGE_HEADER, type EventHandler } from "./pipeline.js";
import { formatReaders, type FieldReader } from "./view.js";
import { TraceInstance, DEFAULT_BUFFER_KB } from "../tracefs/instance.js";
import { reapLeftovers } from "../tracefs/reap.js";
import { reaperAvailable, startReaper } from "../tracefs/reaper.js";
import { guardCleanup } from "../tracefs/guard.js";
import { TraceFsError } from "../tracefs/tracefs.js";

export interface TraceEventSpec {
  system: string;
  event: string;
  /** tracefs filter, applied in the kernel */
  filter?: string;
  /** a dynamic event definition to create first (uprobe line in this run's group; system must then be the group) */
  define?: string;
  /** where the event records: 0 (default) the session's instance, else a scope's lane (addScope) */
  lane?: number;
}

export interface TraceSessionOptions {
  /** per-CPU buffer in KiB (-s MB * 1024); default 16 MiB */
  bufferKb?: number;
  /** idle poll interval, ms */
  pollMs?: number;
  /** trace clock (default mono) */
  clock?: string;
  /** reap leftovers of dead runs first (default true) */
  reap?: boolean;
  /** the run is ending (a signal while arming): stop growing the buffer */
  cancelled?: () => boolean;
  /** an instance made beforehand (TraceInstance.create; its clock and sub-buffer size settled, settleFormat): used instead of a new one */
  instance?: TraceInstance;
  /**
   * release() hands the removal of the instances to a reaper process
   * (tracefs/reaper.ts): for a process that exits right after its run
   */
  handOffTeardown?: boolean;
}

export interface AddedEvent {
  id: number;
  system: string;
  event: string;
  format: TracepointFormat;
  /** readers of every field (common_* too), by name */
  readers: Map<string, FieldReader>;
  /** the instance it records in: 0 the session's, else a scope's (addScope) */
  lane: number;
}

export interface LostReport {
  /** events lost in total (kernel counters, or page flags when larger) */
  lost: number;
  perCpu: { cpu: number; overrun: number; commitOverrun: number; dropped: number }[];
  /** missed events the page headers announced */
  missedInPages: number;
}

/** The stap-style end-of-run warning for lost events (without the "WARNING: " prefix), or undefined. */
export function lostEventsWarning(r: LostReport, bufferKb: number): string | undefined {
  if (r.lost <= 0) return undefined;
  const mb = Math.max(1, Math.round(bufferKb / 1024));
  return `Number of events lost: ${r.lost} (the per-CPU trace buffers of ${mb} MB overflowed; try a larger -s)`;
}

const COMMIT_SLACK_NS = 2_000_000;
/** low 27 bits of a page header's commit word: the length of its data */
const COMMIT_MASK = (1 << 27) - 1;
/** a timer's catch-up reads at most this many rounds: a system outrunning us delays the timer only so long */
const MAX_CATCH_UP_ROUNDS = 1024;
/**
 * Bytes read per CPU before they are dispatched: 256 KiB, so that a burst is
 * decoded while its pages are still in the cache, and the pages in flight
 * (and the free list) stay small.
 */
const BYTES_PER_READ = 256 * 1024;

export class TraceSession {
  readonly instance: TraceInstance;
  readonly pipeline: EventPipeline;
  /** trace-clock ns of EventView.ts == 0 */
  readonly base: bigint;
  readonly bufferKb: number;
  readonly pageSize: number;
  readonly events: AddedEvent[] = [];
  private readers: { cpu: number; fd: number; lane: number }[] = [];
  /**
   * Instances of lanes 1, 2...: each records only the tasks its
   * set_event_pid selects, for the events that want those alone, while the
   * session's own instance records the others for every task (set_event_pid
   * is per instance, and applies to all of its events). Read with it, merged
   * by time.
   */
  private readonly scopes: TraceInstance[] = [];
  /** instance options set so far: a scope opened later gets them too */
  private readonly options = new Map<string, boolean>();
  private readonly cancelled: (() => boolean) | undefined;
  private readonly handOffTeardown: boolean;
  /** release() handed the instances' removal to a reaper */
  handedOff = false;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly pollMs: number;
  /** pages read per CPU in one round (BYTES_PER_READ of them) */
  private readonly pagesPerRead: number;
  /** consecutive polls that found nothing, and the event count at the last poll */
  private idleRounds = 0;
  private seenEvents = 0;
  private started = false;
  private closed = false;
  private finalLost: LostReport | undefined;
  private readonly unguard: () => void;
  /** called with an error thrown by a handler during a timer-driven round (default: rethrow) */
  onError: ((err: unknown) => void) | undefined;

  private constructor(instance: TraceInstance, opts: TraceSessionOptions) {
    this.instance = instance;
    this.bufferKb = opts.bufferKb ?? DEFAULT_BUFFER_KB;
    this.pollMs = opts.pollMs ?? 50;
    this.cancelled = opts.cancelled;
    this.handOffTeardown = opts.handOffTeardown === true;
    const sub = Number(instance.read("buffer_subbuf_size_kb").trim());
    this.pageSize = sub > 0 ? sub * 1024 : 4096;
    this.pagesPerRead = Math.max(2, Math.floor(BYTES_PER_READ / this.pageSize));
    // 2^32 ns before now: event times (ns since base) are never small
    // integers, so V8 keeps them as doubles from the first event instead of
    // switching representation (and deoptimizing the dispatch loop) a second
    // into the run
    this.base = process.hrtime.bigint() - (1n << 32n);
    this.pipeline = new EventPipeline(this.base, this.pageSize);
    // on the way out (exit, signal, crash) handlers must not run again: no flush
    this.unguard = guardCleanup(() => this.close({ flush: false }));
  }

  static open(opts: TraceSessionOptions = {}): TraceSession {
    if (opts.instance) return new TraceSession(opts.instance, opts);
    if (opts.reap !== false) reapLeftovers();
    const inst = TraceInstance.create({ bufferKb: opts.bufferKb, clock: opts.clock });
    return new TraceSession(inst, opts);
  }

  /** Grows the buffer to the size asked for (TraceInstance.create starts it at most one step large). */
  async sizeBuffer(opts: TraceSessionOptions): Promise<void> {
    await this.instance.growBuffer(opts.bufferKb ?? DEFAULT_BUFFER_KB, opts.cancelled);
  }

  get traceClock(): string {
    return this.instance.clock;
  }

  /**
   * Enables an event (defining it first when `define` is given, in the
   * session's group whatever the lane); returns its id, format and field
   * readers.
   */
  addEvent(spec: TraceEventSpec, handler?: EventHandler): AddedEvent {
    let { system, event } = spec;
    if (spec.define !== undefined) ({ system, event } = this.instance.defineDynamicEvent(spec.define));
    const fmt = readTracepointFormatAt(join(this.instance.root, "events"), system, event);
    if (!fmt) throw new TraceFsError(`no event ${system}:${event} in this kernel`, "ENOENT");
    const inst = spec.lane ? this.scopes[spec.lane - 1] : this.instance;
    if (!inst) throw new TraceFsError(`internal: no event lane ${spec.lane}`);
    const id = inst.enableEvent(system, event, spec.filter, fmt.id);
    const added: AddedEvent = { id, system, event, format: fmt, readers: formatReaders(fmt), lane: spec.lane ?? 0 };
    this.events.push(added);
    if (handler) this.pipeline.on(id, handler);
    return added;
  }

  /** Disables an added event where it records (the others keep recording). */
  disableEvent(id: number): void {
    for (const e of this.events) if (e.id === id) (e.lane ? this.scopes[e.lane - 1]! : this.instance).disableEvent(e.system, e.event);
  }

  /** `offHotPath`: rare events (pipeline.ts's on()) */
  on(id: number, handler: EventHandler, offHotPath = false): void {
    this.pipeline.on(id, handler, offHotPath);
  }

  /** set_event_pid (+ event-fork). */
  setEventPids(pids: readonly number[], followForks: boolean): void {
    this.instance.setEventPids(pids, followForks);
  }

  /**
   * Opens a scope: another instance, with this one's clock, buffer size and
   * options, recording only `pids` (+ their children with `followForks`),
   * or with `except` all tasks but those (set_event_notrace_pid, which
   * event-fork extends as it does set_event_pid); returns its lane for
   * addEvent. Before start().
   */
  async addScope(pids: readonly number[], followForks: boolean, except = false): Promise<number> {
    if (this.started || this.closed) throw new TraceFsError("internal: a scope is opened before the session starts");
    const inst = TraceInstance.create({ bufferKb: this.bufferKb, clock: this.instance.clock, root: this.instance.root });
    this.scopes.push(inst);
    await inst.growBuffer(this.bufferKb, this.cancelled);
    if (!except) inst.setEventPids(pids, followForks);
    else if (!inst.setEventNotracePids(pids)) throw new TraceFsError("this kernel has no set_event_notrace_pid", "ENOENT");
    else if (inst.has("options/event-fork")) inst.setOption("event-fork", followForks);
    for (const [name, on] of this.options) inst.setOption(name, on);
    // the events of an `except` scope are counted in the kernel from the
    // moment they are enabled: the records to take off must start then too
    if (except) inst.tracingOn(true);
    return this.scopes.length;
  }

  /** Turns tracing on in the session's instance before start() (its events record from when they are enabled); settled() first. */
  recordFromNow(): void {
    this.instance.tracingOn(true);
  }

  /** set_event_notrace_pid (a run whose events are all counted in the kernel records only the hits to take off); false when the kernel has none. */
  setEventNotracePids(pids: readonly number[]): boolean {
    return this.instance.setEventNotracePids(pids);
  }

  setOption(name: string, on: boolean): void {
    this.instance.setOption(name, on);
    for (const s of this.scopes) s.setOption(name, on);
    this.options.set(name, on);
  }

  /** The session's instance, then its scopes' (lane order). */
  private get instances(): TraceInstance[] {
    return [this.instance, ...this.scopes];
  }

  /**
   * Waits for what the instance's kernel writes still do (its buffer's
   * allocation, started by TraceInstance.create with `deferred`): before
   * tracing is turned on (start, recordFromNow).
   */
  async settled(): Promise<void> {
    await this.instance.settle();
  }

  /** Opens the per-CPU readers, turns tracing on and starts polling (poll: false to drive poll() yourself). */
  start(opts: { poll?: boolean } = {}): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.instances.forEach((inst, lane) => {
      for (const cpu of inst.cpus()) {
        const path = join(inst.dir, "per_cpu", `cpu${cpu}`, "trace_pipe_raw");
        this.readers.push({ cpu, fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), lane });
        this.pipeline.addStream(cpu, lane);
      }
    });
    for (const inst of this.instances) inst.tracingOn(true);
    if (opts.poll !== false) this.schedule(this.pollMs);
    // the decode loop is made at the next turn of the event loop, while the
    // run waits (a -c command released meanwhile runs beside it): the first
    // dispatch, at the command's exit for a short one, need not wait for it
    setImmediate(() => {
      if (!this.closed) this.pipeline.prepare();
    });
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    const tick = (): void => {
      this.timer = undefined;
      this.immediate = undefined;
      let more = false;
      try {
        more = this.round(false);
      } catch (err) {
        if (this.onError) this.onError(err);
        else throw err;
      }
      // idle rounds back off (up to 4x pollMs); anything read brings the pace back
      if (this.pipeline.stats.events !== this.seenEvents || more) this.idleRounds = 0;
      else this.idleRounds++;
      this.seenEvents = this.pipeline.stats.events;
      this.schedule(more ? 0 : this.pollMs * Math.min(4, 1 + Math.floor(this.idleRounds / 10)));
    };
    if (ms === 0) this.immediate = setImmediate(tick);
    else this.timer = setTimeout(tick, ms);
  }

  /**
   * Reads up to pagesPerRead pages of every CPU. Returns the time up to
   * which every event has been read: Infinity when every CPU was read empty,
   * else, over the CPUs that may have more, the earliest start of the last
   * page read (its unread pages can hold nothing earlier).
   */
  private readAll(stopAtPartial = false): number {
    let complete = Infinity;
    const pl = this.pipeline;
    for (const r of this.readers) {
      let pages = 0;
      for (; pages < this.pagesPerRead; pages++) {
        const page = pl.takePage();
        let n: number;
        try {
          n = readSync(r.fd, page.buf, 0, this.pageSize, null);
        } catch (err) {
          pl.pushPage(r.cpu, page, 0, r.lane);
          const code = (err as NodeJS.ErrnoException).code;
          if (code === "EAGAIN" || code === "EWOULDBLOCK" || code === "EINTR") break;
          throw new TraceFsError(`reading cpu${r.cpu}/trace_pipe_raw failed: ${code ?? (err as Error).message}`, code);
        }
        // (stopAtPartial: the timer-driven rounds) a page less than half full
        // is the one the kernel is still writing: we caught up. Reading on
        // would return a few events per read(2), the writer's latest, at the
        // price of a system call each: the rest waits for the next round, when
        // it has filled pages. drain(), catchUp() and close() read to the end.
        const data = n >= PAGE_HEADER ? page.buf.readUInt32LE(8) & COMMIT_MASK : 0;
        pl.pushPage(r.cpu, page, n, r.lane);
        if (n <= 0 || (stopAtPartial && data < (this.pageSize - PAGE_HEADER) / 2)) break;
      }
      if (pages >= this.pagesPerRead) complete = Math.min(complete, pl.lastPageStart(r.cpu, r.lane));
    }
    return complete;
  }

  /** One round: read every CPU, dispatch what the watermark allows. `all`: dispatch everything read. */
  private round(all: boolean): boolean {
    if (this.closed || this.readers.length === 0) return false;
    const now = Number(process.hrtime.bigint() - this.base);
    const complete = this.readAll(!all);
    const limit = all || this.instance.clock !== "mono" ? Infinity : now - COMMIT_SLACK_NS;
    this.pipeline.dispatch(Math.min(limit, complete));
    return complete !== Infinity;
  }

  /** One synchronous round (for callers driving the loop); returns the number of events dispatched. */
  poll(): number {
    const before = this.pipeline.stats.events;
    this.round(false);
    return this.pipeline.stats.events - before;
  }

  /**
   * Synchronously delivers, in order, the events recorded before `untilHrNs`
   * (a process.hrtime.bigint() time) that can be known complete now: a timer
   * probe due at that time then sees, as under stap, every event before it.
   */
  catchUp(untilHrNs: bigint): void {
    if (!this.started || this.closed || this.readers.length === 0) return;
    const now = Number(process.hrtime.bigint() - this.base);
    const limit = this.instance.clock !== "mono" ? Infinity : Math.min(Number(untilHrNs - this.base), now - COMMIT_SLACK_NS);
    for (let rounds = 0; rounds < MAX_CATCH_UP_ROUNDS; rounds++) {
      const complete = this.readAll();
      this.pipeline.dispatch(Math.min(limit, complete));
      if (complete === Infinity) break;
    }
  }

  /**
   * Delivers every event recorded before this call, in order. No wait
   * first: the reads go on until the kernel says every CPU's buffer is
   * empty (or holds only later events). What it still writes at this
   * instant (a writer commits with preemption off, within microseconds of
   * taking its time stamp) may miss the cut, as an event just after the
   * call would; an event of a task that has exited (the -c command) was
   * committed before its exit.
   */
  async drain(): Promise<void> {
    if (!this.started || this.closed) return;
    const until = Number(process.hrtime.bigint() - this.base);
    const mono = this.instance.clock === "mono";
    while (!this.closed) {
      const complete = this.readAll();
      this.pipeline.dispatch(Math.min(mono ? until : Infinity, complete));
      // done once all that was recorded before `until` is read (a busy system may record more forever)
      if (complete === Infinity || (mono && complete > until)) break;
    }
  }

  /** Lost events so far: the kernel's per-CPU counters and the page headers' missed-events flags. */
  lost(): LostReport {
    if (this.finalLost) return this.finalLost;
    // a CPU's counts summed over the session's instances
    const perCpu = this.instance.cpus().map((cpu) => {
      const row = { cpu, overrun: 0, commitOverrun: 0, dropped: 0 };
      for (const inst of this.instances) {
        const s = inst.read(`per_cpu/cpu${cpu}/stats`);
        const num = (k: string): number => Number(new RegExp(`^${k}:\\s*(\\d+)`, "m").exec(s)?.[1] ?? 0);
        row.overrun += num("overrun");
        row.commitOverrun += num("commit overrun");
        row.dropped += num("dropped events");
      }
      return row;
    });
    const kernel = perCpu.reduce((a, c) => a + c.overrun + c.commitOverrun + c.dropped, 0);
    const missedInPages = this.pipeline.stats.missedInPages;
    return { lost: Math.max(kernel, missedInPages), perCpu, missedInPages };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Stops tracing, delivers what is left (unless `flush: false`), counts
   * lost events, closes the readers and removes the instance and dynamic
   * events. Idempotent: later calls return the same report.
   * `keepInstance`: all but the removal, the slow part (an instance's rmdir
   * takes tens of ms), left to a later close() once the run's output is out,
   * or to the instance's own guard on the way out.
   */
  close(opts: { flush?: boolean; keepInstance?: boolean } = {}): LostReport {
    if (this.closed) {
      if (!opts.keepInstance) this.closeInstances();
      return this.finalLost ?? { lost: 0, perCpu: [], missedInPages: 0 };
    }
    let report: LostReport = { lost: 0, perCpu: [], missedInPages: 0 };
    let handlerError: unknown;
    try {
      if (this.timer) clearTimeout(this.timer);
      if (this.immediate) clearImmediate(this.immediate);
      if (!this.instance.isClosed) {
        for (const inst of this.instances) {
          try {
            inst.tracingOn(false);
          } catch {
            // the instance may be gone already (reaped, or tracefs unmounted)
          }
        }
        if (opts.flush !== false && this.readers.length > 0) {
          try {
            // tracing is off: what is left is finite
            for (let complete = 0; complete !== Infinity; ) {
              complete = this.readAll();
              this.pipeline.dispatch(complete);
            }
          } catch (err) {
            handlerError = err;
          }
        }
        try {
          report = this.lost();
        } catch {
          // stats unreadable: report what the pages said
        }
      }
    } finally {
      this.closed = true;
      this.finalLost = report;
      for (const r of this.readers) {
        try {
          closeSync(r.fd);
        } catch {
          // already closed
        }
      }
      this.readers = [];
      this.pipeline.clear();
      // kept: removed by removeInstance(), or by the instance's own guard on the way out
      if (!opts.keepInstance) this.closeInstances();
      this.unguard();
    }
    if (handlerError !== undefined) throw handlerError;
    return report;
  }

  /**
   * close(); with `handOffTeardown`, the removal of the instances and
   * dynamic events is handed to a reaper (tracefs/reaper.ts) so that this
   * process can exit while the kernel waits out its grace periods (done
   * here when no reaper can start). For the end of a run, once its output
   * is out.
   */
  async release(): Promise<LostReport> {
    if (!this.handOffTeardown) return this.close();
    let report: LostReport;
    try {
      report = this.close({ keepInstance: true });
    } catch (err) {
      this.closeInstances();
      throw err;
    }
    const instances = this.instances;
    if (instances.every((i) => i.isClosed) || !reaperAvailable()) {
      this.closeInstances();
      return report;
    }
    let handed = false;
    try {
      // scopes first, as closeInstances: the group's events must be disabled everywhere before it goes
      const items = [...this.scopes, this.instance].flatMap((i) => i.teardownItems());
      handed = startReaper(this.instance.root, items);
    } catch {
      handed = false;
    }
    this.handedOff = handed;
    if (handed) for (const i of instances) i.handedOff();
    else this.closeInstances();
    return report;
  }

  /** Scopes first: the dynamic events the session's instance removes must be disabled everywhere. */
  private closeInstances(): void {
    for (const s of this.scopes) s.close();
    this.instance.close();
  }
}
