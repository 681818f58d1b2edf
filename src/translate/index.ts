// Pass 3: the resolved program → an execution plan (generated JavaScript for
// every handler and function, probe metadata, tracefs event definitions).

import type { Diagnostic } from "../diagnostic.js";
import { hasErrors } from "../diagnostic.js";
import type { Program } from "../elaborate/program.js";
import { Gen } from "./gen-context.js";
import { defineWords, readLimits } from "./limits.js";
import { DEFAULT_LIMITS, limitsFromDefines } from "../../runtime/limits.js";

function limitsOf(defines: ReadonlyMap<string, string>) {
  try {
    return limitsFromDefines(defineWords(defines)).limits;
  } catch {
    return DEFAULT_LIMITS; // readLimits reported it
  }
}
import { generate } from "./module.js";
import type { Plan } from "./plan.js";
import { describeEvent, EventPlan } from "./events.js";
import { RETURN_NOT_COUNTED } from "./count-only.js";

export type { Plan, ProbeMeta, EventDef, Limits, ProbeKind } from "./plan.js";

export interface TranslateOptions {
  unoptimized?: boolean;
  defines?: ReadonlyMap<string, string>;
  targetPid?: number;
  hasTargetCommand?: boolean;
  /** -t: every hit runs its handler (timed), none is counted in the kernel */
  timing?: boolean;
}

export function translate(p: Program, opts: TranslateOptions): { plan?: Plan; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const defines = new Map([...p.defines, ...(opts.defines ?? new Map<string, string>())]);
  const limits = readLimits(defines, diagnostics);
  const g = new Gen(p, limits);
  const hasTarget = opts.targetPid !== undefined || opts.hasTargetCommand === true;
  const maxDynamic = limitsOf(defines).MAXUPROBES;
  const planner = new EventPlan({ unoptimized: opts.unoptimized === true, hasTarget, maxStringLen: limits.MAXSTRINGLEN, maxDynamic }, (message, pos, notes) => g.fail(message, pos, notes));
  let generated;
  try {
    // a count-only probe is counted in the kernel unless -u (no optimization) or -t (each hit timed)
    // each probe's kinds of dynamic event, once (a glob over libc: thousands of probes and events)
    let kinds: Map<number, Set<string>> | undefined;
    const mayCount = (id: number): boolean | string => {
      if (kinds === undefined) {
        kinds = new Map();
        for (const e of planner.events) if (e.kind === "dynamic") for (const p of e.probes) kinds.set(p, (kinds.get(p) ?? new Set()).add(e.probeType));
      }
      const mine = kinds.get(id);
      if (mine?.has("uprobe")) return true;
      return mine?.has("uretprobe") ? RETURN_NOT_COUNTED : false;
    };
    generated = generate(g, p, planner, opts.unoptimized !== true && opts.timing !== true ? { mayCount } : {});
  } catch (err) {
    diagnostics.push({ severity: "error", kind: "translate error", message: `internal: ${err instanceof Error ? err.message : String(err)}` });
    return { diagnostics };
  }
  diagnostics.push(...g.diags);
  if (hasErrors(diagnostics)) return { diagnostics };
  const events = planner.finish(p, generated.countable, generated.uncounted);
  return { plan: { program: p, code: generated.code, probes: generated.probes, events, limits }, diagnostics };
}

function describeTrigger(t: Plan["probes"][number]["trigger"]): string {
  switch (t.kind) {
    case "begin":
    case "end":
    case "error":
      return `${t.kind} priority=${t.priority}`;
    case "never":
      return "never";
    case "timer":
      return `timer period=${t.periodNs}ns${t.randomizeNs ? ` randomize=${t.randomizeNs}ns` : ""}`;
    case "event":
      return `event #${t.event}`;
  }
}

/** -p3: the tracefs event lines, the probe table, then the generated code. */
export function formatPlan(plan: Plan): string {
  const out: string[] = [];
  out.push("# tracefs events");
  if (plan.events.length === 0) out.push("# (none)");
  for (const e of plan.events) out.push(`${e.definition}    # ${e.kind} -> probes ${e.probes.join(",")}`, ...describeEvent(e));
  out.push("");
  out.push("# probes");
  for (const p of plan.probes) out.push(`# ${p.handler}: ${p.pp} (${describeTrigger(p.trigger)}) at ${p.at}`);
  out.push("");
  out.push("# limits");
  out.push("# " + Object.entries(plan.limits).map(([k, v]) => `${k}=${v}`).join(" "));
  out.push("");
  // the comment block names paths and points from the script: a newline (or
  // any control character) in one must not end its comment line
  // eslint-disable-next-line no-control-regex
  const header = out.map((line) => line.replace(/[\x00-\x1f\x7f]/g, (c) => (c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)));
  return [...header, plan.code].join("\n");
}
