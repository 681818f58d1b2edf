// THE registry of native functions: the library functions that are not
// written in the script language (tapsets/*.stp) and need no probe context.
//
// API:
//   type NativeType = "long" | "string";  type NativeValue = Long | string
//   interface NativeDef { params; ret: NativeType | "void"; pure; fn }
//   natives: Record<name, NativeDef[]>     overloads, distinguished by arity
//   lookupNative(name, arity): NativeDef | undefined
//   resetNativeState()                      forget tokenize()/regex state (a new run)
//
// Calling convention: generated code calls `def.fn(...args)` with values of the
// declared types (Long per runtime/int64.ts, byte strings); strings returned
// are already cut to MAXSTRINGLEN-1 bytes. `pure` means the result depends on
// the arguments only (the translator may fold calls on constants).
// Errors are thrown as ScriptError (runtime/errors.ts) subclasses carrying
// stap's message, e.g. "Position out of bounds", "range too wide".
//
// Not here on purpose: print/printf/sprint* (compiler builtins, runtime/printf.ts),
// exit/error/warn/log/abort (the run loop), @count... (runtime/stats.ts), context
// functions such as pid()/execname()/env_var() (the event context), user_string*
// (read at event time by the translator).

import { spawn } from "node:child_process";
import { type Long, big } from "./int64.js";
import { ScriptError } from "./errors.js";
import { truncateString } from "./limits.js";
import * as str from "./strings.js";
import * as re from "./regex.js";
import * as time from "./natives-time.js";
import { refuseKernelRead, refuseUserRead } from "./natives-memory.js";
import { errno_p, errno_str } from "./natives-errno.js";
import * as sys from "./natives-system.js";

export type NativeType = "long" | "string";
export type NativeValue = Long | string;

export interface NativeDef {
  readonly params: readonly NativeType[];
  readonly ret: NativeType | "void";
  readonly pure: boolean;
  readonly fn: (...args: NativeValue[]) => NativeValue | undefined;
}

const tokenizer = new str.Tokenizer();

export function resetNativeState(): void {
  tokenizer.reset();
  re.resetMatch();
}

const L = (v: NativeValue | undefined): Long => (typeof v === "string" || v === undefined ? 0 : v);
const S = (v: NativeValue | undefined): string => (typeof v === "string" ? v : v === undefined ? "" : String(v));

function def(
  params: readonly NativeType[],
  ret: NativeType | "void",
  pure: boolean,
  fn: (...args: NativeValue[]) => NativeValue | undefined,
): NativeDef {
  return { params, ret, pure, fn };
}

const RANDMAX = 1024 * 1024;

function randint(n: Long): Long {
  const u = BigInt.asUintN(64, big(n));
  if (u > BigInt(RANDMAX)) throw new ScriptError("range too wide");
  const m = Number(u);
  return m === 0 ? 0 : Math.floor(Math.random() * m);
}

/** system(): stap's staprun runs the command after the probe handler; so does this, asynchronously. */
function runSystem(cmd: string): undefined {
  setImmediate(() => {
    try {
      const child = spawn("/bin/sh", ["-c", cmd], { stdio: ["ignore", "inherit", "inherit"] });
      child.on("error", () => undefined);
    } catch {
      // nothing to report: stap's system() gives no result either
    }
  });
  return undefined;
}

const kernelRead = (name: string, params: readonly NativeType[], ret: NativeType): NativeDef =>
  def(params, ret, false, (addr) => refuseKernelRead(name, L(addr)));
const userRead = (name: string, params: readonly NativeType[], ret: NativeType): NativeDef =>
  def(params, ret, false, (addr) => refuseUserRead(name, L(addr)));

