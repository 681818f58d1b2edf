// The run: SystemTap's session states and probe ordering.
//
//   STARTING  begin probes, by priority then source order; each runs only
//             while the session is still STARTING (exit() or an error skips
//             the rest)
//   RUNNING   event sources fire handlers (timers, the kernel event stream,
//             the target command) until exit(), -T, a signal, the target's
//             end, or an error past MAXERRORS
//   STOPPING  end probes, each only while still STOPPING
//   ERROR     instead of (or after a failing) end probe: the error probes
//
// A handler's error prints `ERROR: ...`; more than MAXERRORS of them put the
// session in ERROR. The run then prints stap's closing warning and reports
// status 1 when any error was seen.

import { ProbeTiming } from "./probe-timing.js";
import { AbortHandler, errorText, OverloadError } from "./errors.js";
import { buildRuntimeApi, current } from "./context.js";
import { setNativeWarn } from "./context-kernel.js";
import { Messages, Output } from "./output.js";
import type { CompiledHandlers, LoadedUnit, UnitProbe } from "./unit.js";

export type SessionState = "starting" | "running" | "stopping" | "error";

/** What an event source may do: run handlers, and end the run. */
export interface SourceContext {
  /** runs one handler now (only while the session is RUNNING) */
  fire(probeId: number, event?: unknown): void;
  /** `fire` for one probe, its handler looked up once: what an event stream calls per event */
  firer?(probeId: number): (event?: unknown) => void;
  /** a batch of events was delivered: a good moment to flush output */
  batchDone(): void;
  running(): boolean;
  /** ends the run as exit() would (e.g. the target command exited) */
  requestStop(): void;
  /** a probe counted in the kernel was hit `hits` times: its counter applies them (before the end probes) */
  count(probeId: number, hits: number): void;
  /**
   * `listener` runs, synchronously, at the moment the run is asked to stop
   * (exit() in a handler, -T, a signal, the target's end, an error): from
   * then on no handler runs, so what the kernel counts after it is not the
   * run's (kernel-source.ts reads its counts there)
   */
  onStopRequest?(listener: () => void): void;
}

/** Something that fires handlers while the session runs: timers, the kernel event stream, the target command. */
export interface EventSource {
  start(ctx: SourceContext): void | Promise<void>;
  /** the begin probes have run and handlers may fire (sources started before begin fire nothing until then) */
  running?(): void;
  stop(): void | Promise<void>;
  /** the slow part of stopping, done once the end probes' output is out (always called, after stop) */
  release?(): void | Promise<void>;
}

function byPriority(probes: UnitProbe[], kind: "begin" | "end" | "error"): UnitProbe[] {
  return probes
    .filter((p) => p.trigger.kind === kind)
    .map((p, i) => ({ p, i }))
    .sort((a, b) => {
      const pa = (a.p.trigger as { priority: bigint }).priority;
      const pb = (b.p.trigger as { priority: bigint }).priority;
      return pa < pb ? -1 : pa > pb ? 1 : a.i - b.i;
    })
    .map((x) => x.p);
}

export class Session {
  state: SessionState = "starting";
  errors = 0;
  skipped = 0;
  /** `--suppress-handler-errors`: a handler's error ends that handler, counted but not said */
  suppressHandlerErrors = false;
  /** the handler errors --suppress-handler-errors kept quiet */
  suppressedErrors = 0;
  /** `-t`: handler durations, per probe */
  timing: ProbeTiming | undefined;
  readonly output: Output;
  readonly messages: Messages;
  private handlers: CompiledHandlers | undefined;
  private stopWaiters: (() => void)[] = [];
  private stopListeners: (() => void)[] = [];
  private stopRequested = false;
  private flushPending = false;

  constructor(
    readonly unit: LoadedUnit,
    outputFile: string | undefined,
    messageSink?: (line: string) => void,
  ) {
    this.output = new Output(outputFile);
    this.messages = new Messages(this.output, messageSink);
    // the output is gone (a reader that quit, a full disk): said once, and the
    // run ends as stap's does, end probes included (their output dropped)
    this.output.onFailure = (message) => {
      this.messages.write(`ERROR: ${message}`);
      this.errors++;
      this.requestStop();
    };
  }

  instantiate(): boolean {
    setNativeWarn((msg) => this.messages.write(`WARNING: ${msg}`));
    const api = buildRuntimeApi(this.unit.limits, {
      out: (s) => this.output.write(s),
      exit: () => this.requestStop(),
      abort: () => this.requestStop(),
      warn: (msg) => this.messages.write(`WARNING: ${msg}`),
    });
    try {
      this.handlers = this.unit.instantiate(api);
      return true;
    } catch (err) {
      this.messages.write(`ERROR: ${errorText(err)}`);
      this.errors++;
      this.state = "error";
      return false;
    }
  }

