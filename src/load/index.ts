// Pass 4: the plan → a checked, loadable unit. The generated JavaScript is
// compiled here; every native it calls must exist in the runtime; every
// event definition is checked against this kernel's tracefs (validate.ts).

import type { Diagnostic } from "../diagnostic.js";
import { error } from "../diagnostic.js";
import type { Plan } from "../translate/plan.js";
import type { LoadedUnit } from "../../runtime/unit.js";
import { lookupNative } from "../../runtime/native-registry.js";
import { kernelCanCount, validateEvents } from "./validate.js";
import { capabilities, type Capabilities } from "./tracefs/index.js";
import { compileModule, nativesUsed } from "./compile.js";
import { defineWords } from "../translate/limits.js";

export interface LoadOptions {
  defines?: ReadonlyMap<string, string>;
  verbose?: number;
  /** what the event definitions are checked against (default: this kernel's, probed once) */
  capabilities?: Capabilities;
}

export async function load(plan: Plan, _opts: LoadOptions): Promise<{ unit?: LoadedUnit; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  const factory = compileModule(plan.code);
  if (typeof factory === "string") {
    diagnostics.push(error("load error", `internal: generated code does not compile: ${factory}`));
    return { diagnostics };
  }
  for (const { name, arity } of nativesUsed(plan.code)) {
    if (!lookupNative(name, arity)) diagnostics.push(error("load error", `function '${name}' with ${arity} argument${arity === 1 ? "" : "s"} is not implemented by the tstap runtime`));
  }
  if (diagnostics.length > 0) return { diagnostics };
  const caps = (): Capabilities => _opts.capabilities ?? capabilities();
  if (plan.events.length > 0) diagnostics.push(...validateEvents(plan, caps()));
  if (diagnostics.length > 0) return { diagnostics };
  // probes counted in the kernel need its hit counts (and, under a target,
  // a selection of every task but its tree); without them, a record per hit
  for (const e of plan.events) if (e.counted && !kernelCanCount(e, caps())) e.counted = false;
  const unit: LoadedUnit = {
    probes: plan.probes.map((p) => ({ id: p.id, trigger: p.trigger, pp: p.pp, at: p.at, ...(p.derivation ? { derivation: p.derivation } : {}) })),
    limits: { ...plan.limits },
    events: plan.events,
    defines: defineWords(new Map([...plan.program.defines, ...(_opts.defines ?? new Map<string, string>())])),
    instantiate: (api) => factory(api),
  };
  return { unit, diagnostics };
}
