// Context functions that answer for the event being handled: its task (from
// the task table, as it was when the event fired) and its CPU. (The time
// functions are runtime/natives-time.ts, which read runtime/clock.ts: the
// event's time comes from here, through clock.ts's event time source.)
//
// The kernel event source sets `current.event` to a KernelEventContext
// before running a handler. Outside kernel events (begin, end, timers) these
// answer for tstap itself, as stap's answer for its own stapio process
// there.

import { readFileSync } from "node:fs";
import { current, currentKernelEvent, type DecodedEvent, type FieldValue, type KernelEventContext } from "./probe-context.js";
import { realtimeOffsetNs, setEventTimeSource, type EventTime } from "./clock.js";
import type { Long } from "./int64.js";
import type { NativeDef, NativeValue } from "./natives.js";
import { TaskTable } from "./tasks.js";
import { ScriptError } from "./errors.js";
import { cmdlineArgs, ppfunc, readCmdline } from "./natives-system.js";
import { string_quoted, textStrRead } from "./strings.js";
import { limits } from "./limits.js";

export { isKernelEvent, type DecodedEvent, type FieldValue, type KernelEventContext } from "./probe-context.js";

/** The run's kernel-side state the context functions read. */
export interface KernelRunState {
  tasks: TaskTable;
  /** target(): -c's pid or -x PID, 0 without */
  target: number;
  /** realtime ns = trace clock ns + this */
  realtimeOffsetNs: bigint;
  /** pn() of probes whose written point differs from pp() (kernel probes with wildcards) */
  pnByProbe: Map<number, string>;
}

export const kernelRun: KernelRunState = {
  tasks: new TaskTable(),
  target: 0,
  realtimeOffsetNs: 0n,
  pnByProbe: new Map(),
};

/**
 * The offset from a trace clock to CLOCK_REALTIME, sampled now. `mono`,
 * `boot` and `local` (sched_clock, which on x86 counts like CLOCK_MONOTONIC
 * while the machine has not slept) are read against Node's monotonic clock;
 * `boot` adds the time suspended, from /proc/uptime vs CLOCK_MONOTONIC.
 */
export function realtimeOffset(traceClock: string): bigint {
  const monoNs = process.hrtime.bigint();
  let offset = realtimeOffsetNs();
  if (traceClock === "boot") {
    try {
      const up = readFileSync("/proc/uptime", "latin1").split(" ")[0]!;
      const bootNs = BigInt(Math.round(Number(up) * 1e9));
      // boot = mono + suspended; suspended only matters when it is large.
      const suspended = bootNs - monoNs;
      if (suspended > 50_000_000n) offset -= suspended;
    } catch {
      // no /proc: keep the monotonic offset
    }
  }
  return offset;
}

const ev = currentKernelEvent;

/** The time of the event being handled, computed only when a time function asks. */
class KernelEventTime implements EventTime {
  e: KernelEventContext | undefined;
  get monotonicNs(): bigint {
    return this.e!.tsNs;
  }
  get realtimeNs(): bigint {
    return this.e!.tsNs + kernelRun.realtimeOffsetNs;
  }
  get cpu(): number {
    return this.e!.cpu;
  }
}

const eventTime = new KernelEventTime();

// A handler fired by a kernel event answers the time functions with the
// event's time: read from the run loop's current.event when a time function
// asks (every handler sets current.event, undefined outside kernel events),
// so the dispatcher sets and clears nothing per event.
setEventTimeSource(() => {
  const e = ev();
  if (e === undefined) return undefined;
  eventTime.e = e;
  return eventTime;
});

const idCache = new Map<number, { uid: number; euid: number; gid: number; egid: number }>();

/** uid/gid of a task are in no event record: /proc, cached per tgid until its next exec. */
function ids(tid: number): { uid: number; euid: number; gid: number; egid: number } {
  const tgid = kernelRun.tasks.tgid(tid);
  let c = idCache.get(tgid);
  if (c) return c;
  c = { uid: -1, euid: -1, gid: -1, egid: -1 };
  try {
    const s = readFileSync(`/proc/${tid}/status`, "latin1");
    const u = /^Uid:\t(\d+)\t(\d+)/m.exec(s);
    const g = /^Gid:\t(\d+)\t(\d+)/m.exec(s);
    if (u) c = { ...c, uid: Number(u[1]), euid: Number(u[2]) };
    if (g) c = { ...c, gid: Number(g[1]), egid: Number(g[2]) };
  } catch {
    // gone before we asked: -1 says we could not know
  }
  idCache.set(tgid, c);
  return c;
}

