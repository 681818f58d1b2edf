// The user-stack functions (stap's ucontext-unwind and ucontext-symbols
// tapsets): the stack is what the kernel walked at the event
// (DecodedEvent.ustack, runtime/events/user-stack.ts), never read late;
// addresses are named from the address space of the event's process as
// tstap captured it: when the process is first seen, its parent's at fork,
// again at each exec, and kept after it exits, so stacks of a process that
// is gone still symbolize.
//
// The runtime reads no ELF: an AddressSpaceReader (the session plugs in
// src/targets/address-space.ts) turns a pid into an AddressSpace.
//
// Output formats are stap's (runtime/sym.c's _stp_snprint_addr; its %p is
// %#x since stap 1.3), per function:
//   print_ubacktrace   " 0xADDR : NAME+0xOFF/0xSIZE [MODULE PATH]\n" per frame
//   sprint_ubacktrace  "NAME+0xOFF [MODULE BASENAME]\n" per frame
//   ubacktrace         "0xADDR " per frame (hex, each followed by a blank)
//   usymname           "NAME"
//   usymdata           "NAME+0xOFF/0xSIZE [MODULE PATH]"
//   umodname           "MODULE PATH" (error "module cannot be found" when none)
// An address in a mapped file without a symbol prints as
// `0xADDR [MODULE+0xOFF/0xSIZE]` (offset in its mapping), one in no file
// (anonymous JIT memory with no perf map) as the bare `0xADDR`: stap prints
// no `[unknown]` anywhere (perf and bpftrace do). In stap 4.8's runtime,
// sym.c's _stp_snprint_addr falls through to "no names, hex only" (`%p`)
// for every format when neither a symbol nor a module is found, so
// print_ubacktrace prints " 0xADDR", usymname and usymdata "0xADDR",
// print_usyms " 0xADDR : 0xADDR"; umodname (tapset linux/ucontext.stp)
// returns "<unknown>" but sets last_error "module cannot be found", so the
// script sees that error, never the string.
// In a .return uprobe the stack starts at the return address (the kernel
// sets the user IP to it before the uretprobe handlers run), with no
// "Returning from:"/"Returning to  :" lines: stack.c's
// _stp_stack_user_print prints those only #ifdef STAPCONF_UPROBE_GET_PC,
// whose test (runtime/linux/autoconf-uprobe-get-pc.c) needs CONFIG_UTRACE,
// the old out-of-tree utrace uprobes, and stap 5.0 removed it (commit
// 7049f3e43); on a kernel with inode uprobes, as this one, stap prints none.
// (_stp_stack_kernel_print prints them for kretprobes; tstap has none.)
// No event context (begin, end, timers): the target
// process's stack functions have no stack and print stap's
// "<no user backtrace at PP>".

import { current, isKernelEvent } from "./probe-context.js";
import { ScriptError } from "./errors.js";
import { kernelRun } from "./context-kernel.js";
import type { NativeDef, NativeValue } from "./natives.js";
import type { Long } from "./int64.js";
import { maxStringBytes, truncateString } from "./limits.js";

/** A user address named: its symbol (if any) and the file mapped there (if any). */
export interface UserAddress {
  /** the mapped file's path as the process saw it (stap's module name) */
  module?: string;
  /** the address's offset in its mapping, and the mapping's size (named by module only) */
  modOffset: number;
  modSize: number;
  /** size: the function's (0 when its symbol table does not say) */
  symbol?: { name: string; offset: number; size: number };
}

/** One process's address space as captured at a moment. */
export interface AddressSpace {
  resolve(addr: number): UserAddress | undefined;
  /** the data object (a variable) at `addr`, for usymdata() on addresses in no function */
  resolveData?(addr: number): UserAddress | undefined;
  /** the space no longer tells the truth about `addr` (a library loaded, JIT code written since): capture again if the process lives */
  stale?(addr: number): boolean;
}

/** Captures a process's address space now; undefined when the process is gone (or not readable). */
export interface AddressSpaceReader {
  capture(pid: number): AddressSpace | undefined;
}

/** How many processes' address spaces are kept (exited ones included) before the oldest go. */
const MAX_SPACES = 4096;
/** A process's space is captured again at most this often (ms) for addresses it does not know. */
const RECAPTURE_MS = 100;

interface Known {
  space: AddressSpace | undefined;
  at: number;
}

/** The address spaces of the processes seen in this run. */
export class AddressSpaces {
  private readonly spaces = new Map<number, Known>();

  constructor(private reader: AddressSpaceReader | undefined) {}

  setReader(reader: AddressSpaceReader | undefined): void {
    this.reader = reader;
    this.spaces.clear();
  }

  /** The process `tgid` is seen (an event with a user stack): capture its space unless known. */
  seen(tgid: number): void {
    if (!this.spaces.has(tgid)) this.capture(tgid);
  }

  /** A new process `child` of `parent`: it maps what its parent did (until it execs), whatever an older process of its pid mapped. */
  fork(parent: number, child: number): void {
    const p = this.spaces.get(parent);
    this.spaces.delete(child);
    if (p !== undefined) this.spaces.set(child, p);
  }

