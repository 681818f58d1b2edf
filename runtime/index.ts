// Pass 5: run a loaded unit. Returns the exit status (0, or 1 after errors).

import { Session } from "./run-loop.js";
import type { EventSource } from "./run-loop.js";
import { longTimeout, TimerSource } from "./timers.js";
import { TargetCommand, commandProblem } from "./target.js";
import { TraceFsError } from "./tracefs/tracefs.js";
import { bufferSizeProblem, hostBufferCapacity } from "./tracefs/instance.js";
import { kernelRun } from "./context-kernel.js";
import { ArmingError, eventScopes, KernelEventSource } from "./kernel-source.js";
import type { ProbedObject } from "./event-def.js";
import { discardKernelInstance, launchedKernelInstance, openKernelTraceSession, prepareKernelInstance } from "./events/kernel-session.js";
import type { TraceInstance } from "./tracefs/instance.js";
import type { LoadedUnit } from "./unit.js";
import { applyDefines, resetLimits } from "./limits.js";
import { resetNativeState as resetNatives } from "./natives.js";
import { ProbeTiming } from "./probe-timing.js";
import { addressSpaces, type AddressSpaceReader } from "./user-stacks.js";

export type { LoadedUnit, UnitProbe, UnitLimits, Trigger, CompiledHandlers } from "./unit.js";
export type { EventSource, SourceContext } from "./run-loop.js";
export { prepareKernelInstance, discardKernelInstance, launchedKernelInstance };

export interface RunOptions {
  outputFile?: string;
  timeoutSeconds?: number;
  targetCommand?: string;
  targetPid?: number;
  bufferMb?: number;
  verbose?: number;
  args?: string[];
  suppressWarnings?: boolean;
  /** `-t`: report each probe's hits and handler times after the run */
  timing?: boolean;
  /** `--suppress-handler-errors`: handler errors are counted, not said, and never end the run */
  suppressHandlerErrors?: boolean;
  /** `-vv`: where the run says what it chose (event reading, buffers) */
  report?: (line: string) => void;
  /** where ERROR:/WARNING: lines go (default: stderr) */
  messages?: (line: string) => void;
  /** extra event sources (the kernel back end plugs in here) */
  sources?: EventSource[];
  /** names user addresses (the ELF reader of src/targets plugs in here); without it stacks print in hex */
  addressSpaces?: AddressSpaceReader;
  /** why a probed file is no longer the one pass 2 read (the ELF reader of src/targets plugs in here); without it nothing is checked */
  objectChange?: (o: ProbedObject) => string | undefined;
  /**
   * the instance made while the script compiled (prepareKernelInstance,
   * with the default buffer size): the kernel events are armed in it, and
   * it is closed at the end of the run in any case
   */
  kernelInstance?: TraceInstance;
  /**
   * the process exits after this run: once the output is out, the kernel's
   * slow part of the teardown (removing the instance) is handed to a reaper
   * process (runtime/tracefs/reaper.ts) instead of being waited for
   */
  handOffTeardown?: boolean;
}

