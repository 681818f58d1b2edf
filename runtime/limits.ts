// The run-time limits a script runs under, with SystemTap's defaults
// (stap 4.x/5.x runtime_defines.h on a 64-bit host) and `-D NAME=VALUE`.
//
// API:
//   DEFAULT_LIMITS                     the defaults, frozen
//   limits                             the live, mutable limits every runtime module reads
//   limitsFromDefines(defs)            the limits and flags `-D NAME[=VALUE]` words give
//   applyDefines(defs)                 make those the live limits
//   resetLimits()                      back to the defaults (tests)
//   maxStringBytes()                   MAXSTRINGLEN - 1: the longest string a run can make
//   truncateString(s)                  cut a run-time string to maxStringBytes()
//
// `-D` names that are not limits (user macros for embedded C in stap) are
// accepted and ignored, as stap passes them to the C compiler; only a
// limit given a value that is not a number is an error.

export interface Limits {
  /** Bytes in a string buffer, NUL included: strings hold at most MAXSTRINGLEN-1 bytes. */
  MAXSTRINGLEN: number;
  /** Entries per array (map) unless the declaration says otherwise. */
  MAXMAPENTRIES: number;
  /** Statements one probe handler may execute (non-interruptible probes). */
  MAXACTION: number;
  /** The same for interruptible probes (begin/end/timers in stap): MAXACTION * 10. */
  MAXACTION_INTERRUPTIBLE: number;
  /** Depth of nested function calls. */
  MAXNESTING: number;
  /** Lock attempts before a probe is skipped. */
  MAXTRYLOCK: number;
  /** Microseconds between lock attempts. */
  TRYLOCKDELAY: number;
  /** Errors tolerated before the run stops; 0 = the first error stops it. */
  MAXERRORS: number;
  /** Skipped probes tolerated before the run stops. */
  MAXSKIPPED: number;
  /** Frames in a backtrace. */
  MAXBACKTRACE: number;
  /** Overload detection: a window, in ns, and the busy time allowed in it. */
  STP_OVERLOAD_INTERVAL: number;
  STP_OVERLOAD_THRESHOLD: number;
  /** Linear histogram bucket limit (start/stop/interval must give at most this minus 2). */
  STP_MAX_BUCKETS: number;
  /** Bytes one print statement may produce. */
  STP_BUFFER_SIZE: number;
  /** Histogram bar width, and empty rows kept around data before eliding with `~` (negative: never elide). */
  HIST_WIDTH: number;
  HIST_ELISION: number;
  /** uprobe events one run may define (a `function("*")` on a big library is thousands; a typo should not make a million). */
  MAXUPROBES: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  MAXSTRINGLEN: 512,
  MAXMAPENTRIES: 2048,
  MAXACTION: 1000,
  MAXACTION_INTERRUPTIBLE: 10000,
  MAXNESTING: 10,
  MAXTRYLOCK: 100,
  TRYLOCKDELAY: 10,
  MAXERRORS: 0,
  MAXSKIPPED: 100,
  MAXBACKTRACE: 20,
  STP_OVERLOAD_INTERVAL: 1000000000,
  STP_OVERLOAD_THRESHOLD: 500000000,
  STP_MAX_BUCKETS: 128,
  STP_BUFFER_SIZE: 8192,
  HIST_WIDTH: 50,
  HIST_ELISION: 2,
  MAXUPROBES: 10000,
});

export const limits: Limits = { ...DEFAULT_LIMITS };

/**
 * The largest value each limit may take: past these, a run would not fail
 * cleanly but run out of what the JavaScript engine can hold (a string of
 * more than about 2^29 characters, a Map of more than 2^24 entries, an array
 * of 2^32) and end in an engine error instead of the script's.
 */
const UPPER: Readonly<Partial<Record<keyof Limits, number>>> = {
  MAXSTRINGLEN: 16 * 1024 * 1024,
  MAXMAPENTRIES: 10_000_000,
  STP_BUFFER_SIZE: 16 * 1024 * 1024,
  STP_MAX_BUCKETS: 1_000_000,
  HIST_WIDTH: 1_000_000,
  MAXBACKTRACE: 1_000_000,
};

/** Other -D names the runtime understands (flags, no value needed). */
export const flags = new Set<string>();

export function resetLimits(): void {
  Object.assign(limits, DEFAULT_LIMITS);
  flags.clear();
}

function isLimitName(name: string): name is keyof Limits {
  return Object.prototype.hasOwnProperty.call(DEFAULT_LIMITS, name);
}

/**
 * The limits and flags that `-D` definitions ("NAME" or "NAME=VALUE") give,
 * starting from the defaults. A limit needs an integer value (decimal, or 0x
 * hex); `MAXACTION` also moves MAXACTION_INTERRUPTIBLE unless that is given
 * too, as stap's `#define MAXACTION_INTERRUPTIBLE (MAXACTION * 10)` does;
 * STAP_SUPPRESS_TIME_LIMITS_ENABLE (stap's --suppress-time-limits) lifts
 * MAXACTION. Throws an Error with the message for a bad name or value.
 */
export function limitsFromDefines(defs: readonly string[]): { limits: Limits; flags: Set<string> } {
  const out: Limits = { ...DEFAULT_LIMITS };
  const named = new Set<string>();
  let interruptibleGiven = false;
  for (const def of defs) {
    const eq = def.indexOf("=");
    const name = (eq < 0 ? def : def.slice(0, eq)).trim();
    const value = eq < 0 ? undefined : def.slice(eq + 1).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid -D macro name '${name}'`);
    if (!isLimitName(name)) {
      named.add(name);
      continue;
    }
    if (value === undefined || !/^(0[xX][0-9a-fA-F]+|-?[0-9]+)[uUlL]*$/.test(value)) {
      throw new Error(`-D ${name} needs an integer value, as in -D ${name}=${DEFAULT_LIMITS[name]}`);
    }
    const big = BigInt(value.replace(/[uUlL]+$/, ""));
    const upper = UPPER[name] ?? Number.MAX_SAFE_INTEGER;
    if (big > BigInt(upper)) throw new Error(`-D ${name}=${value} is too large: at most ${upper} here`);
    const n = Number(big);
    out[name] = n;
    if (name === "MAXACTION_INTERRUPTIBLE") interruptibleGiven = true;
    if (name === "MAXACTION" && !interruptibleGiven) out.MAXACTION_INTERRUPTIBLE = n * 10;
  }
  if (named.has("STAP_SUPPRESS_TIME_LIMITS_ENABLE")) {
    out.MAXACTION = Number.MAX_SAFE_INTEGER;
    out.MAXACTION_INTERRUPTIBLE = Number.MAX_SAFE_INTEGER;
  }
  if (out.MAXSTRINGLEN < 1) out.MAXSTRINGLEN = 1;
  return { limits: out, flags: named };
}

/** Make the live limits those of `-D` definitions (see limitsFromDefines; throws the same way). */
export function applyDefines(defs: readonly string[]): void {
  const r = limitsFromDefines(defs);
  Object.assign(limits, r.limits);
  flags.clear();
  for (const f of r.flags) flags.add(f);
}

/** The longest string a run may hold, in bytes. */
export function maxStringBytes(): number {
  return Math.max(0, limits.MAXSTRINGLEN - 1);
}

/** Truncate a run-time byte string to MAXSTRINGLEN-1 bytes, as stap's fixed buffers do. */
export function truncateString(s: string): string {
  const max = limits.MAXSTRINGLEN - 1;
  return s.length > max ? s.slice(0, Math.max(0, max)) : s;
}