  /** `tgid` exec'd: what it maps now is another program. */
  exec(tgid: number): void {
    if (this.spaces.has(tgid) || this.reader !== undefined) this.capture(tgid);
  }

  private capture(tgid: number): Known {
    let space: AddressSpace | undefined;
    try {
      space = tgid > 0 ? this.reader?.capture(tgid) : undefined;
    } catch {
      space = undefined;
    }
    const k = { space, at: Date.now() };
    this.spaces.delete(tgid);
    this.spaces.set(tgid, k);
    if (this.spaces.size > MAX_SPACES) this.spaces.delete(this.spaces.keys().next().value!);
    return k;
  }

  resolveData(tgid: number, addr: number): UserAddress | undefined {
    const d = this.spaces.get(tgid)?.space?.resolveData?.(addr);
    return d?.symbol !== undefined ? d : undefined;
  }

  resolve(tgid: number, addr: number): UserAddress | undefined {
    let k = this.spaces.get(tgid) ?? this.capture(tgid);
    let r = k.space?.resolve(addr);
    // a library loaded or code generated since the capture: look again while the process lives
    if ((r === undefined || k.space?.stale?.(addr)) && Date.now() - k.at >= RECAPTURE_MS) {
      const again = this.capture(tgid);
      if (again.space !== undefined) {
        k = again;
        r = k.space!.resolve(addr) ?? r;
      } else {
        this.spaces.set(tgid, { space: k.space, at: again.at });
      }
    }
    return r;
  }
}

export const addressSpaces = new AddressSpaces(undefined);

/** A function at `addr`, else a data object (usymdata names both, as stap's symbol tables hold both). */
function resolveAny(tgid: number, addr: number): UserAddress | undefined {
  const r = resolveIn(tgid, addr);
  if (r === undefined || r.symbol !== undefined) return r;
  return addressSpaces.resolveData(tgid, addr) ?? r;
}

// ---------------------------------------------------------------- formats

const hex = (n: number): string => "0x" + n.toString(16);