/** The -c command and the -x process: their task entry and credentials, read while they are alive. */
export function adoptTarget(pid: number, heldShell?: string): void {
  if (pid <= 0) return;
  // the -c command still held: a shell of ours, with our credentials (tasks.ts adoptHeld)
  if (heldShell !== undefined) {
    kernelRun.tasks.adoptHeld(pid, heldShell);
    idCache.set(pid, { uid: process.getuid?.() ?? -1, euid: process.geteuid?.() ?? -1, gid: process.getgid?.() ?? -1, egid: process.getegid?.() ?? -1 });
    return;
  }
  kernelRun.tasks.adopt(pid);
  ids(pid);
}

/** A new process starts with its parent's credentials. */
export function inheritIds(parentTgid: number, childTgid: number): void {
  const p = idCache.get(parentTgid);
  if (p && p.uid !== -1) idCache.set(childTgid, { ...p });
}

/** set*id calls entered and not yet returned, by tid: the call and its arguments */
const pendingCred = new Map<number, { call: string; args: number[] }>();
const UNCHANGED = 0xffffffff; // (uid_t)-1: leave this id as it is

/**
 * sys_enter_set*id / sys_exit_set*id: when the call succeeds, the task's ids
 * change as the call's arguments say (setuid/setgid as root set the real id
 * too, as CAP_SETUID/CAP_SETGID allow; otherwise only the effective one).
 */
const CREDENTIAL_CALL = /^sys_(enter|exit)_(set(?:res|re)?[ug]id)$/;

/** Whether a syscalls event is one credentialCall() follows. */
export function isCredentialCall(event: string): boolean {
  return CREDENTIAL_CALL.test(event);
}

export function credentialCall(event: string, ev: DecodedEvent): void {
  const m = CREDENTIAL_CALL.exec(event);
  if (!m) return;
  const [, phase, call] = m as unknown as [string, string, string];
  if (phase === "enter") {
    const names = call.endsWith("uid") ? ["uid", "ruid", "euid"] : ["gid", "rgid", "egid"];
    pendingCred.set(ev.tid, { call, args: names.map((n) => Number(ev.get(n) ?? UNCHANGED)) });
    return;
  }
  const pending = pendingCred.get(ev.tid);
  pendingCred.delete(ev.tid);
  if (!pending || pending.call !== call || Number(ev.get("ret") ?? -1) !== 0) return;
  const c = { ...ids(ev.tid) };
  if (c.uid === -1) return; // never knew them: nothing to change
  const [single, real, effective] = pending.args as [number, number, number];
  const user = call.endsWith("uid");
  if (call === "setuid" || call === "setgid") {
    const privileged = c.euid === 0;
    if (user) {
      if (privileged) c.uid = single;
      c.euid = single;
    } else {
      if (privileged) c.gid = single;
      c.egid = single;
    }
  } else if (user) {
    if (real !== UNCHANGED) c.uid = real;
    if (effective !== UNCHANGED) c.euid = effective;
  } else {
    if (real !== UNCHANGED) c.gid = real;
    if (effective !== UNCHANGED) c.egid = effective;
  }
  idCache.set(kernelRun.tasks.tgid(ev.tid), c);
}

/** exec may change credentials (setuid programs): read them again, keeping what we knew if the task is gone. */
export function refreshIds(tgid: number): void {
  const known = idCache.get(tgid);
  idCache.delete(tgid);
  const fresh = ids(tgid);
  if (fresh.uid === -1 && known) idCache.set(tgid, known);
}

function tidNow(): number {
  return ev()?.tid ?? process.pid;
}

function selfComm(): string {
  try {
    return readFileSync("/proc/self/comm", "latin1").replace(/\n$/, "");
  } catch {
    return "node";
  }
}

const long = (fn: () => Long): NativeDef => ({ params: [], ret: "long", pure: false, fn: fn as () => NativeValue });
const string = (fn: () => string): NativeDef => ({ params: [], ret: "string", pure: false, fn });

