// What this kernel's tracefs can do (DESIGN decision 7), probed without
// changing anything: what a run needs is files that exist (pass 4 asks, in
// every run); what only `tstap --check` reports (formatCapabilities) adds
// the README's syntax summary and the kernel config when /proc/config.gz is
// readable.

import { procConfigText } from "../kernel-config.js";
import { newRunName } from "./names.js";
import { safeDynamicEventLine, safeRemoveLine } from "./safe-text.js";
import { assertWritable, exists, findTracefs, readText, TraceFsError, writeControl } from "./tracefs.js";

export interface Capabilities {
  /** the tracefs root, undefined when there is none */
  root?: string;
  /** why tracefs cannot be used (missing, not writable): undefined when usable */
  unusable?: string;
  /** where tracefs is mounted when it is there but closed to this user */
  mountedAt?: string;
  writable: boolean;
  instances: boolean;
  tracePipeRaw: boolean;
  dynamicEvents: boolean;
  kprobeEvents: boolean;
  uprobeEvents: boolean;
  userStackTrace: boolean;
  recordTgid: boolean;
  eventFork: boolean;
  setEventPid: boolean;
  /** set_event_notrace_pid: an instance may record every task but some */
  setEventNotracePid: boolean;
  /** uprobe_profile: the kernel's hit count of each uprobe */
  uprobeProfile: boolean;
  bufferPercent: boolean;
  subbufSize: boolean;
}

/** A CONFIG_ option's value in /proc/config.gz ("n" when "is not set"), undefined when the file cannot be read or does not name it. */
function kernelConfigOption(name: string): string | undefined {
  const text = procConfigText();
  if (text === undefined) return undefined;
  const set = new RegExp(`^${name}=(.*)$`, "m").exec(text);
  if (set) return set[1];
  return new RegExp(`^# ${name} is not set$`, "m").test(text) ? "n" : undefined;
}

function emptyCaps(unusable: string, root?: string): Capabilities {
  return {
    root,
    unusable,
    writable: false,
    instances: false,
    tracePipeRaw: false,
    dynamicEvents: false,
    kprobeEvents: false,
    uprobeEvents: false,
    userStackTrace: false,
    recordTgid: false,
    eventFork: false,
    setEventPid: false,
    setEventNotracePid: false,
    uprobeProfile: false,
    bufferPercent: false,
    subbufSize: false,
  };
}

/** Probes the running kernel. Never throws: an unusable tracefs is reported in `unusable`. */
export function probeCapabilities(): Capabilities {
  let root: string;
  try {
    root = findTracefs();
  } catch (err) {
    const caps = emptyCaps(err instanceof TraceFsError ? err.message : String(err));
    // found, but closed to this user: say where, not "not found"
    if (err instanceof TraceFsError && err.code === "EACCES") caps.mountedAt = /mounted on (\S+)/.exec(err.message)?.[1];
    return caps;
  }
  const caps = emptyCaps("", root);
  caps.unusable = undefined;
  try {
    assertWritable(root);
    caps.writable = true;
  } catch (err) {
    caps.unusable = err instanceof TraceFsError ? err.message : String(err);
  }
  caps.instances = exists(root, "instances");
  caps.tracePipeRaw = exists(root, "per_cpu/cpu0/trace_pipe_raw");
  caps.dynamicEvents = exists(root, "dynamic_events");
  caps.kprobeEvents = exists(root, "kprobe_events");
  caps.uprobeEvents = exists(root, "uprobe_events");
  caps.userStackTrace = exists(root, "options/userstacktrace");
  caps.recordTgid = exists(root, "options/record-tgid");
  caps.eventFork = exists(root, "options/event-fork");
  caps.setEventPid = exists(root, "set_event_pid");
  caps.setEventNotracePid = exists(root, "set_event_notrace_pid");
  caps.uprobeProfile = exists(root, "uprobe_profile");
  caps.bufferPercent = exists(root, "buffer_percent");
  caps.subbufSize = exists(root, "buffer_subbuf_size_kb");
  return caps;
}

/** What only `tstap --check` reports: no run uses it, and finding it out costs a run's pass 4 time or a write. */
export interface ReportedCapabilities {
  /** `e:` event probes (CONFIG_EPROBE_EVENTS) */
  eventProbes: boolean;
  /** `hist:` triggers (CONFIG_HIST_TRIGGERS) */
  histTriggers: boolean;
  triggers: boolean;
  /** where each answer came from when it was not a plain file test */
  notes: string[];
}

/**
 * Probes what only the report shows, on a usable tracefs: the kernel config
 * (a gunzip of /proc/config.gz), the README, and without the config a
 * trial event probe defined and removed at once.
 */
