// How the plan's events are armed: the dynamic events the kernel can serve
// as one event are armed as one.
//
// Why: a uprobe event can hold many probes (a line naming an existing
// GROUP/EVENT, with the same argument names and types, is appended to it;
// kernels 5.7+), and the kernel waits a grace period (~40 ms here,
// synchronize_rcu_tasks_trace) for every uprobe *event* it disables, however
// many probes it holds. A marker's 1000 call sites armed as 1000 events
// took 46 s to disable; as one event, 40 ms.
//
// Probes merged into one event may fire different handlers (a glob over
// libc's 3500 functions: each function is its own probe point with its own
// pp()). Each line then carries the number of its listeners in an immediate
// fetch argument, `__site=\N`, which the event source reads to dispatch.

import type { KernelEventPlan } from "./event-def.js";

/** The fetch argument naming which listeners a probe of a merged event fires. */
export const SITE_FIELD = "__site";

/** One event as armed in the instance. */
export interface ArmedEvent {
  /** the plan whose system, event name and filter this event takes */
  first: number;
  /**
   * the plans it serves, by plan index, in classes of the same listeners:
   * class K fires when the event's __site is K (one class: no __site)
   */
  classes: number[][];
  /** the control-file lines of a dynamic event (GROUP_TOKEN for the group), all naming the first plan's event; undefined for a tracepoint */
  lines?: string[];
}

export interface ArmingOptions {
  /** a dynamic event may hold many probes, and lines may carry immediate fetch arguments (kernel 5.7+: `\imm-value` in the README) */
  multiProbe: boolean;
}

/** `p:GROUP/EVENT PLACE ARGS...`: the parts of a uprobe line the grouping compares. */
function parseLine(line: string): { head: string; place: string; args: string[] } | undefined {
  const words = line.split(" ");
  const m = /^([pr]\d*):[^/\s]+\/\S+$/.exec(words[0] ?? "");
  const place = words[1];
  if (!m || place === undefined || !place.startsWith("/")) return undefined;
  return { head: m[1]!, place, args: words.slice(2) };
}

/**
 * What must agree for probes to share an event: the probe type, argument
 * names and types (not their fetch expressions), and how records are kept.
 * Events counted in the kernel share only with events counted in the
 * kernel, whatever their listeners: uprobe_profile gives each probe of an
 * event a line (with the event's name and file, not its place) in the
 * order uprobe_events lists the event's probes with their places, so each
 * probe's count is known (runtime/events/kernel-session.ts uprobeHits).
 */
function shareKey(p: KernelEventPlan, parsed: { head: string; args: string[] }): string {
  // name=FETCH:TYPE -> name:TYPE (a type holds no ':'; a fetch expression may)
  const sig = parsed.args.map((a) => `${a.slice(0, a.indexOf("="))}:${a.slice(a.lastIndexOf(":") + 1)}`);
  const counted = p.counted ? "counted" : "";
  return [parsed.head, sig.join(" "), p.filter ?? "", String(p.targetProcess), String(p.pidScope ?? ""), String(p.userStack ?? false), counted].join("\0");
}

interface Building {
  event: ArmedEvent;
  key: string;
  places: Set<string>;
  /** dispatch (as JSON) → class index */
  classOf: Map<string, number>;
  members: { plan: number; line: string; cls: number }[];
}

/**
 * The events to arm for `plans`: uprobe events sharing what the kernel
 * needs shared become one event; every other event stays as planned.
 * Order follows the plans (each event where its first plan was).
 */
export function armedEvents(plans: readonly KernelEventPlan[], opts: ArmingOptions): ArmedEvent[] {
  const out: ArmedEvent[] = [];
  const open = new Map<string, Building[]>();
  const building: Building[] = [];
  plans.forEach((p, i) => {
    const line = p.kind === "dynamic" ? p.definition : undefined;
    const parsed = line === undefined || !opts.multiProbe || p.tracksTasks ? undefined : parseLine(line);
    if (line === undefined || parsed === undefined) {
      out.push({ first: i, classes: [[i]], ...(line !== undefined ? { lines: [line] } : {}) });
      return;
    }
    const key = shareKey(p, parsed);
    const dispatch = JSON.stringify(p.dispatch);
    // the kernel refuses the same place twice in one event: a second probe there opens another
    let b = (open.get(key) ?? []).find((x) => !x.places.has(parsed.place));
    if (!b) {
      b = { event: { first: i, classes: [], lines: [] }, key, places: new Set(), classOf: new Map(), members: [] };
      open.set(key, [...(open.get(key) ?? []), b]);
      building.push(b);
      out.push(b.event);
    }
    let cls = b.classOf.get(dispatch);
    if (cls === undefined) {
      cls = b.event.classes.length;
      b.classOf.set(dispatch, cls);
      b.event.classes.push([]);
    }
    b.event.classes[cls]!.push(i);
    b.places.add(parsed.place);
    b.members.push({ plan: i, line, cls });
  });
  for (const b of building) {
    const name = plans[b.event.first]!.event;
    const tagged = b.event.classes.length > 1;
    b.event.lines = b.members.map((m) => {
      const renamed = m.line.replace(/^([pr]\d*:[^/\s]+\/)\S+/, (_all, head: string) => `${head}${name}`);
      return tagged ? `${renamed} ${SITE_FIELD}=\\${m.cls}:u32` : renamed;
    });
  }
  return out;
}