/** The context natives, in runtime/natives.ts's registry shape. */
export const contextNatives: Readonly<Record<string, readonly NativeDef[]>> = {
  pid: [long(() => {
    const e = ev();
    return e ? kernelRun.tasks.tgid(e.tid) : process.pid;
  })],
  tid: [long(tidNow)],
  ppid: [long(() => {
    const e = ev();
    return e ? kernelRun.tasks.ppid(e.tid) : process.ppid;
  })],
  execname: [string(() => {
    const e = ev();
    return e ? kernelRun.tasks.comm(e.tid) : selfComm();
  })],
  pexecname: [string(() => {
    const e = ev();
    return e ? kernelRun.tasks.parentComm(e.tid) : kernelRun.tasks.comm(process.ppid);
  })],
  uid: [long(() => ids(tidNow()).uid)],
  euid: [long(() => ids(tidNow()).euid)],
  gid: [long(() => ids(tidNow()).gid)],
  egid: [long(() => ids(tidNow()).egid)],
  cpu: [long(() => ev()?.cpu ?? 0)],
  target: [long(() => kernelRun.target)],
  pp: [string(() => current.pp)],
  pn: [string(() => kernelRun.pnByProbe.get(current.probeId) ?? current.pp)],
  env_var: [{ params: ["string"], ret: "string", pure: false, fn: (name) => envVar(String(name ?? "")) }],
  ppfunc: [string(() => ppfunc(current.pp))],
  // 1 only in kretprobe/uretprobe handlers, which tstap has none of
  // (process.syscall.return is no return probe for stap either).
  is_return: [long(() => 0)],
  probefunc: [string(() => ppfunc(current.pp))],
  probemod: [string(() => "")],
  // Read from the traced task at the event: the probe families that offer
  // them lower each call into a fetch argument of the event (pass 3), and
  // pass 2 refuses them in probes that do not. A call reaching the runtime
  // was not lowered.
  ...Object.fromEntries(
    ["returnval", "uaddr"].map((n) => [n, [{ params: [], ret: "long", pure: false, fn: () => eventOnly(n) } as NativeDef]]),
  ),
  ...Object.fromEntries(
    ["int_arg", "uint_arg", "long_arg", "ulong_arg", "longlong_arg", "ulonglong_arg", "s32_arg", "u32_arg", "s64_arg", "u64_arg", "pointer_arg"].map((n) => [
      n,
      [{ params: ["long"], ret: "long", pure: false, fn: () => eventOnly(n) } as NativeDef],
    ]),
  ),
  register: [{ params: ["string"], ret: "long", pure: false, fn: () => eventOnly("register") }],
  u_register: [{ params: ["string"], ret: "long", pure: false, fn: () => eventOnly("u_register") }],
  // cmdline_arg and cmdline_str are script: tapsets/cmdline.stp
  cmdline_args: [
    {
      params: ["long", "long", "string"],
      ret: "string",
      pure: false,
      fn: (n, m, delim) => cmdlineArgs(readCmdline(cmdlinePid()), n as Long, m as Long, String(delim ?? "")),
    },
  ],
};

/** Where a native's warnings go (the run loop's WARNING: lines); set by the run. */
let warnHook: (msg: string) => void = () => {};
export function setNativeWarn(fn: (msg: string) => void): void {
  warnHook = fn;
}

function eventOnly(name: string): never {
  throw new ScriptError(`${name}() is read from the traced task at the event, by the probe's fetch arguments: this call was not`);
}

/** Whose command line cmdline_args() reads: the event's process, tstap's own outside kernel events. */
function cmdlinePid(): number {
  const e = ev();
  return e ? kernelRun.tasks.tgid(e.tid) : process.pid;
}

/** env_var(): the environment of the event's process (tstap's own outside kernel events). */
function envVar(name: string): string {
  if (name === "") return "";
  const e = ev();
  if (!e) return Object.hasOwn(process.env, name) ? (process.env[name] ?? "") : "";
  try {
    const env = readFileSync(`/proc/${kernelRun.tasks.tgid(e.tid)}/environ`, "latin1");
    for (const entry of env.split("\0")) if (entry.startsWith(`${name}=`)) return entry.slice(name.length + 1);
  } catch {
    // the process is gone or not ours to read
  }
  return "";
}

// ---------------------------------------------------------------- field natives

function evNow(): DecodedEvent | undefined {
  return ev()?.ev;
}

function hex(v: Long): string {
  return "0x" + BigInt.asUintN(64, BigInt(v)).toString(16);
}

/**
 * A user_* read that faulted: stap's error, its warning and `fallback`, or
 * `fallback` alone; "address" gives the address as user_string_quoted does.
 * The address is the base field's value (0 where that read faulted) plus `offset`.
 */
/** A number read's companions (blank-separated fields, user-reads.ts): did one fault? */
function faultedAny(ev: DecodedEvent, fields: string): boolean {
  if (!fields.includes(" ")) return ev.faulted?.(fields) ?? false;
  for (const f of fields.split(" ")) if (ev.faulted?.(f)) return true;
  return false;
}