export function probeReportedCapabilities(c: Capabilities): ReportedCapabilities {
  const r: ReportedCapabilities = { eventProbes: false, histTriggers: false, triggers: false, notes: [] };
  const root = c.root;
  if (root === undefined) return r;
  const readme = readText(root, "README");
  // the README lists the `e:` syntax whatever the config: trust the config when we can read it
  const eprobeConfig = kernelConfigOption("CONFIG_EPROBE_EVENTS");
  if (eprobeConfig !== undefined) {
    r.eventProbes = eprobeConfig === "y" && c.dynamicEvents;
    r.notes.push(`event probes: CONFIG_EPROBE_EVENTS=${eprobeConfig} (/proc/config.gz)`);
  } else if (c.writable && c.dynamicEvents) {
    // the README lists `e:` on kernels without eprobes too: define one in a group of our own and remove it at once
    r.eventProbes = tryEventProbe(root);
    r.notes.push("event probes: tried defining one (no /proc/config.gz)");
  }
  r.triggers = exists(root, "events/sched/sched_switch/trigger");
  r.histTriggers = exists(root, "events/sched/sched_switch/hist") || /\bhist trigger/i.test(readme.replace(/\s+/g, " ")) || /\bhist:/.test(readme);
  return r;
}

/**
 * The trace_clock choices (for `tstap --check`), read apart from the
 * capabilities: pass 4 asks for those while the run's instance is being
 * made, and the top-level trace_clock waits for that (measured: 16 ms).
 */
export function traceClocks(root: string): string[] {
  return readText(root, "trace_clock")
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((c) => c.replace(/^\[|\]$/g, ""));
}

function tryEventProbe(root: string): boolean {
  const group = newRunName();
  try {
    writeControl(root, "dynamic_events", safeDynamicEventLine(`e:${group}/cap sched.sched_switch`, group) + "\n", "append");
  } catch {
    return false;
  }
  try {
    writeControl(root, "dynamic_events", safeRemoveLine(group, "cap") + "\n", "append");
  } catch {
    // left for reapLeftovers (named after our pid)
  }
  return true;
}

const yes = (b: boolean): string => (b ? "yes" : "no");

/** The printable report (`tstap --check`, `-v`). */
export function formatCapabilities(c: Capabilities): string {
  const lines: string[] = [];
  if (c.root === undefined && c.mountedAt !== undefined) {
    lines.push(`tracefs: ${c.mountedAt} (found, not accessible: ${c.unusable})`);
    return lines.join("\n") + "\n";
  }
  lines.push(`tracefs: ${c.root ?? "not found"}${c.unusable ? ` (unusable: ${c.unusable})` : c.writable ? " (writable)" : ""}`);
  if (c.root === undefined) return lines.join("\n") + "\n";
  const row = (name: string, ok: boolean, what: string): void => {
    lines.push(`  ${name.padEnd(18)} ${yes(ok).padEnd(4)} ${what}`);
  };
  const r = probeReportedCapabilities(c);
  row("instances", c.instances, "private buffers per run (instances/)");
  row("trace_pipe_raw", c.tracePipeRaw, "binary per-CPU event stream");
  row("tracepoints", exists(c.root, "events"), "kernel.trace(), syscall.*, process.* probes");
  row("uprobe_events", c.uprobeEvents, "process(...).function/.statement/.mark probes");
  row("kprobe_events", c.kprobeEvents, "kernel.function()/module() probes");
  row("dynamic_events", c.dynamicEvents, "generic dynamic event control file");
  row("event probes", r.eventProbes, "e: probes (fields of one event re-read)");
  row("triggers", r.triggers, "events/*/trigger");
  row("hist triggers", r.histTriggers, "in-kernel aggregation (hist:)");
  row("userstacktrace", c.userStackTrace, "ubacktrace() (frame-pointer user stacks)");
  row("record-tgid", c.recordTgid, "tid -> tgid map (saved_tgids)");
  row("event-fork", c.eventFork, "-c/-x follow children (set_event_pid)");
  row("buffer_percent", c.bufferPercent, "reader wake-up threshold");
  const clocks = traceClocks(c.root);
  lines.push(`  ${"trace clocks".padEnd(18)} ${clocks.join(" ")}${clocks.includes("mono") ? " (tstap uses mono)" : ""}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  const missing: string[] = [];
  if (!c.kprobeEvents) missing.push("kernel.function() and module() probes need kprobe_events (CONFIG_KPROBE_EVENTS)");
  if (!c.uprobeEvents) missing.push("process() function/statement/mark probes need uprobe_events (CONFIG_UPROBE_EVENTS)");
  if (!c.userStackTrace) missing.push("ubacktrace() needs options/userstacktrace");
  for (const m of missing) lines.push(`  unsupported here: ${m}`);
  return lines.join("\n") + "\n";
}
