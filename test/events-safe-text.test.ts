// runtime/tracefs/safe-text.ts: nothing script-derived reaches a tracefs
// control file unless it fits the narrow grammar of what we mean to write.

import { describe, expect, it } from "vitest";
import {
  safeDynamicEventLine,
  safeEventName,
  safeFilter,
  safeIdent,
  safePath,
  safePids,
  safeRelPath,
  safeRemoveLine,
  safeSymbol,
  UnsafeTextError,
} from "../runtime/tracefs/safe-text.js";

const G = "tstap_42_0";

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UnsafeTextError);
    return (err as Error).message;
  }
  throw new Error("was accepted");
}

describe("accepts what we mean to write", () => {
  it("uprobe, uretprobe, kprobe and eprobe lines of our group", () => {
    for (const l of [
      `p:${G}/p0 /usr/lib/postgresql/15/bin/postgres:0x4722d3(0x88595e) arg1=+0(%bx):ustring`,
      `p:${G}/p1 /usr/lib/postgresql/15/bin/postgres:0x4722d3 arg1=+0(-144(%bp)):ustring`,
      `r:${G}/r0 /bin/bash:0x1040 ret=$retval:s64`,
      `r16:${G}/r1 vfs_read ret=$retval`,
      `p:${G}/k0 do_sys_open+0x10 dfd=%di:s32 a=+8(%sp):x64[4]`,
      `e:${G}/e0 sched.sched_switch prev=$prev_pid:s32`,
      `p:${G}/u0 /lib/x86_64-linux-gnu/libc.so.6:0x2a1f0 s=+0(%di):string b=%ax:b4@3/32`,
      `p:${G}/u1 /tmp/usdt_forms:0x11fe(0x3082) arg8=\\-7:s32 arg9=\\42:u64 arg6=@+0x4070:u64`,
    ]) {
      expect(safeDynamicEventLine(l, G)).toBe(l);
    }
    expect(safeRemoveLine(G, "p0")).toBe(`-:${G}/p0`);
  });

  it("names, paths, symbols, filters, pids", () => {
    expect(safeIdent("event name", "sys_enter_getppid")).toBe("sys_enter_getppid");
    expect(safeEventName("event", "xhci-hcd")).toBe("xhci-hcd");
    expect(safePath("path", "/usr/lib/x86_64-linux-gnu/libc.so.6")).toBe("/usr/lib/x86_64-linux-gnu/libc.so.6");
    expect(safeSymbol("symbol", "_ZN3foo3barEv")).toBe("_ZN3foo3barEv");
    expect(safeSymbol("symbol", "memcpy@@GLIBC_2.14")).toBe("memcpy@@GLIBC_2.14");
    expect(safeFilter("filter", 'common_pid == 42 && prev_comm ~ "bash*"')).toBe('common_pid == 42 && prev_comm ~ "bash*"');
    expect(safePids("pids", [1, 42])).toBe("1 42");
    expect(safeRelPath("instances/tstap_1_0/events/sched/sched_switch/enable")).toBe("instances/tstap_1_0/events/sched/sched_switch/enable");
  });
});

describe("refuses injection attempts", () => {
  it("a second command smuggled after a newline", () => {
    expect(refused(() => safeDynamicEventLine(`p:${G}/p0 /bin/true:0x10\n-:other/ev`, G))).toMatch(/a newline/);
    expect(refused(() => safeFilter("filter", "pid == 1\n0"))).toMatch(/a newline/);
    expect(refused(() => safeIdent("event name", "p0\n-:x/y"))).toMatch(/a newline/);
    expect(refused(() => safeDynamicEventLine(`p:${G}/p0 /bin/true:0x10\r`, G))).toMatch(/x0d/);
  });

  it("a backslash other than an immediate number (an immediate string could hold anything)", () => {
    expect(refused(() => safeDynamicEventLine(`p:${G}/p0 /bin/true:0x10 s=\\str:string`, G))).toMatch(/immediate number/);
    expect(refused(() => safeDynamicEventLine(`p:${G}/p0 /bin/true:0x10 s=\\`, G))).toMatch(/immediate number/);
  });

  it("another group's events, removal lines, wrong kinds", () => {
    expect(refused(() => safeDynamicEventLine("p:uprobes/p0 /bin/true:0x10", G))).toMatch(/not this run's group/);
    expect(refused(() => safeDynamicEventLine(`-:${G}/p0`, G))).toMatch(/does not start with/);
    expect(refused(() => safeDynamicEventLine(`s:${G}/x u64 a`, G))).toMatch(/does not start with/);
    expect(refused(() => safeDynamicEventLine(`p:${G}/p0 /bin/true:0x10 x=%di  y=%si`, G))).toMatch(/empty words/);
    expect(refused(() => safeRemoveLine("uprobes", "p0 extra"))).toMatch(/whitespace/);
  });

  it("paths with spaces, quotes, shell, glob, comment or '..'", () => {
    for (const p of ["/tmp/a b", "/tmp/a'b", '/tmp/a"b', "/tmp/$(reboot)", "/tmp/a;b", "/tmp/*", "/tmp/a#b", "/tmp/../etc/x", "/tmp/./x", "relative/x", "/tmp/a:b", "/tmp/\u00e9", "/tmp/a\tb", "/tmp//x"]) {
      refused(() => safePath("path", p));
      refused(() => safeDynamicEventLine(`p:${G}/p0 ${p}:0x10`, G));
    }
    expect(refused(() => safePath("probed file path", "/tmp/../etc/shadow"))).toMatch(/'\.\.' segment/);
  });

  it("fetch args and symbols with junk", () => {
    for (const a of ["x=%di;reboot", "x='a'", 'x=\\"imm"', "x=%di#c", "x=(%di", "x==1", "x=*", "9x=%di"]) {
      refused(() => safeDynamicEventLine(`p:${G}/p0 /bin/true:0x10 ${a}`, G));
    }
    for (const s of ["foo bar", "foo;bar", "foo\nbar", "-foo", ""]) refused(() => safeSymbol("symbol", s));
  });

  it("filters with unbalanced quotes, backslashes, control chars", () => {
    for (const f of ['comm == "ba', "comm == 'x'", 'comm == "a\\"b"', "pid == 1\u0000", "x == `y`"]) refused(() => safeFilter("filter", f));
  });

  it("names and tracefs paths that climb out", () => {
    for (const n of ["", "1abc", "a-b", "a/b", "..", "a b", "x".repeat(65)]) refused(() => safeIdent("name", n));
    for (const r of ["../x", "instances/../../etc", "/etc/passwd", "events//enable", "a/./b"]) refused(() => safeRelPath(r));
    refused(() => safePids("pids", [1.5]));
    refused(() => safePids("pids", [-1]));
  });
});

describe("run names", () => {
  it("encode the owner pid and nothing else matches", async () => {
    const { newRunName, ownerPid } = await import("../runtime/tracefs/index.js");
    const n = newRunName();
    expect(n).toMatch(new RegExp(`^tstap_${process.pid}_\\d+$`));
    expect(ownerPid(n)).toBe(process.pid);
    expect(ownerPid("tstap_12_3")).toBe(12);
    for (const other of ["tstap_test_1888_0", "xtstap_1_2", "tstap_1", "tstap_1_2_3", "tstap_a_1", "foo"]) expect(ownerPid(other)).toBeUndefined();
  });
});