function readFault(ev: DecodedEvent, mode: string, text: string, fallback: Long | string, addrField: string, addrCheck: string, offset: Long): Long | string {
  if (mode === "zero" || mode === "default") return fallback;
  const addr = readAddress(ev, addrField, addrCheck, offset);
  if (mode === "address") return `0x${addr.toString(16)}`;
  // stap formats %p as %#x
  const msg = text.replace("%x", addr.toString(16)).replace("%p", `0x${addr.toString(16)}`);
  if (mode === "error") throw new ScriptError(msg);
  warnHook(msg);
  return fallback;
}

/** The address a user_* call read: the base field's value (0 where that read faulted) plus `offset`. */
function readAddress(ev: DecodedEvent, addrField: string, addrCheck: string, offset: Long): bigint {
  const base = addrField === "" || (addrCheck !== "" && ev.faulted?.(addrCheck)) ? 0n : BigInt((ev.get(addrField) as Long | undefined) ?? 0);
  return BigInt.asUintN(64, base + BigInt(offset));
}

const PAGE = 4096n;
const clampInt = (v: Long, lo: number, hi: number): number => (BigInt(v) < BigInt(lo) ? lo : BigInt(v) > BigInt(hi) ? hi : Number(v));

/**
 * user_buffer_quoted(_error) from the bytes the kernel fetched (see
 * bufferFields in src/points/user-reads.ts): stap's text_str over them,
 * NULs kept; on a fault in the bytes it read, the address as 0x%x cut to
 * outlen-1 characters (stap's snprintf into outlen), or the _error form's error.
 */
function userBuffer(ev: DecodedEvent, spec: { chunks: string; first: string; last: string; bytes: number }, mode: string, text: string, addrField: string, addrCheck: string, offset: Long, inlen: Long, outlen: Long): string {
  const out = clampInt(outlen, 0, limits.MAXSTRINGLEN);
  const fault = (): string => {
    const r = String(readFault(ev, mode, text, "", addrField, addrCheck, offset));
    return r.slice(0, Math.max(0, out - 1));
  };
  // stap returns "" (the _error form raises) before reading anything
  if (out === 0) return mode === "error" ? fault() : "";
  // an inner pointer read that faulted leaves stale bytes in the buffer
  if (addrCheck !== "" && ev.faulted?.(addrCheck)) return fault();
  // each chunk's raw bytes (the format has `u64 name[]`: the decoder gives them as a byte string)
  let bytes = "";
  for (const name of spec.chunks.split(" ")) {
    const v = ev.get(name);
    if (typeof v !== "string") return fault();
    bytes += v;
  }
  bytes = bytes.slice(0, spec.bytes);
  const r = textStrRead(bytes, clampInt(inlen, -1, 1 << 30), out, true, true);
  // a faulted byte reads 0: a page is mapped iff one of its bytes is not 0, or its zero byte read as a string
  const mapped = (lo: number, hi: number, probe: string): boolean => {
    for (let i = lo; i < hi; i++) if (bytes.charCodeAt(i) !== 0) return true;
    return ev.faulted?.(probe) !== true;
  };
  const boundary = Number(PAGE - (readAddress(ev, addrField, addrCheck, offset) % PAGE));
  if (r.read > 0 && !mapped(0, Math.min(boundary, bytes.length), spec.first)) return fault();
  if (boundary < r.read && !mapped(boundary, bytes.length, spec.last)) return fault();
  return r.out;
}

/** stap's $$vars: `name=0x1f name2="text" arr=[0x1,0x2]`. */
export function formatVars(ev: DecodedEvent, names: readonly string[] = ev.names()): string {
  return names
    .map((n) => {
      const v = ev.get(n);
      if (typeof v === "string") return `${n}="${v}"`;
      if (Array.isArray(v)) return `${n}=[${v.map(hex).join(",")}]`;
      return `${n}=${v === undefined ? "?" : hex(v as Long)}`;
    })
    .join(" ");
}

/** A value as `$var$` prints it (kind: see prettyKind in lower-kernel.ts). */
function pretty(v: FieldValue | undefined, kind: string): string {
  if (v === undefined) return "?";
  if (typeof v === "string") return `"${v}"`;
  if (Array.isArray(v)) return v.length === 0 ? "[...]" : `[${pretty(v[0], kind === "a" ? "i" : kind)}, ...]`;
  const n = v as Long;
  return kind === "u" ? BigInt.asUintN(64, BigInt(n)).toString() : n.toString();
}

