// The execution plan: what pass 3 hands to pass 4.
//
// `code` is the body of one JavaScript function taking the runtime (`$R`)
// and returning the compiled handlers (see runtime/context.ts, CompiledUnit).
// It is readable on purpose: `-p3` prints it.

import type { Program } from "../elaborate/program.js";
import type { Pos } from "../parse/ast.js";
import type { Trigger, UnitLimits } from "../../runtime/unit.js";
import type { EventDef } from "../../runtime/event-def.js";

export type { EventDef } from "../../runtime/event-def.js";

/** What fires a probe handler (the runtime's own type: pass 4 hands it over as is). */
export type ProbeKind = Trigger;

export interface ProbeMeta {
  /** index into the handlers the generated code returns */
  id: number;
  trigger: ProbeKind;
  /** pp(): the expanded probe point */
  pp: string;
  /** where the probe was written, `file:line:col` */
  at: string;
  /** the same, for diagnostics about the probe (pass 4 names it) */
  pos: Pos;
  /** the JavaScript function name of the handler in `code` */
  handler: string;
  /** the probe points it was derived from, written ones last (`-t` prints them) */
  derivation?: string[];
  /** MAXACTION budget kind: begin/end/error run in process context (interruptible) */
  interruptible: boolean;
}

/** SystemTap's run-time limits, after `-D NAME=VALUE`. */
export type Limits = UnitLimits;

export interface Plan {
  program: Program;
  /** body of `function ($R) { ... }` */
  code: string;
  probes: ProbeMeta[];
  events: EventDef[];
  limits: Limits;
}
