// `-vv` after pass 3: what tstap chose for each probe, where stap's report
// would show its C and kbuild steps. One line per probe (how it fires), one
// per tracefs event (what it is, who listens, the filter the kernel applies
// or why there is none, and how the event's strings are read).

import type { Plan, EventDef } from "../translate/plan.js";

export function describePlanChoices(plan: Plan, unoptimized: boolean): string[] {
  const out: string[] = [];
  for (const p of plan.probes) {
    const t = p.trigger;
    let how: string;
    switch (t.kind) {
      case "begin":
      case "end":
      case "error":
        how = `runs in tstap at ${t.kind === "begin" ? "start, before any event is handled" : t.kind === "end" ? "the end of the run" : "the end of a run stopped by errors"}`;
        break;
      case "never":
        how = "never runs";
        break;
      case "timer":
        how = `a timer in tstap every ${t.periodNs}ns${t.randomizeNs ? ` (randomized by up to ${t.randomizeNs}ns)` : ""}; no kernel event`;
        break;
      case "event": {
        const e = plan.events[t.event];
        how = e ? `tracefs ${e.kind === "tracepoint" ? "tracepoint" : e.probeType} ${eventName(e)}` : "a tracefs event";
        break;
      }
    }
    out.push(`probe ${p.pp} (${p.at}): ${how}`);
  }
  if (plan.events.length > 0) {
    out.push("tracefs: events enabled in a private instance, read as binary records from each CPU's trace_pipe_raw and merged by timestamp");
  }
  for (const e of plan.events) {
    const what: string[] = [];
    if (e.kind === "dynamic") what.push(`defined as '${e.definition}'`);
    what.push(e.probes.length > 0 ? `fires probe${e.probes.length === 1 ? "" : "s"} ${e.probes.join(",")}` : "fires no probe");
    if (e.filter !== undefined) what.push(`filter pushed down to the kernel: ${e.filter}`);
    else what.push(`no filter pushed down (${unoptimized ? "-u" : "no condition the kernel can evaluate"})`);
    const outside = e.targetProcess ? "the target's tree" : e.pidScope !== undefined ? `process ${e.pidScope}'s tree` : undefined;
    if (e.counted) what.push(`counted in the kernel (uprobe_profile), no record per hit${outside ? `; only processes outside ${outside} are recorded, their hits taken off the count (set_event_notrace_pid, options/event-fork)` : ""}`);
    else if (e.targetProcess) what.push("target process only (set_event_pid, options/event-fork)");
    if (e.pidScope !== undefined && !e.counted) what.push(`process ${e.pidScope} only (set_event_pid, options/event-fork)`);
    if (e.notCounted !== undefined) what.push(`recorded per hit, not counted in the kernel: ${e.notCounted}`);
    if (e.tracksTasks) what.push("feeds the task table (pid, ppid, execname, credentials at the event)");
    what.push(stringsOf(e));
    out.push(`event ${eventName(e)}: ${what.join("; ")}`);
  }
  return out;
}

function eventName(e: EventDef): string {
  return e.kind === "tracepoint" ? `${e.system}:${e.event}` : `${e.event} (${e.place})`;
}

/** How the strings a handler reads get out of the kernel. */
function stringsOf(e: EventDef): string {
  if (e.kind === "tracepoint") return "strings come from the record (the tracepoint copied them at the event)";
  const strings = e.fetchArgs.filter((a) => a.type === "string" || a.type === "ustring");
  if (strings.length === 0) return "no string fetched";
  return `strings fetched by the kernel at the event: ${strings.map((a) => `${a.name}=${a.fetch}:${a.type}`).join(", ")}`;
}