  /** exit(): begin probes still pending are skipped, end probes run. */
  requestStop(): void {
    if (this.state === "starting" || this.state === "running") this.state = "stopping";
    if (this.stopRequested) return;
    this.stopRequested = true;
    for (const l of this.stopListeners) l();
    const ws = this.stopWaiters;
    this.stopWaiters = [];
    for (const w of ws) w();
  }

  /** Resolves when the run must end. */
  stopped(): Promise<void> {
    if (this.stopRequested) return Promise.resolve();
    return new Promise((resolve) => this.stopWaiters.push(resolve));
  }

  runHandler(p: UnitProbe, event?: unknown): void {
    const h = this.handlers!.handlers[p.id];
    if (!h) return;
    current.probeId = p.id;
    current.pp = p.pp;
    current.event = event;
    try {
      if (this.timing) this.timing.measure(p.id, h);
      else h();
    } catch (err) {
      this.handlerFailed(err);
    }
  }

  /** A counted probe's hits (kernel-source.ts): its counter runs as its handler would, errors included. */
  runCounter(p: UnitProbe, hits: number): void {
    const c = this.handlers?.counters?.[p.id];
    if (!c) return;
    current.probeId = p.id;
    current.pp = p.pp;
    current.event = undefined;
    try {
      c(hits);
    } catch (err) {
      this.handlerFailed(err);
    }
  }

  private handlerFailed(err: unknown): void {
    if (err instanceof AbortHandler) return;
    // stap's module counts a suppressed error and goes on: no message, no MAXERRORS stop
    if (this.suppressHandlerErrors && !(err instanceof OverloadError)) {
      this.suppressedErrors++;
      return;
    }
    this.errors++;
    this.messages.write(`ERROR: ${errorText(err)}`);
    if (this.errors > this.unit.limits.MAXERRORS || err instanceof OverloadError) {
      this.state = "error";
      this.requestStop();
      this.state = "error";
    }
  }

  runPhase(kind: "begin" | "end" | "error", required: SessionState): void {
    for (const p of byPriority(this.unit.probes, kind)) {
      if (this.state !== required) break;
      this.runHandler(p);
    }
    this.output.flush();
  }

  sourceContext(): SourceContext {
    return {
      fire: (probeId, event) => this.sourceFire(probeId, event),
      firer: (probeId) => this.firer(probeId),
      batchDone: () => this.scheduleFlush(),
      running: () => this.state === "running",
      requestStop: () => this.requestStop(),
      count: (probeId, hits) => {
        const p = this.unit.probes[probeId];
        if (p) this.runCounter(p, hits);
      },
      onStopRequest: (listener) => void this.stopListeners.push(listener),
    };
  }

  /**
   * What sourceContext().fire does for PROBEID, with the handler and its
   * point found now rather than at each event: a stream of a million events
   * runs this, and a short chain is both faster and quicker for V8 to
   * optimize (each function it inlines adds to every recompilation).
   */
  private firer(probeId: number): (event?: unknown) => void {
    const p = this.unit.probes[probeId];
    const h = p && this.handlers?.handlers[p.id];
    if (p === undefined || h === undefined || this.timing) return (event) => this.sourceFire(probeId, event);
    const id = p.id;
    const pp = p.pp;
    return (event) => {
      if (this.state !== "running") return;
      current.probeId = id;
      current.pp = pp;
      current.event = event;
      try {
        h();
      } catch (err) {
        this.handlerFailed(err);
      }
      if (!this.flushPending) this.scheduleFlush();
    };
  }

  private sourceFire(probeId: number, event: unknown): void {
    if (this.state !== "running") return;
    const p = this.unit.probes[probeId];
    if (p) this.runHandler(p, event);
    this.scheduleFlush();
  }

  // Output is flushed after every handler that ran (a batch of events, a
  // timer, begin/end): nothing is left waiting for a periodic flush, and an
  // idle run has no timer of its own.
  // made once: a closure created inside scheduleFlush() would cost an allocation at each call, that is at each event
  private readonly flushSoon = (): void => {
    this.flushPending = false;
    this.output.flush();
  };

  private scheduleFlush(): void {
    if (this.flushPending) return;
    this.flushPending = true;
    setImmediate(this.flushSoon);
  }
}