const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** What this host cannot give the run (a -c command, the -s memory): said as it is, not as a tstap bug. */
class SetupError extends Error {}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function run(unit: LoadedUnit, opts: RunOptions): Promise<number> {
  resetLimits();
  resetNatives();
  addressSpaces.setReader(opts.addressSpaces);
  try {
    applyDefines(unit.defines);
  } catch (err) {
    process.stderr.write(`ERROR: ${(err as Error).message}\n`);
    return 1;
  }
  let session: Session;
  try {
    session = new Session(unit, opts.outputFile, opts.messages);
  } catch (err) {
    process.stderr.write(`ERROR: cannot open output file '${opts.outputFile}': ${(err as Error).message}\n`);
    return 1;
  }
  session.suppressHandlerErrors = opts.suppressHandlerErrors === true;
  if (opts.timing) session.timing = new ProbeTiming();
  const sources: EventSource[] = [];
  // A signal or -T ends the run at a moment in time: the kernel events
  // recorded before it are still handled (as stap's handlers would have run
  // them as they happened), then the end probes run.
  let stopping = false;
  const stopAfterDrain = (): void => {
    if (stopping) return session.requestStop();
    stopping = true;
    const kernel = sources.filter((s): s is KernelEventSource => s instanceof KernelEventSource);
    void Promise.allSettled(kernel.map((k) => k.drain())).then(() => session.requestStop());
  };
  const onSignal = (): void => stopAfterDrain();
  for (const s of signals) process.on(s, onSignal);
  // a script with nothing to wait for still runs until exit(), a signal or -T, as stap does
  const keepAlive = setInterval(() => {}, 1 << 30);
  let timeout: { cancel(): void } | undefined;
  let target: TargetCommand | undefined;
  try {
    // a -c command that cannot start is an error before anything runs; a -x
    // process that does not exist, a warning (stap's behaviour)
    if (opts.targetCommand !== undefined) {
      const problem = commandProblem(opts.targetCommand);
      if (problem !== undefined) throw new SetupError(`cannot run -c command '${opts.targetCommand}': ${problem}`);
    }
    if (opts.targetPid !== undefined && !processExists(opts.targetPid)) {
      session.messages.write(`WARNING: -x ${opts.targetPid}: no such process`);
    }
    target = opts.targetCommand !== undefined ? new TargetCommand(opts.targetCommand) : undefined;
    kernelRun.target = opts.targetPid ?? 0;
    if (target) kernelRun.target = target.create() ?? 0;
    if (session.instantiate()) {
      // The kernel's events are armed before the begin probes run, as stap
      // registers its probes before begin: when begin prints, tracing is on.
      // Their handlers only run once begin is done (polling is timer-driven).
      const kernelPlans = KernelEventSource.plansOf(unit.events);
      const early: EventSource[] = [...(opts.sources ?? [])];
      if (kernelPlans.length > 0 && !early.some((s) => s instanceof KernelEventSource)) {
        const bufferKb = opts.bufferMb !== undefined ? opts.bufferMb * 1024 : undefined;
        opts.report?.(
          `Pass 5: arming ${kernelPlans.length} tracefs event${kernelPlans.length === 1 ? "" : "s"} in a private instance before the begin probes run ` +
            `(per-CPU buffer: ${bufferKb !== undefined ? `${bufferKb} KB, from -s` : "the kernel's default size"})`,
        );
        const host = opts.bufferMb !== undefined ? hostBufferCapacity() : undefined;
        // an instance per process tree some events alone record (kernel-source.ts)
        const instances = 1 + eventScopes(kernelPlans, kernelRun.target).extra.length;
        const tooLarge = host && bufferSizeProblem(opts.bufferMb!, host.cpus, host.availableKb, instances);
        if (tooLarge) throw new SetupError(tooLarge);
        // a signal while the buffer grows ends the arming there (stopAfterDrain set `stopping`)
        const instance = bufferKb === undefined ? opts.kernelInstance : undefined;
        early.push(new KernelEventSource(kernelPlans, () => openKernelTraceSession({ bufferKb, cancelled: () => stopping, instance, handOffTeardown: opts.handOffTeardown === true }), {
            targetPid: () => kernelRun.target,
            heldTarget: () => target?.heldPid,
            warn: (m) => session.messages.write(`WARNING: ${m}`),
            ...(opts.objectChange ? { objectChange: opts.objectChange } : {}),
            ppOf: (id: number) => unit.probes.find((p) => p.id === id)?.pp ?? `probe ${id}`,
            ...((opts.verbose ?? 0) > 0 ? { verbose: (m: string) => process.stderr.write(`${m}\n`) } : {}),
          }));
      }
      // events the command caused are still in the kernel buffers when it exits (kernel-source.ts)
      if (target) for (const s of early) if (s instanceof KernelEventSource) target.beforeStop.push(() => s.drain());
      const ctx = session.sourceContext();
      for (const s of early) {
        sources.push(s);
        await s.start(ctx);
      }
      session.runPhase("begin", "starting");
      if (session.state === "starting") session.state = "running";
      if (session.state === "running") for (const s of sources) s.running?.();
      if (session.state === "running") {
        const kernel = sources.filter((s): s is KernelEventSource => s instanceof KernelEventSource);
        const timers = new TimerSource(
          unit.probes.flatMap((p) => (p.trigger.kind === "timer" ? [{ probeId: p.id, periodNs: p.trigger.periodNs, randomizeNs: p.trigger.randomizeNs }] : [])),
          (due) => {
            for (const k of kernel) k.catchUp(due);
          },
        );
        const late: EventSource[] = [];
        if (!timers.empty) late.push(timers);
        // the -c command runs once every probe is armed and begin is done
        if (target) late.push(target);
        for (const s of late) {
          sources.push(s);
          await s.start(ctx);
        }
        if (opts.timeoutSeconds !== undefined) timeout = longTimeout(opts.timeoutSeconds * 1000, stopAfterDrain);
        await session.stopped();
      }
      for (const s of sources) await s.stop();
      if (target && !sources.includes(target)) target.stop();
      const s: string = session.state;
      if (s === "running" || s === "starting") session.state = "stopping";
      if (session.state === "stopping") session.runPhase("end", "stopping");
      if ((session.state as string) === "error") session.runPhase("error", "error");
    }
  } catch (err) {
    // tracefs refusing something (a buffer too big, a busy kernel) is said as
    // the kernel said it; anything else is a bug of tstap; never a stack trace
    const internal = err instanceof TraceFsError || err instanceof SetupError || err instanceof ArmingError ? "" : "internal: ";
    session.messages.write(`ERROR: ${internal}${err instanceof Error ? err.message : String(err)}`);
    session.errors++;
    // nothing armed stays armed, and a held -c command never runs
    for (const s of sources) {
      try {
        await s.stop();
      } catch {
        // stopping what failed to start: the instance guard removes the rest at exit
      }
    }
    target?.stop();
  } finally {
    timeout?.cancel();
    clearInterval(keepAlive);
    for (const s of signals) process.off(s, onSignal);
  }
  // stap prints the report only when its stdout is a terminal, unless -DSTP_FORCE_STDOUT_TTY
  if (session.timing && (process.stdout.isTTY || unit.defines.some((d) => d === "STP_FORCE_STDOUT_TTY" || d.startsWith("STP_FORCE_STDOUT_TTY=")))) {
    session.output.write(session.timing.report(unit.probes));
    session.output.flush();
  }
  try {
    session.output.close();
  } catch {
    // output already gone (closed pipe): nothing more to say there
  }
  // the output is out: now the slow teardown (removing the tracefs instance)
  for (const s of sources) {
    try {
      await s.release?.();
    } catch (err) {
      session.messages.write(`WARNING: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  // made beforehand and not used (no kernel events after all, or an error before arming)
  opts.kernelInstance?.close();
  if (session.errors + session.suppressedErrors > 0 || session.skipped > 0) {
    session.messages.write(`WARNING: Number of errors: ${session.errors + session.suppressedErrors}, skipped probes: ${session.skipped}`);
  }
  if (session.errors > 0) {
    session.messages.write("Pass 5: run failed.  [man error::pass5]");
    return 1;
  }
  return 0;
}