function basename(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

/** print_ubacktrace's line (_STP_SYM_FULL). */
function full(addr: number, a: UserAddress | undefined): string {
  if (a?.symbol) {
    const s = a.symbol;
    return ` ${hex(addr)} : ${s.name}+${hex(s.offset)}/${hex(s.size)}${a.module !== undefined ? ` [${a.module}]` : ""}\n`;
  }
  if (a?.module !== undefined) return ` ${hex(addr)} [${a.module}+${hex(a.modOffset)}/${hex(a.modSize)}]\n`;
  return ` ${hex(addr)}\n`;
}

/** sprint_ubacktrace's line (_STP_SYM_SIMPLE). */
function simple(addr: number, a: UserAddress | undefined): string {
  if (a?.symbol) {
    const s = a.symbol;
    return `${s.name}+${hex(s.offset)}${a.module !== undefined ? ` [${basename(a.module)}]` : ""}\n`;
  }
  if (a?.module !== undefined) return `${hex(addr)} [${basename(a.module)}+${hex(a.modOffset)}]\n`;
  return `${hex(addr)}\n`;
}

/** usymdata (_STP_SYM_DATA). */
function data(addr: number, a: UserAddress | undefined): string {
  if (a?.symbol) {
    const s = a.symbol;
    return `${s.name}+${hex(s.offset)}/${hex(s.size)}${a.module !== undefined ? ` [${a.module}]` : ""}`;
  }
  if (a?.module !== undefined) return `${hex(addr)} [${a.module}+${hex(a.modOffset)}/${hex(a.modSize)}]`;
  return hex(addr);
}

// ---------------------------------------------------------------- the event's stack

interface StackNow {
  tgid: number;
  /** undefined: no user stack here (no event, a kernel thread) */
  frames: number[] | undefined;
}

function stackNow(): StackNow {
  const e = current.event;
  if (!isKernelEvent(e)) return { tgid: kernelRun.target, frames: undefined };
  const tgid = kernelRun.tasks.tgid(e.tid);
  const frames = e.ev?.ustack;
  if (frames !== undefined && frames.length > 0) addressSpaces.seen(tgid);
  return { tgid, frames: frames !== undefined && frames.length > 0 ? frames : undefined };
}

/** The process whose addresses usymname()/usymdata()/umodname() name: the event's, or the target's outside events. */
function tgidNow(): number {
  const e = current.event;
  return isKernelEvent(e) ? kernelRun.tasks.tgid(e.tid) : kernelRun.target;
}

function noBacktrace(): string {
  return `<no user backtrace at ${current.pp}>\n`;
}

/** The address as a number (user addresses are below 2^47: a number holds them). */
function addrOf(v: NativeValue | undefined): number {
  const b = BigInt.asUintN(64, BigInt((v as Long | undefined) ?? 0));
  return b > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(b);
}

function resolveIn(tgid: number, addr: number): UserAddress | undefined {
  return addr < 0 ? undefined : addressSpaces.resolve(tgid, addr);
}

function printBacktrace(): string {
  const s = stackNow();
  if (s.frames === undefined) return noBacktrace();
  return s.frames.map((a) => full(a, resolveIn(s.tgid, a))).join("");
}

function sprintBacktrace(): string {
  const s = stackNow();
  if (s.frames === undefined) return truncateString(noBacktrace());
  return truncateString(s.frames.map((a) => simple(a, resolveIn(s.tgid, a))).join(""));
}

function hexBacktrace(): string {
  const s = stackNow();
  if (s.frames === undefined) return "";
  return truncateString(s.frames.map((a) => `${hex(a)} `).join(""));
}

/** ustack(n): the address of frame n (0 is where the event happened). */
function ustack(n: Long): Long {
  const s = stackNow();
  const i = Number(n);
  const a = s.frames !== undefined && i >= 0 ? s.frames[i] : undefined;
  if (a === undefined) throw new ScriptError(`reached end of stack before unwinding to level ${n}`);
  return a;
}

/** %p of any 64-bit value (an address beyond user space names nothing). */
function hexLong(v: NativeValue | undefined): string {
  return "0x" + BigInt.asUintN(64, BigInt((v as Long | undefined) ?? 0)).toString(16);
}

function usymname(addr: NativeValue | undefined): string {
  const a = addrOf(addr);
  const r = a < 0 ? undefined : resolveAny(tgidNow(), a);
  return truncateString(r?.symbol ? r.symbol.name : hexLong(addr));
}

function usymdata(addr: NativeValue | undefined): string {
  const a = addrOf(addr);
  const r = a < 0 ? undefined : resolveAny(tgidNow(), a);
  return truncateString(r === undefined ? hexLong(addr) : data(a, r));
}

function umodname(addr: NativeValue | undefined): string {
  const r = resolveIn(tgidNow(), addrOf(addr));
  if (r?.module === undefined) throw new ScriptError("module cannot be found");
  return truncateString(r.module);
}

/** sprint_usyms: " ADDR : usymdata\n" per token of a hex stack string, whole lines within MAXSTRINGLEN. */
function sprintUsyms(callers: string): string {
  let out = "";
  for (const tok of callers.split(" ")) {
    if (tok === "") continue;
    const line = ` ${tok} : ${usymdata(hexToken(tok))}\n`;
    if (out.length + line.length > maxStringBytes() + 1) break;
    out += line;
  }
  return out;
}

/** A token of a hex stack string as strtol(tok, 16) reads it. */
function hexToken(tok: string): Long {
  const m = /^\s*(0[xX])?([0-9a-fA-F]+)/.exec(tok);
  if (!m) return 0;
  const v = BigInt("0x" + m[2]!);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt.asIntN(64, v) : Number(v);
}

/** ucallers(n): frames 0..n (all for -1) as "0xA 0xB ...", whole addresses within MAXSTRINGLEN. */
function ucallers(n: Long): string {
  const s = stackNow();
  const want = Number(n);
  const frames = s.frames ?? [];
  let out = "";
  for (let i = 0; i <= want || want === -1; i++) {
    const a = frames[i];
    if (a === undefined) {
      if (want === -1) break;
      throw new ScriptError(`reached end of stack before unwinding to level ${n}`);
    }
    const piece = (i > 0 ? " " : "") + hex(a);
    if (out.length + piece.length > maxStringBytes() + 1) break;
    out += piece;
  }
  return out;
}

const fn = (params: NativeDef["params"], ret: NativeDef["ret"], f: NativeDef["fn"]): NativeDef => ({ params, ret, pure: false, fn: f });

/** The natives of tapsets/ucontext.stp (the script functions there build on these). */
export const userStackNatives: Readonly<Record<string, readonly NativeDef[]>> = {
  // the whole text, not cut to MAXSTRINGLEN: stap prints it straight to the output
  __print_ubacktrace_text: [fn([], "string", printBacktrace)],
  sprint_ubacktrace: [fn([], "string", sprintBacktrace)],
  ubacktrace: [fn([], "string", hexBacktrace)],
  ustack: [fn(["long"], "long", (n) => ustack(n as Long))],
  usymname: [fn(["long"], "string", usymname)],
  usymdata: [fn(["long"], "string", usymdata)],
  umodname: [fn(["long"], "string", umodname)],
  sprint_usyms: [fn(["string"], "string", (c) => sprintUsyms(String(c ?? "")))],
  ucallers: [fn(["long"], "string", (n) => ucallers(n as Long))],
};

/** Names of the functions that read the event's user stack: a run calling one records stacks. */
export const USER_STACK_FUNCTIONS: ReadonlySet<string> = new Set(["__print_ubacktrace_text", "sprint_ubacktrace", "ubacktrace", "ustack", "ucallers"]);

export function lookupUserStackNative(name: string, arity: number): NativeDef | undefined {
  const defs = Object.prototype.hasOwnProperty.call(userStackNatives, name) ? userStackNatives[name] : undefined;
  return defs?.find((d) => d.params.length === arity);
}

/** The user-stack natives that raise script errors (stap names their call site). */
export function userStackNativeMayFail(name: string): boolean {
  return name === "ustack" || name === "umodname" || name === "ucallers";
}