export const natives: Readonly<Record<string, readonly NativeDef[]>> = {
  // tapset::string
  strlen: [def(["string"], "long", true, (s) => str.strlen(S(s)))],
  substr: [def(["string", "long", "long"], "string", true, (s, a, n) => str.substr(S(s), L(a), L(n)))],
  stringat: [def(["string", "long"], "long", true, (s, p) => str.stringat(S(s), L(p)))],
  isinstr: [def(["string", "string"], "long", true, (a, b) => str.isinstr(S(a), S(b)))],
  strpos: [def(["string", "string"], "long", true, (a, b) => str.strpos(S(a), S(b)))],
  str_replace: [
    def(["string", "string", "string"], "string", true, (a, b, c) => str.str_replace(S(a), S(b), S(c))),
  ],
  strtol: [def(["string", "long"], "long", true, (s, b) => str.strtol(S(s), L(b)))],
  isdigit: [def(["string"], "long", true, (s) => str.isdigit(S(s)))],
  text_str: [def(["string"], "string", true, (s) => str.text_str(S(s)))],
  text_strn: [def(["string", "long", "long"], "string", true, (s, n, q) => str.text_strn(S(s), L(n), L(q)))],
  string_quoted: [def(["string"], "string", true, (s) => str.string_quoted(S(s)))],
  toupper: [def(["string"], "string", true, (s) => S(s).replace(/[a-z]/g, (c) => c.toUpperCase()))],
  tolower: [def(["string"], "string", true, (s) => S(s).replace(/[A-Z]/g, (c) => c.toLowerCase()))],
  // tapset::system: the command starts once the handler is done, in the background
  system: [def(["string"], "void", false, (c) => runSystem(S(c)))],
  // tapset::tokenize
  tokenize: [
    def(["string"], "string", false, (d) => tokenizer.tokenize("", S(d))),
    def(["string", "string"], "string", false, (s, d) => tokenizer.tokenize(S(s), S(d))),
  ],
  // tapset::regex
  matched: [def(["long"], "string", false, (n) => truncateString(re.matched(big(L(n)))))],
  matched_str: [def([], "string", false, () => truncateString(re.matchedStr()))],
  ngroups: [def([], "long", false, () => re.ngroups())],
  // tapset::random
  randint: [def(["long"], "long", false, (n) => randint(L(n)))],
  // tapset::timestamp_gtod, timestamp_monotonic, ctime
  gettimeofday_ns: [def([], "long", false, time.gettimeofday_ns)],
  gettimeofday_us: [def([], "long", false, time.gettimeofday_us)],
  gettimeofday_ms: [def([], "long", false, time.gettimeofday_ms)],
  gettimeofday_s: [def([], "long", false, time.gettimeofday_s)],
  local_clock_ns: [def([], "long", false, time.local_clock_ns)],
  local_clock_us: [def([], "long", false, time.local_clock_us)],
  local_clock_ms: [def([], "long", false, time.local_clock_ms)],
  local_clock_s: [def([], "long", false, time.local_clock_s)],
  cpu_clock_ns: [def(["long"], "long", false, (c) => time.cpu_clock_ns(L(c)))],
  cpu_clock_us: [def(["long"], "long", false, (c) => time.cpu_clock_us(L(c)))],
  cpu_clock_ms: [def(["long"], "long", false, (c) => time.cpu_clock_ms(L(c)))],
  cpu_clock_s: [def(["long"], "long", false, (c) => time.cpu_clock_s(L(c)))],
  ktime_get_ns: [def([], "long", false, time.ktime_get_ns)],
  ctime: [
    def(["long"], "string", true, (t) => time.ctime(L(t))),
    def([], "string", false, () => time.ctime(time.gettimeofday_s())),
  ],
  // tapset::timestamp: the kernel tick and cycle counter, approximated (natives-system.ts)
  get_cycles: [def([], "long", false, sys.get_cycles)],
  jiffies: [def([], "long", false, sys.jiffies)],
  HZ: [def([], "long", false, sys.kernelHz)],
  // tapset::tzinfo (tz_ctime is script: tapsets/tzinfo.stp)
  tz_gmtoff: [def([], "long", false, sys.tz_gmtoff)],
  tz_name: [def([], "string", false, sys.tz_name)],
  // tapset::context, about tstap itself
  stp_pid: [def([], "long", false, sys.stp_pid)],
  module_name: [def([], "string", false, sys.module_name)],
  // tapset::errno
  errno_str: [def(["long"], "string", true, (e) => errno_str(L(e)))],
  errno_p: [def(["long"], "long", true, (e) => errno_p(L(e)))],
  // tapset::conversions: reads of kernel memory by address, refused at run time
  kernel_string: [
    kernelRead("kernel_string", ["long"], "string"),
    kernelRead("kernel_string", ["long", "string"], "string"),
  ],
  kernel_string2: [kernelRead("kernel_string2", ["long", "string"], "string")],
  kernel_string_n: [kernelRead("kernel_string_n", ["long", "long"], "string")],
  kernel_string_quoted: [kernelRead("kernel_string_quoted", ["long"], "string")],
  kernel_string_utf16: [
    kernelRead("kernel_string_utf16", ["long"], "string"),
    kernelRead("kernel_string_utf16", ["long", "string"], "string"),
  ],
  kernel_string_utf32: [
    kernelRead("kernel_string_utf32", ["long"], "string"),
    kernelRead("kernel_string_utf32", ["long", "string"], "string"),
  ],
  kernel_string_quoted_utf16: [kernelRead("kernel_string_quoted_utf16", ["long"], "string")],
  kernel_string_quoted_utf32: [kernelRead("kernel_string_quoted_utf32", ["long"], "string")],
  kernel_buffer_quoted: [
    kernelRead("kernel_buffer_quoted", ["long", "long"], "string"),
    kernelRead("kernel_buffer_quoted", ["long", "long", "long"], "string"),
  ],
  kernel_long: [kernelRead("kernel_long", ["long"], "long")],
  kernel_int: [kernelRead("kernel_int", ["long"], "long")],
  kernel_short: [kernelRead("kernel_short", ["long"], "long")],
  kernel_char: [kernelRead("kernel_char", ["long"], "long")],
  kernel_pointer: [kernelRead("kernel_pointer", ["long"], "long")],
  // tapset::uconversions: user memory by address, refused the same way (a
  // probe's fetch arguments are the way in: uprobes, a later issue)
  user_string: [userRead("user_string", ["long"], "string"), userRead("user_string", ["long", "string"], "string")],
  user_string2: [userRead("user_string2", ["long", "string"], "string")],
  user_string_n: [userRead("user_string_n", ["long", "long"], "string"), userRead("user_string_n", ["long", "long", "string"], "string")],
  user_string_n2: [userRead("user_string_n2", ["long", "long", "string"], "string")],
  user_string_nofault: [userRead("user_string_nofault", ["long"], "string")],
  user_string_n_nofault: [userRead("user_string_n_nofault", ["long", "long"], "string")],
  user_string_quoted: [userRead("user_string_quoted", ["long"], "string")],
  user_string_n_quoted: [userRead("user_string_n_quoted", ["long", "long"], "string")],
  user_buffer_quoted: [userRead("user_buffer_quoted", ["long", "long", "long"], "string")],
  user_buffer_quoted_error: [userRead("user_buffer_quoted_error", ["long", "long", "long"], "string")],
  user_string_warn: [userRead("user_string_warn", ["long"], "string"), userRead("user_string_warn", ["long", "string"], "string")],
  user_string2_warn: [userRead("user_string2_warn", ["long", "string"], "string")],
  user_string_n_warn: [userRead("user_string_n_warn", ["long", "long"], "string"), userRead("user_string_n_warn", ["long", "long", "string"], "string")],
  user_string2_n_warn: [userRead("user_string2_n_warn", ["long", "long", "string"], "string")],
  // the number reads, their _error forms (stap has no user_uint_error) and the _warn forms stap has
  ...Object.fromEntries(
    ["long", "ulong", "int", "uint", "short", "ushort", "char", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"].flatMap((t) =>
      [`user_${t}`, ...(t === "uint" ? [] : [`user_${t}_error`]), ...(["char", "short", "ushort", "int", "long", "ulong"].includes(t) ? [`user_${t}_warn`] : [])].map((n) => [n, [userRead(n, ["long"], "long")]]),
    ),
  ),
};

/** Natives that can raise a script error (stap names their call site in it: "near identifier 'ctime' at ..."). */
export function nativeMayFail(name: string): boolean {
  return name === "ctime" || name === "randint" || /^(kernel|user)_(string|buffer|long|int|short|char|pointer)/.test(name) || /^__kernel_uread_/.test(name);
}

export function lookupNative(name: string, arity: number): NativeDef | undefined {
  const defs = Object.prototype.hasOwnProperty.call(natives, name) ? natives[name] : undefined;
  return defs?.find((d) => d.params.length === arity);
}
