// The kernel's tracepoints as pass 2 and 3 see them: which exist
// (events/SYSTEM/EVENT directories of tracefs) and the fields of each
// `format` file, with the script type each field reads as.
//
// Field types (decided here, documented in README's probe table):
//   integers of any width and sign (`int`, `u8`, `pid_t`, `bool`, pointers)
//       → long, sign- or zero-extended as the format's `signed:` says
//   `char NAME[N]` and `__data_loc char[] NAME` → string (bytes up to NUL)
//   other fixed arrays (`unsigned long args[6]`) → `$args[i]` is a long;
//       `$args` alone is an error; $$vars shows them as [0x1,0x2,...]
//   other `__data_loc` / `__rel_loc` arrays → string of their raw bytes
//
// The `format` parser lives in runtime/events/format.ts (the run-time
// decoder uses it too; the runtime never imports src/) and is re-exported.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { findTracefs } from "../../runtime/tracefs/tracefs.js";
import { globToRegExp } from "./glob.js";

export { globToRegExp } from "./glob.js";

export const TRACEFS = "/sys/kernel/tracing";

export type { TracepointField, TracepointFormat } from "../../runtime/events/format.js";
export { parseTracepointFormat } from "../../runtime/events/format.js";
import { parseTracepointFormat, type TracepointField, type TracepointFormat } from "../../runtime/events/format.js";
import { hostCache, onForget } from "../../runtime/host-state.js";

export interface TracepointName {
  system: string;
  event: string;
}

/** Every tracepoint of this kernel, sorted by system then event. */
/**
 * Why this kernel's tracepoints cannot be read (tracefs missing, not
 * mounted and not mountable, closed to this user); undefined when they can.
 * Mounts tracefs when we are root and it is not mounted.
 */
export function tracepointsProblem(): string | undefined {
  if (problem === null) {
    try {
      findTracefs({ mount: true });
      problem = undefined;
    } catch (err) {
      problem = (err as Error).message;
    }
  }
  return problem;
}
let problem: string | undefined | null = null;
onForget(() => {
  problem = null;
});

export function listTracepoints(tracefs = TRACEFS): TracepointName[] {
  const out: TracepointName[] = [];
  const dir = join(tracefs, "events");
  let systems: string[];
  try {
    systems = readdirSync(dir);
  } catch {
    return out;
  }
  for (const system of systems.sort()) {
    const sd = join(dir, system);
    let events: string[];
    try {
      if (!statSync(sd).isDirectory()) continue;
      events = readdirSync(sd);
    } catch {
      continue;
    }
    for (const event of events.sort()) {
      // ftrace's own record types (ftrace:print, ftrace:function...) have a format but cannot be enabled
      if (existsSync(join(sd, event, "format")) && existsSync(join(sd, event, "enable"))) out.push({ system, event });
    }
  }
  return out;
}

/**
 * The tracepoints `kernel.trace(PATTERN)` names: "SYSTEM:EVENT" (each part
 * may hold wildcards) or "EVENT" (any system).
 */
export function matchTracepoints(pattern: string, all?: readonly TracepointName[], tracefs = TRACEFS): TracepointName[] {
  const colon = pattern.indexOf(":");
  // a plain SYSTEM:EVENT is one look at its directory, not a walk of all ~2,000 events
  if (all === undefined && colon >= 0 && !/[*?[]/.test(pattern)) {
    const system = pattern.slice(0, colon);
    const event = pattern.slice(colon + 1);
    const sd = join(tracefs, "events", system);
    const plain = /^[A-Za-z0-9_.-]+$/;
    if (!plain.test(system) || !plain.test(event) || system.startsWith(".") || event.startsWith(".")) return [];
    return existsSync(join(sd, event, "format")) && existsSync(join(sd, event, "enable")) ? [{ system, event }] : [];
  }
  all ??= listTracepoints(tracefs);
  const sys = colon >= 0 ? globToRegExp(pattern.slice(0, colon)) : undefined;
  const ev = globToRegExp(colon >= 0 ? pattern.slice(colon + 1) : pattern);
  return all.filter((t) => (sys === undefined || sys.test(t.system)) && ev.test(t.event));
}

const formatCache = hostCache<string, TracepointFormat | undefined>();

/** The parsed `format` of SYSTEM:EVENT, undefined when it does not exist. */
export function readTracepointFormat(system: string, event: string, tracefs = TRACEFS): TracepointFormat | undefined {
  const key = `${tracefs}\u0000${system}:${event}`;
  if (formatCache.has(key)) return formatCache.get(key);
  let text: string | undefined;
  try {
    text = readFileSync(join(tracefs, "events", system, event, "format"), "latin1");
  } catch {
    text = undefined;
  }
  const f = text === undefined ? undefined : parseTracepointFormat(system, event, text);
  formatCache.set(key, f);
  return f;
}

/** The script type of a field read as a whole (`$name`). */
export function fieldScriptType(f: TracepointField): "long" | "string" | undefined {
  if (f.shape === "int") return "long";
  if (f.shape === "string" || f.shape === "bytes") return "string";
  return undefined;
}

/** `-L`'s variable list: ` $comm:char[16] $pid:pid_t ...`. */
export function listVars(fmt: TracepointFormat): string {
  return fmt.fields.map((f) => ` $${f.name}:${f.cType}`).join("");
}
