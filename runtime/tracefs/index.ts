// tracefs control: the kernel back end's side that creates and removes
// things. Everything here is synchronous (so it can run in 'exit' handlers).
//
// API
//   findTracefs(): string                 the root; mounts tracefs when root and unmounted;
//                                         throws TraceFsError naming what is missing
//   assertWritable(root)                  throws TraceFsError (not root, locked down)
//   probeCapabilities(): Capabilities     kprobe/uprobe/dynamic events, instances,
//                                         userstacktrace... (what runs need)
//   probeReportedCapabilities(c)          eprobes, hist triggers (only --check shows them)
//   traceClocks(root): string[]           trace_clock choices (read apart: it waits on instance creation)
//   formatCapabilities(c): string         the report `tstap --check` / `-v` print
//   TraceInstance.create({bufferKb, clock})
//                                         instances/tstap_<pid>_<n>: trace_clock mono,
//                                         overwrite off, buffer_size_kb; .enableEvent(sys, ev,
//                                         filter?) -> type id; .defineDynamicEvent(line) (group
//                                         must be inst.name); .setEventPids(pids, forks);
//                                         .setOption(name, on); .close() idempotent
//   reapLeftovers(): string[]             removes instances/events tstap_<pid>_* of dead pids
//                                         (`tstap --cleanup` prints the list)
//   guardCleanup(fn): unregister          runs fn on exit/uncaught exception/SIGINT/TERM/HUP
//   runCleanups()                         runs all pending cleanups now
//   safe-text.ts                          the validators every write goes through
//                                         (UnsafeTextError on refusal)
// Most callers want runtime/events (TraceSession) which wraps a TraceInstance.

export { findTracefs, assertWritable, TraceFsError, kernelErrorFor, TRACEFS_CANDIDATES } from "./tracefs.js";
export { probeCapabilities, probeReportedCapabilities, formatCapabilities, traceClocks, type Capabilities, type ReportedCapabilities } from "./capabilities.js";
export { TraceInstance, DEFAULT_BUFFER_KB, type InstanceOptions } from "./instance.js";
export { reapLeftovers, tstapDynamicEvents } from "./reap.js";
export { waitForReapers, reaperAvailable } from "./reaper.js";
export { guardCleanup, runCleanups, pendingCleanups } from "./guard.js";
export { newRunName, ownerPid } from "./names.js";
export {
  UnsafeTextError,
  safeIdent,
  safeEventName,
  safePath,
  safeSymbol,
  safeFilter,
  safePids,
  safeDynamicEventLine,
  safeRemoveLine,
  safeRelPath,
} from "./safe-text.js";
