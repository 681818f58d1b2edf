// Natives about the machine and tstap itself: the local time zone
// (tz_gmtoff, tz_name), the kernel's tick (HZ, jiffies), a cycle counter
// (get_cycles), and tstap's identity (stp_pid, module_name). Also the
// /proc/PID/cmdline reader and the pp() parser the context natives
// (runtime/context-kernel.ts) build cmdline_args() and ppfunc() on.
//
// None of these needs a probe context, so `systemNatives` goes into
// runtime/natives.ts's registry. tz_ctime, cmdline_arg and cmdline_str are
// script functions over these (tapsets/tzinfo.stp, tapsets/cmdline.stp).

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { kernelConfigText } from "./kernel-config.js";
import { type Long, big, norm } from "./int64.js";
import { monotonicNs } from "./clock.js";
import { truncateString } from "./limits.js";

// ---------------------------------------------------------------- time zone

interface TimeZone {
  /** seconds west of UTC, as staprun passes it (minus tm_gmtoff) */
  gmtoff: number;
  /** the zone's abbreviation (tm_zone): "UTC", "CET", "EDT"... */
  name: string;
}

// staprun samples the zone once, when the script starts: so do we, for the
// instant this module loaded (the run's start), however late it is asked.
let startMs = Date.now();
let zone: TimeZone | undefined;

/** The run starts now (a process started from a startup snapshot: not when the snapshot was built). */
export function resetRunStart(): void {
  startMs = Date.now();
  zone = undefined;
}

/**
 * glibc's view of the zone at `ms`, as staprun gets it from localtime():
 * `date` reads TZ and /etc/localtime as staprun would. Node's Date and Intl
 * (ICU) agree on the offset but not on names ("GMT+1" for CET), so they are
 * only the fallback when `date` cannot run.
 */
export function readTimeZone(ms: number): TimeZone {
  try {
    const out = execFileSync("date", ["-d", `@${Math.floor(ms / 1000)}`, "+%z %Z"], {
      encoding: "latin1",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 2000,
    }).replace(/\n$/, "");
    const m = /^([+-])(\d\d)(\d\d) (.*)$/.exec(out);
    if (m) {
      const east = (Number(m[2]) * 3600 + Number(m[3]) * 60) * (m[1] === "-" ? -1 : 1);
      return { gmtoff: 0 - east, name: m[4]! };
    }
  } catch {
    // no date(1): Node's own idea of the zone below
  }
  const d = new Date(ms);
  const part = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(d).find((p) => p.type === "timeZoneName");
  return { gmtoff: Math.round(d.getTimezoneOffset() * 60), name: part?.value ?? "UTC" };
}

function timeZone(): TimeZone {
  zone ??= readTimeZone(startMs);
  return zone;
}

export const tz_gmtoff = (): Long => timeZone().gmtoff;
// stap keeps at most 63 bytes of the name (STP_TZ_NAME_LEN).
export const tz_name = (): string => truncateString(timeZone().name.slice(0, 63));

// ---------------------------------------------------------------- HZ, jiffies, cycles

let hz: number | undefined;

/** CONFIG_HZ as the timer.jiffies probes read it (/boot/config-RELEASE, then /proc/config.gz); 250 when unknown. */
export function kernelHz(): number {
  if (hz !== undefined) return hz;
  const m = /^CONFIG_HZ=(\d+)$/m.exec(kernelConfigText(release()) ?? "");
  hz = m && Number(m[1]) > 0 ? Number(m[1]) : 250;
  return hz;
}

/**
 * The kernel's jiffies: it starts 5 minutes short of a 32-bit wrap
 * (INITIAL_JIFFIES on a 64-bit kernel) and counts HZ per second of
 * CLOCK_MONOTONIC, so this matches the real count while the machine has not
 * slept. It answers for the event being handled, as the time natives do.
 */
export function jiffies(): Long {
  const rate = BigInt(kernelHz());
  const initial = (1n << 32n) - 300n * rate;
  return norm(initial + (monotonicNs() * rate) / 1_000_000_000n);
}

/**
 * get_cycles(): Node cannot read the TSC; CLOCK_MONOTONIC in ns stands in.
 * It is read at the call, not at the event, so that differences between two
 * calls measure the work in between, as cycle counts do.
 */
export const get_cycles = (): Long => norm(process.hrtime.bigint());

// ---------------------------------------------------------------- tstap itself

/** stp_pid(): stap's is its stapio process; tstap has no other process than this one. */
export const stp_pid = (): Long => process.pid;

/**
 * module_name(): stap names its kernel module `stap_HASH_PID` (or `-m NAME`).
 * tstap loads no module; `tstap_PID` is as unique per run and stable within it.
 */
export const module_name = (): string => `tstap_${process.pid}`;

// ---------------------------------------------------------------- cmdline, pp

/** The NUL-separated argv of a process; undefined when it is gone, a kernel thread, or not ours to read. */
let ownCommandLine: string[] | undefined;

/**
 * tstap's own command line as the user typed it (`tstap ARGS...`): what
 * cmdline_*() answer outside kernel events, however node was started (a
 * startup snapshot adds node options the user never wrote).
 */
export function setOwnCommandLine(argv: readonly string[]): void {
  ownCommandLine = ["tstap", ...argv];
}

export function readCmdline(pid: number): string[] | undefined {
  if (pid === process.pid && ownCommandLine !== undefined) return ownCommandLine;
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/cmdline`, "latin1");
  } catch {
    return undefined;
  }
  if (raw === "") return undefined;
  return (raw.endsWith("\0") ? raw.slice(0, -1) : raw).split("\0");
}

/**
 * stap's cmdline_args(n, m, delim): arguments n..m (m < 0: to the last)
 * joined by delim, an empty argument after the first written `""`. This is
 * its loop, not its documentation: for 0 <= m < n it stops before n and
 * gives "", and a negative n starts the text with delim.
 */
export function cmdlineArgs(argv: readonly string[] | undefined, n: Long, m: Long, delim: string): string {
  if (argv === undefined) return "";
  const first = big(n);
  const last = big(m);
  let out = "";
  for (let i = 0; i < argv.length && (last < 0n || BigInt(i) <= last); i++) {
    const arg = argv[i]!;
    if (BigInt(i) === first) out = arg;
    else if (BigInt(i) > first) out += delim + (arg === "" ? '""' : arg);
  }
  return truncateString(out);
}

/** ppfunc(): the name in pp()'s first function("...") (else statement("...")), up to `@` or `"`. */
export function ppfunc(pp: string): string {
  for (const head of ['function("', 'statement("']) {
    const at = pp.indexOf(head);
    if (at < 0) continue;
    const rest = pp.slice(at + head.length);
    const stop = rest.search(/[@"]/);
    return truncateString(stop < 0 ? rest : rest.slice(0, stop));
  }
  return "";
}