/** The natives generated code reads event fields with (see lower-kernel.ts). */
export const kernelFieldNatives: Readonly<Record<string, readonly NativeDef[]>> = {
  __kernel_field: [
    {
      params: ["string"],
      ret: "long",
      pure: false,
      fn: (name) => {
        const v = evNow()?.get(name as string);
        return v === undefined || Array.isArray(v) ? 0 : (v as Long | string);
      },
    },
  ],
  __kernel_element: [
    {
      params: ["string", "long"],
      ret: "long",
      pure: false,
      fn: (name, i) => {
        const v = evNow()?.get(name as string);
        return Array.isArray(v) ? (v[Number(i)] ?? 0) : 0;
      },
    },
  ],
  __kernel_vars: [
    {
      params: [],
      ret: "string",
      pure: false,
      fn: () => {
        const ev = evNow();
        return ev ? formatVars(ev) : "";
      },
    },
    // only the fields named (blank-separated): a USDT marker's $$parms, whose event also holds what user_string() read
    {
      params: ["string"],
      ret: "string",
      pure: false,
      fn: (spec) => {
        const ev = evNow();
        return ev ? formatVars(ev, (spec as string).split(" ")) : "";
      },
    },
  ],
  // $$vars$ / $$parms$: `name=value` pretty, for "name:kind name2:kind" in format order
  __kernel_vars_pretty: [
    {
      params: ["string"],
      ret: "string",
      pure: false,
      fn: (spec) => {
        const ev = evNow();
        if (!ev) return "";
        return (spec as string)
          .split(" ")
          .map((nk) => {
            const c = nk.lastIndexOf(":");
            const name = nk.slice(0, c);
            return `${name}=${pretty(ev.get(name), nk.slice(c + 1))}`;
          })
          .join(" ");
      },
    },
  ],
  __kernel_pretty: [
    {
      params: ["string", "string"],
      ret: "string",
      pure: false,
      fn: (name, kind) => pretty(evNow()?.get(name as string), kind as string),
    },
  ],
  // user_* reads the kernel fetched from the traced program (src/points/user-reads.ts):
  // on a fault, what stap's function gives (mode: zero, error, warn, default, address)
  __kernel_uread_long: [
    {
      params: ["string", "string", "string", "string", "string", "string", "long"],
      ret: "long",
      pure: false,
      fn: (name, check, mode, text, addrField, addrCheck, offset) => {
        const ev = evNow();
        if (ev && faultedAny(ev, check as string)) return readFault(ev, mode as string, text as string, 0, addrField as string, addrCheck as string, offset as Long);
        const v = ev?.get(name as string);
        return v === undefined || typeof v !== "number" && typeof v !== "bigint" ? 0 : v;
      },
    },
  ],
  __kernel_uread_string: [
    {
      params: ["string", "string", "string", "string", "long", "long", "string", "string", "long"],
      ret: "string",
      pure: false,
      fn: (name, mode, text, fallback, maxLength, quote, addrField, addrCheck, offset) => {
        const ev = evNow();
        if (ev?.faulted?.(name as string)) return readFault(ev, mode as string, text as string, fallback as string, addrField as string, addrCheck as string, offset as Long);
        let v = ev?.get(name as string);
        if (typeof v !== "string") v = "";
        if (Number(maxLength) >= 0) v = v.slice(0, Number(maxLength));
        return Number(quote) ? string_quoted(v) : v;
      },
    },
  ],
  __kernel_uread_buffer: [
    {
      params: ["string", "string", "string", "long", "string", "string", "string", "string", "long", "long", "long"],
      ret: "string",
      pure: false,
      fn: (chunks, first, last, bytes, mode, text, addrField, addrCheck, offset, inlen, outlen) => {
        const ev = evNow();
        if (!ev) return "";
        const spec = { chunks: chunks as string, first: first as string, last: last as string, bytes: Number(bytes) };
        return userBuffer(ev, spec, mode as string, text as string, addrField as string, addrCheck as string, offset as Long, inlen as Long, outlen as Long);
      },
    },
  ],
  __kernel_pretty_long: [
    {
      params: ["long", "string"],
      ret: "string",
      pure: true,
      fn: (v, kind) => pretty(v as Long, kind as string),
    },
  ],
};

export function lookupContextNative(name: string, arity: number): NativeDef | undefined {
  const own = (table: Readonly<Record<string, readonly NativeDef[]>>): readonly NativeDef[] | undefined =>
    Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
  const defs = own(contextNatives) ?? own(kernelFieldNatives);
  return defs?.find((d) => d.params.length === arity);
}
