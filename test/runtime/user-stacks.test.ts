// The user-stack functions' exact formats (stap's _stp_snprint_addr per
// function), on a stack and an address space given by hand.

import { afterEach, describe, expect, it } from "vitest";
import { current } from "../../runtime/probe-context.js";
import { kernelRun } from "../../runtime/context-kernel.js";
import { TaskTable } from "../../runtime/tasks.js";
import { addressSpaces, lookupUserStackNative, type AddressSpace, type UserAddress } from "../../runtime/user-stacks.js";
import { ScriptError } from "../../runtime/errors.js";

const EXE = "/opt/app/bin/server";
const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";

// main at 0x1000-0x1080 of the exe mapped at 0x555500000000; libc's getppid at 0x7f0000001000; an anonymous JIT page named by a perf map
const space: AddressSpace = {
  resolve(addr: number): UserAddress | undefined {
    if (addr >= 0x555500001000 && addr < 0x555500001080) return { module: EXE, modOffset: addr - 0x555500000000, modSize: 0x3000, symbol: { name: "main", offset: addr - 0x555500001000, size: 0x80 } };
    if (addr >= 0x555500002000 && addr < 0x555500003000) return { module: EXE, modOffset: addr - 0x555500000000, modSize: 0x3000 };
    if (addr >= 0x7f0000001000 && addr < 0x7f0000001010) return { module: LIBC, modOffset: addr - 0x7f0000000000, modSize: 0x100000, symbol: { name: "getppid", offset: addr - 0x7f0000001000, size: 0x10 } };
    if (addr >= 0x7e0000000040 && addr < 0x7e0000000050) return { modOffset: 0, modSize: 0, symbol: { name: "LazyCompile:*work app.js:3", offset: addr - 0x7e0000000040, size: 0x10 } };
    return undefined;
  },
  resolveData(addr: number): UserAddress | undefined {
    if (addr >= 0x555500002100 && addr < 0x555500002108) return { module: EXE, modOffset: addr - 0x555500000000, modSize: 0x3000, symbol: { name: "counter", offset: addr - 0x555500002100, size: 8 } };
    return undefined;
  },
};

const STACK = [0x7f0000001007, 0x7e0000000044, 0x555500002010, 0x555500001023, 0x600000000000];

function call(name: string, ...args: (number | string)[]): unknown {
  const d = lookupUserStackNative(name, args.length);
  if (!d) throw new Error(`no native ${name}/${args.length}`);
  return d.fn(...args);
}

function inEvent(frames: number[] | undefined): void {
  kernelRun.tasks = new TaskTable({ saved: () => ({ tgid: 4242, comm: "server" }), proc: () => undefined });
  addressSpaces.setReader({ capture: (pid) => (pid === 4242 ? space : undefined) });
  current.pp = 'kernel.trace("syscalls:sys_enter_getppid")';
  current.event = { kind: "kernel-event", tid: 4243, cpu: 0, tsNs: 0n, ev: { tid: 4243, cpu: 0, tsNs: 0n, get: () => undefined, names: () => [], ustack: frames } };
}

afterEach(() => {
  current.event = undefined;
  current.pp = "";
  addressSpaces.setReader(undefined);
});

describe("user stacks in stap's formats", () => {
  it("print_ubacktrace: address : symbol+off/size [module path]; module+offset; bare address", () => {
    inEvent(STACK);
    expect(call("__print_ubacktrace_text")).toBe(
      [
        ` 0x7f0000001007 : getppid+0x7/0x10 [${LIBC}]`,
        " 0x7e0000000044 : LazyCompile:*work app.js:3+0x4/0x10",
        ` 0x555500002010 [${EXE}+0x2010/0x3000]`,
        ` 0x555500001023 : main+0x23/0x80 [${EXE}]`,
        " 0x600000000000",
        "",
      ].join("\n"),
    );
  });

  it("sprint_ubacktrace: symbol+off [module basename]", () => {
    inEvent(STACK);
    expect(call("sprint_ubacktrace")).toBe(
      ["getppid+0x7 [libc.so.6]", "LazyCompile:*work app.js:3+0x4", "0x555500002010 [server+0x2010]", "main+0x23 [server]", "0x600000000000", ""].join("\n"),
    );
  });

  it("ubacktrace, ustack, ucallers: hex", () => {
    inEvent(STACK);
    expect(call("ubacktrace")).toBe("0x7f0000001007 0x7e0000000044 0x555500002010 0x555500001023 0x600000000000 ");
    expect(call("ustack", 3)).toBe(0x555500001023);
    expect(call("ucallers", 1)).toBe("0x7f0000001007 0x7e0000000044");
    expect(call("ucallers", -1)).toBe("0x7f0000001007 0x7e0000000044 0x555500002010 0x555500001023 0x600000000000");
    expect(() => call("ustack", 5)).toThrow(new ScriptError("reached end of stack before unwinding to level 5"));
    expect(() => call("ucallers", 9)).toThrow(new ScriptError("reached end of stack before unwinding to level 9"));
  });

  it("usymname, usymdata, umodname, sprint_usyms", () => {
    inEvent(STACK);
    expect(call("usymname", 0x555500001023)).toBe("main");
    expect(call("usymname", 0x600000000000)).toBe("0x600000000000");
    expect(call("usymdata", 0x555500001023)).toBe(`main+0x23/0x80 [${EXE}]`);
    expect(call("usymdata", 0x555500002010)).toBe(`0x555500002010 [${EXE}+0x2010/0x3000]`);
    // a variable: named as stap's symbol tables (functions and data) name it
    expect(call("usymdata", 0x555500002104)).toBe(`counter+0x4/0x8 [${EXE}]`);
    expect(call("usymname", 0x555500002104)).toBe("counter");
    expect(call("usymdata", -1)).toBe("0xffffffffffffffff");
    expect(call("umodname", 0x7f0000001007)).toBe(LIBC);
    expect(() => call("umodname", 0x600000000000)).toThrow(new ScriptError("module cannot be found"));
    expect(call("sprint_usyms", "0x555500001023 0x7f0000001000")).toBe(` 0x555500001023 : main+0x23/0x80 [${EXE}]\n 0x7f0000001000 : getppid+0x0/0x10 [${LIBC}]\n`);
  });

  it("no user stack (no event, a kernel thread): stap's message, an empty hex string", () => {
    current.pp = "begin";
    expect(call("__print_ubacktrace_text")).toBe("<no user backtrace at begin>\n");
    expect(call("sprint_ubacktrace")).toBe("<no user backtrace at begin>\n");
    expect(call("ubacktrace")).toBe("");
    inEvent([]);
    expect(call("__print_ubacktrace_text")).toBe('<no user backtrace at kernel.trace("syscalls:sys_enter_getppid")>\n');
  });
});
