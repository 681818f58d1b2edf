import { spawn, type ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { lookupNative, type NativeValue } from "../../runtime/natives.js";
import { kernelRun, lookupContextNative } from "../../runtime/context-kernel.js";
import { kernelTaskFallback, TaskTable } from "../../runtime/tasks.js";
import { current } from "../../runtime/context.js";
import { clearEventTime, setEventTime } from "../../runtime/clock.js";
import { limits, resetLimits } from "../../runtime/limits.js";
import { cmdlineArgs, kernelHz, ppfunc, readCmdline, readTimeZone } from "../../runtime/natives-system.js";

function call(name: string, ...args: NativeValue[]): NativeValue | undefined {
  const d = lookupNative(name, args.length) ?? lookupContextNative(name, args.length);
  if (!d) throw new Error(`no native ${name}/${args.length}`);
  return d.fn(...args);
}

const savedTz = process.env.TZ;

afterEach(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
  resetLimits();
  clearEventTime();
  current.event = undefined;
  current.pp = "";
});

describe("time zone", () => {
  const winter = Date.UTC(2024, 0, 15, 12);
  const summer = Date.UTC(2024, 6, 15, 12);

  it("reads glibc's offset (seconds west) and abbreviation for an instant", () => {
    process.env.TZ = "Europe/Berlin";
    expect(readTimeZone(winter)).toEqual({ gmtoff: -3600, name: "CET" });
    expect(readTimeZone(summer)).toEqual({ gmtoff: -7200, name: "CEST" });
    process.env.TZ = "America/New_York";
    expect(readTimeZone(winter)).toEqual({ gmtoff: 18000, name: "EST" });
    process.env.TZ = "Asia/Kolkata";
    expect(readTimeZone(winter)).toEqual({ gmtoff: -19800, name: "IST" });
    process.env.TZ = "UTC";
    expect(readTimeZone(summer)).toEqual({ gmtoff: 0, name: "UTC" });
  });

  it("takes POSIX TZ strings as staprun's localtime() does", () => {
    process.env.TZ = "XYZ-3";
    expect(readTimeZone(winter)).toEqual({ gmtoff: -10800, name: "XYZ" });
  });

  it("answers the same throughout a run", () => {
    const off = call("tz_gmtoff");
    const name = call("tz_name");
    process.env.TZ = off === 0 ? "Asia/Tokyo" : "UTC";
    expect(call("tz_gmtoff")).toBe(off);
    expect(call("tz_name")).toBe(name);
  });
});

describe("HZ, jiffies, get_cycles", () => {
  it("HZ is a plausible CONFIG_HZ", () => {
    expect(call("HZ")).toBe(kernelHz());
    expect([100, 250, 300, 1000]).toContain(kernelHz());
  });

  it("jiffies counts HZ per monotonic second from INITIAL_JIFFIES, at the event's time", () => {
    const hz = kernelHz();
    setEventTime({ realtimeNs: 0n, monotonicNs: 0n });
    expect(call("jiffies")).toBe(2 ** 32 - 300 * hz);
    setEventTime({ realtimeNs: 0n, monotonicNs: 10_000_000_000n + 1n });
    expect(call("jiffies")).toBe(2 ** 32 - 300 * hz + 10 * hz);
  });

  it("get_cycles grows within an event", () => {
    setEventTime({ realtimeNs: 0n, monotonicNs: 5n });
    const a = call("get_cycles") as number;
    const b = call("get_cycles") as number;
    expect(b).toBeGreaterThan(a);
  });
});

describe("tstap itself", () => {
  it("stp_pid and module_name name this process", () => {
    expect(call("stp_pid")).toBe(process.pid);
    expect(call("module_name")).toBe(`tstap_${process.pid}`);
  });
});

describe("ppfunc", () => {
  it("takes the name out of function(\"...\") or statement(\"...\")", () => {
    expect(ppfunc('kernel.function("vfs_read@fs/read_write.c:450")')).toBe("vfs_read");
    expect(ppfunc('kernel.function("vfs_read").return')).toBe("vfs_read");
    expect(ppfunc('process("/bin/ls").statement("main@ls.c:10")')).toBe("main");
    expect(ppfunc('module("ext4").function("ext4_*")')).toBe("ext4_*");
    expect(ppfunc("begin")).toBe("");
    expect(ppfunc('kernel.trace("sched:sched_switch")')).toBe("");
    expect(ppfunc('kernel.function("unterminated')).toBe("unterminated");
  });

  it("reads the handler's pp()", () => {
    current.pp = 'kernel.function("do_sys_open@fs/open.c:1")';
    expect(call("ppfunc")).toBe("do_sys_open");
    current.pp = "timer.ms(100)";
    expect(call("ppfunc")).toBe("");
    expect(call("is_return")).toBe(0);
  });
});

describe("cmdline_args", () => {
  const argv = ["prog", "a", "", "c d"];

  it("joins arguments n..m, writing later empty ones as \"\"", () => {
    expect(cmdlineArgs(argv, 0, -1, " ")).toBe('prog a "" c d');
    expect(cmdlineArgs(argv, 1, 2, ",")).toBe('a,""');
    expect(cmdlineArgs(argv, 2, 2, "")).toBe("");
    expect(cmdlineArgs(argv, 3, 3, "")).toBe("c d");
    expect(cmdlineArgs(argv, 1, 99, "+")).toBe('a+""+c d');
  });

  it("follows stap's loop where its documentation differs", () => {
    expect(cmdlineArgs(argv, 2, 1, " ")).toBe("");
    expect(cmdlineArgs(argv, 4, -1, " ")).toBe("");
    expect(cmdlineArgs(argv, -1, 1, ",")).toBe(",prog,a");
    expect(cmdlineArgs(undefined, 0, -1, " ")).toBe("");
  });

  it("is cut to MAXSTRINGLEN", () => {
    limits.MAXSTRINGLEN = 8;
    expect(cmdlineArgs(argv, 0, -1, " ")).toBe("prog a ");
  });

  it("reads /proc/PID/cmdline; undefined for a missing process or a kernel thread", () => {
    expect(readCmdline(process.pid)?.[0]).toBe(process.argv0);
    expect(readCmdline(2 ** 30)).toBeUndefined();
    expect(readCmdline(2)).toBeUndefined(); // kthreadd
  });

  describe("for a kernel event, the event's process", () => {
    let child: ChildProcess | undefined;
    afterEach(() => {
      child?.kill();
      child = undefined;
    });

    it("reads the process the event is about", async () => {
      child = spawn("sleep", ["30", "0"], { stdio: "ignore" });
      await new Promise((r) => child!.once("spawn", r));
      // the spawn event comes before exec: wait until the new command line shows
      // (up to 10 s: a loaded 2-core CI host has been seen to take over 1 s)
      for (let i = 0; i < 1000 && readCmdline(child.pid!)?.[0] !== "sleep"; i++) await new Promise((r) => setTimeout(r, 10));
      // the task as /proc shows it: the kernel's saved_tgids may still name an older task that had this (reused) pid
      const live = kernelTaskFallback();
      kernelRun.tasks = new TaskTable({ saved: () => ({}), proc: (tid) => live.proc(tid) });
      current.event = { kind: "kernel-event", tid: child.pid!, cpu: 0, tsNs: 0n };
      expect(call("cmdline_args", 0, -1, " ")).toBe("sleep 30 0");
      expect(call("cmdline_args", 2, 2, "")).toBe("0");
      current.event = undefined;
      expect(call("cmdline_args", 0, 0, "")).toBe(process.argv0);
    });
  });
});
