// Pass 4's check of a plan's event definitions against this kernel's
// tracefs (DESIGN decision 7), before anything is armed: the files each
// definition needs exist, dynamic event lines and filters pass the gate
// every tracefs write goes through (runtime/tracefs/safe-text.ts), and the
// pid selection is available. Each error names the probe point, where it
// was written, and what this kernel lacks.

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Diagnostic } from "../diagnostic.js";
import { error } from "../diagnostic.js";
import type { Plan, ProbeMeta } from "../translate/plan.js";
import { controlFileOf, instantiateDefinition, instantiateFilter, type EventDef } from "../../runtime/event-def.js";
import type { Capabilities } from "./tracefs/index.js";
import { checkDynamicEventLine, checkFilter } from "./tracefs/index.js";

/** The group a dynamic line is checked with (the run's own is named when it starts). */
const SAMPLE_GROUP = "tstap_1_0";

const CONTROL_FILE_CONFIG: Record<string, string> = { uprobe_events: "CONFIG_UPROBE_EVENTS", kprobe_events: "CONFIG_KPROBE_EVENTS" };

export function validateEvents(plan: Plan, caps: Capabilities): Diagnostic[] {
  const out: Diagnostic[] = [];
  const probeOf = (e: EventDef): ProbeMeta | undefined => plan.probes.find((p) => e.probes.includes(p.id));
  const fail = (e: EventDef, what: string): void => {
    const p = probeOf(e);
    out.push(error("load error", p ? `probe point '${p.pp}' ${what}` : `event ${e.definition} ${what}`, p?.pos));
  };
  if (plan.events.length === 0) return out;
  if (caps.root === undefined || caps.unusable !== undefined) {
    const p = plan.events.map(probeOf).find((x) => x !== undefined);
    out.push(error("load error", `${p ? `probe point '${p.pp}' needs` : "kernel probes need"} tracefs, which cannot be used here: ${caps.unusable ?? "not found"}`, p?.pos));
    return out;
  }
  const root = caps.root;
  if (!caps.instances) fail(plan.events[0]!, "needs tracefs instances (instances/), which this kernel does not have");
  if (!caps.tracePipeRaw) fail(plan.events[0]!, "needs per_cpu/cpuN/trace_pipe_raw, which this kernel does not have");
  for (const e of plan.events) {
    if (e.kind === "tracepoint") {
      if (!existsSync(join(root, "events", e.system, e.event, "format"))) fail(e, `needs the tracepoint ${e.system}:${e.event}, which this kernel does not have`);
    } else {
      const file = controlFileOf(e.probeType);
      const has = file === "uprobe_events" ? caps.uprobeEvents : caps.kprobeEvents;
      if (!has) fail(e, `needs ${file} (${CONTROL_FILE_CONFIG[file]}), which this kernel does not have`);
      const why = checkDynamicEventLine(instantiateDefinition(e.definition, SAMPLE_GROUP), SAMPLE_GROUP);
      if (why !== undefined) fail(e, `cannot be defined: ${why}`);
    }
    if (e.filter !== undefined) {
      const why = checkFilter(instantiateFilter(e.filter, 1));
      if (why !== undefined) fail(e, `has a filter tracefs would not take: ${why}`);
    }
    if (e.targetProcess && !caps.setEventPid) fail(e, "needs set_event_pid to follow the target process, which this kernel does not have");
  }
  return out;
}

/**
 * Whether this kernel can count an event pass 3 marked counted: it needs
 * uprobe_profile, and under a target set_event_notrace_pid (the records of
 * processes outside its tree are taken off). Otherwise the event records
 * each hit and its handler runs, as for any probe.
 */
export function kernelCanCount(e: EventDef, caps: Capabilities): boolean {
  return caps.uprobeProfile && (!e.targetProcess || caps.setEventNotracePid);
}
