// SystemTap's run-time limits and their -D overrides.

import type { Diagnostic } from "../diagnostic.js";
import { error } from "../diagnostic.js";
import type { Limits } from "./plan.js";
import { DEFAULT_LIMITS } from "../../runtime/limits.js";

// the runtime's defaults (64-bit hosts: a string holds MAXSTRINGLEN-1 bytes plus the NUL)
const defaults = DEFAULT_LIMITS;

export function readLimits(defines: ReadonlyMap<string, string>, diags: Diagnostic[]): Limits {
  const num = (name: string, dflt: number): number => {
    const v = defines.get(name);
    if (v === undefined) return dflt;
    const t = v.trim();
    if (!/^(0x[0-9a-fA-F]+|[0-9]+)[LlUu]*$/.test(t)) {
      diags.push(error("translate error", `invalid value '${v}' for -D ${name}: expected a non-negative integer`));
      return dflt;
    }
    return Number(BigInt(t.replace(/[LlUu]+$/, "")));
  };
  const l: Limits = {
    MAXSTRINGLEN: num("MAXSTRINGLEN", defaults.MAXSTRINGLEN),
    MAXMAPENTRIES: num("MAXMAPENTRIES", defaults.MAXMAPENTRIES),
    MAXACTION: num("MAXACTION", defaults.MAXACTION),
    MAXACTION_INTERRUPTIBLE: 0,
    MAXNESTING: num("MAXNESTING", defaults.MAXNESTING),
    MAXERRORS: num("MAXERRORS", defaults.MAXERRORS),
    MAXSKIPPED: num("MAXSKIPPED", defaults.MAXSKIPPED),
  };
  l.MAXACTION_INTERRUPTIBLE = num("MAXACTION_INTERRUPTIBLE", l.MAXACTION * 10);
  if (defines.has("STAP_SUPPRESS_TIME_LIMITS_ENABLE")) {
    // stap's --suppress-time-limits: no MAXACTION
    l.MAXACTION = Number.MAX_SAFE_INTEGER;
    l.MAXACTION_INTERRUPTIBLE = Number.MAX_SAFE_INTEGER;
  }
  if (l.MAXSTRINGLEN < 1) l.MAXSTRINGLEN = 1;
  return l;
}
