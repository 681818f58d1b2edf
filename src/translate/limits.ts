// SystemTap's run-time limits for code generation, from the same `-D`
// parsing the runtime applies (runtime/limits.ts).

import type { Diagnostic } from "../diagnostic.js";
import { error } from "../diagnostic.js";
import type { Limits } from "./plan.js";
import { DEFAULT_LIMITS, limitsFromDefines } from "../../runtime/limits.js";

/** `-D` definitions as the runtime takes them: NAME or NAME=VALUE. */
export function defineWords(defines: ReadonlyMap<string, string>): string[] {
  return [...defines].map(([k, v]) => (v === "" ? k : `${k}=${v}`));
}

export function readLimits(defines: ReadonlyMap<string, string>, diags: Diagnostic[]): Limits {
  let l: Limits = DEFAULT_LIMITS;
  try {
    l = limitsFromDefines(defineWords(defines)).limits;
  } catch (e) {
    diags.push(error("translate error", (e as Error).message));
  }
  const { MAXSTRINGLEN, MAXMAPENTRIES, MAXACTION, MAXACTION_INTERRUPTIBLE, MAXNESTING, MAXERRORS, MAXSKIPPED } = l;
  return { MAXSTRINGLEN, MAXMAPENTRIES, MAXACTION, MAXACTION_INTERRUPTIBLE, MAXNESTING, MAXERRORS, MAXSKIPPED };
}
