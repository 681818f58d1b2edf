// What pass 4 hands to pass 5: the compiled handlers and what fires them.
// Defined on the runtime side so the runtime never imports the compiler.

import type { RuntimeApi } from "./context.js";
import type { Limits } from "./limits.js";
import type { EventDef } from "./event-def.js";

export type Trigger =
  | { kind: "begin"; priority: bigint }
  | { kind: "end"; priority: bigint }
  | { kind: "error"; priority: bigint }
  | { kind: "never" }
  | { kind: "timer"; periodNs: bigint; randomizeNs?: bigint }
  | { kind: "event"; event: number };

export interface UnitProbe {
  id: number;
  trigger: Trigger;
  pp: string;
  at: string;
  /** the probe points it was derived from (the `-t` report's `from:`) */
  derivation?: string[];
}

/** The limits a unit runs under (runtime/limits.ts documents each). */
export type UnitLimits = Pick<Limits, "MAXSTRINGLEN" | "MAXMAPENTRIES" | "MAXACTION" | "MAXACTION_INTERRUPTIBLE" | "MAXNESTING" | "MAXERRORS" | "MAXSKIPPED">;

export interface CompiledHandlers {
  /** indexed by UnitProbe.id */
  handlers: (() => void)[];
  /** by UnitProbe.id, for probes that may be counted in the kernel: the handler's updates applied `hits` times at once */
  counters?: Record<number, (hits: number) => void>;
}

export interface LoadedUnit {
  probes: UnitProbe[];
  limits: UnitLimits;
  /** the -D words of the run (NAME or NAME=VALUE), applied to runtime/limits.ts */
  defines: string[];
  /** the tracefs events the handlers listen to, checked against this kernel by pass 4 */
  events: EventDef[];
  /** runs the generated module against a runtime */
  instantiate(api: RuntimeApi): CompiledHandlers;
}
