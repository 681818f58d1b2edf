// The event pipeline on the real kernel: exact counts, field decoding of
// real tracepoints, time order, lost events.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openKernelTraceSession, openTraceSession, TraceSession, lostEventsWarning } from "../../runtime/events/index.js";
import { getppidProgram, requireTracefs, runGetppid, tracefsState } from "./support.js";

let before = "";
beforeAll(() => {
  requireTracefs();
  getppidProgram();
  before = tracefsState();
});
afterAll(() => {
  expect(tracefsState()).toBe(before);
});

describe("TraceSession", () => {
  it("counts exactly N sys_enter_getppid events of a program", async () => {
    const byPid = new Map<number, number>();
    const { session: s, added } = openTraceSession({
      bufferKb: 4096,
      events: [{ system: "syscalls", event: "sys_enter_getppid" }],
      onEvent: (v) => byPid.set(v.pid, (byPid.get(v.pid) ?? 0) + 1),
    });
    try {
      expect(added[0]!.id).toBeGreaterThan(0);
      const pid = runGetppid(100_000);
      await s.drain();
      expect(byPid.get(pid)).toBe(100_000);
      const lost = s.close();
      expect(lost.lost).toBe(0);
    } finally {
      s.close();
    }
  });

  it("decodes sched_switch comms and sched_process_exec filenames", async () => {
    const s = TraceSession.open({ bufferKb: 1024 });
    try {
      const sw = s.addEvent({ system: "sched", event: "sched_switch" });
      const ex = s.addEvent({ system: "sched", event: "sched_process_exec" });
      const comms = new Set<string>();
      const execs: { pid: number; filename: string; comm: string }[] = [];
      let lastTs = -Infinity;
      let ordered = true;
      const prev = sw.readers.get("prev_comm")!;
      const next = sw.readers.get("next_comm")!;
      const state = sw.readers.get("prev_state")!;
      s.on(sw.id, (v) => {
        comms.add(prev(v) as string);
        comms.add(next(v) as string);
        expect(typeof state(v)).toBe("number");
        if (v.ts < lastTs) ordered = false;
        lastTs = v.ts;
      });
      const fname = ex.readers.get("filename")!;
      const epid = ex.readers.get("pid")!;
      const ctype = ex.readers.get("common_type")!;
      s.on(ex.id, (v) => {
        expect(ctype(v)).toBe(ex.id);
        execs.push({ pid: epid(v) as number, filename: fname(v) as string, comm: "" });
        if (v.ts < lastTs) ordered = false;
        lastTs = v.ts;
      });
      s.start();
      const exe = getppidProgram();
      const r = spawnSync(exe, ["10"]);
      spawnSync("/bin/sleep", ["0.01"]);
      await s.drain();
      expect(execs.find((e) => e.pid === r.pid)?.filename).toBe(exe);
      expect(comms.has("getppid-loop")).toBe(true);
      expect(comms.has("sleep")).toBe(true);
      expect(ordered).toBe(true);
    } finally {
      s.close();
    }
  });

  it("decodes s16, u64, s64, bool, pointers and syscall numbers of real tracepoints", async () => {
    const s = TraceSession.open({ bufferKb: 1024 });
    try {
      const nt = s.addEvent({ system: "task", event: "task_newtask" });
      const hr = s.addEvent({ system: "timer", event: "hrtimer_start" });
      const gp = s.addEvent({ system: "syscalls", event: "sys_enter_getppid" });
      const forks: { pid: unknown; comm: unknown; flags: unknown; oom: unknown; parent: number }[] = [];
      const timers: { hrtimer: unknown; expires: unknown; armed: unknown; flags: unknown }[] = [];
      const nrs = new Set<unknown>();
      const r = nt.readers;
      s.on(nt.id, (v) => forks.push({ pid: r.get("pid")!(v), comm: r.get("comm")!(v), flags: r.get("clone_flags")!(v), oom: r.get("oom_score_adj")!(v), parent: v.pid }));
      const h = hr.readers;
      s.on(hr.id, (v) => {
        if (timers.length < 50) timers.push({ hrtimer: h.get("hrtimer")!(v), expires: h.get("expires")!(v), armed: h.get("was_armed")!(v), flags: h.get("common_preempt_count")!(v) });
      });
      s.on(gp.id, (v) => nrs.add(gp.readers.get("__syscall_nr")!(v)));
      s.start();
      const pid = runGetppid(3);
      await new Promise((res) => setTimeout(res, 30));
      await s.drain();
      const fork = forks.find((f) => f.pid === pid);
      expect(fork).toBeDefined();
      expect(fork!.parent).toBe(process.pid);
      expect(fork!.comm).toBe(readFileSync("/proc/self/comm", "latin1").trim());
      // libuv forks with glibc fork(): CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID (the exit signal is kept apart)
      expect(fork!.flags).toBe(0x1200000);
      expect(fork!.oom).toBe(Number(readFileSync("/proc/self/oom_score_adj", "latin1")));
      expect(timers.length).toBeGreaterThan(0);
      for (const t of timers) {
        // a kernel address (0xffff...) is a negative long, as every 64-bit
        // value above 2^63 reads in stap; expiry times are positive s64 ns
        const addr = BigInt(t.hrtimer as number | bigint);
        expect(addr < 0n).toBe(true);
        expect(BigInt.asUintN(64, addr) >> 48n).toBe(0xffffn);
        expect(typeof t.expires === "number" && t.expires > 0).toBe(true);
        expect([0, 1]).toContain(t.armed);
        expect(typeof t.flags).toBe("number");
      }
      expect([...nrs]).toEqual([110]);
    } finally {
      s.close();
    }
  });

  it("keeps only the pids of set_event_pid", async () => {
    const s = TraceSession.open({ bufferKb: 1024 });
    try {
      const byPid = new Map<number, number>();
      s.addEvent({ system: "syscalls", event: "sys_enter_getppid" }, (v) => byPid.set(v.pid, (byPid.get(v.pid) ?? 0) + 1));
      const exe = getppidProgram();
      const [chosen, other] = waitingGetppid(exe, [500, 700]);
      s.setEventPids([chosen.pid!], false);
      s.start();
      await release([chosen, other]);
      await s.drain();
      expect([...byPid]).toEqual([[chosen.pid!, 500]]);
    } finally {
      s.close();
    }
  });

  it("records a scope's events for its pids alone, merged by time with the instance's", async () => {
    const s = TraceSession.open({ bufferKb: 1024 });
    try {
      const exe = getppidProgram();
      const [chosen, other] = waitingGetppid(exe, [300, 400]);
      // entries of the chosen process: a scope; exits: every task
      const lane = await s.addScope([chosen.pid!], false);
      const seen: { what: string; pid: number; ts: number }[] = [];
      const enter = s.addEvent({ system: "syscalls", event: "sys_enter_getppid", lane }, (v) => seen.push({ what: "enter", pid: v.pid, ts: v.ts }));
      s.addEvent({ system: "syscalls", event: "sys_exit_getppid" }, (v) => seen.push({ what: "exit", pid: v.pid, ts: v.ts }));
      expect(enter.id).toBeGreaterThan(0);
      expect(readdirSync("/sys/kernel/tracing/instances").filter((n) => n.startsWith(`tstap_${process.pid}_`)).length).toBe(2);
      s.start();
      await release([chosen, other]);
      await s.drain();
      const count = (what: string, pid: number): number => seen.filter((e) => e.what === what && e.pid === pid).length;
      expect([count("enter", chosen.pid!), count("exit", chosen.pid!), count("enter", other.pid!), count("exit", other.pid!)]).toEqual([300, 300, 0, 400]);
      // one stream in time order: the chosen process's entries and exits alternate
      expect(seen.every((e, i) => i === 0 || seen[i - 1]!.ts <= e.ts)).toBe(true);
      const mine = seen.filter((e) => e.pid === chosen.pid).map((e) => e.what[1]).join("");
      expect(mine).toBe("nx".repeat(300));
    } finally {
      s.close();
    }
  });

  it("serves the run loop's KernelTraceSession interface", async () => {
    const k = await openKernelTraceSession({ bufferKb: 1024 });
    try {
      expect(k.traceClock).toBe("mono");
      const h = await k.addEvent("syscalls", "sys_enter_getppid");
      const got: { tid: number; nr: unknown; names: readonly string[]; ts: bigint }[] = [];
      await k.start((handle, ev) => () => {
        expect(handle).toBe(h);
        got.push({ tid: ev.tid, nr: ev.get("__syscall_nr"), names: ev.names(), ts: ev.tsNs });
      });
      const t0 = process.hrtime.bigint();
      const pid = runGetppid(5);
      await k.drain();
      const mine = got.filter((g) => g.tid === pid);
      expect(mine.length).toBe(5);
      expect(mine[0]!.nr).toBe(110);
      expect(mine[0]!.names).toEqual(["__syscall_nr"]);
      // mono trace clock: event times are process.hrtime times
      expect(mine[0]!.ts > t0 && mine[0]!.ts < process.hrtime.bigint()).toBe(true);
    } finally {
      expect(await k.close()).toEqual({ lost: 0, handedOff: false });
    }
  });

  it("catchUp delivers at once what was recorded before a time, and nothing after it", async () => {
    const s = TraceSession.open();
    try {
      const seen: number[] = [];
      s.addEvent({ system: "syscalls", event: "sys_enter_getppid" }, (v) => seen.push(v.pid));
      s.start({ poll: false });
      const t0 = process.hrtime.bigint();
      const pid = runGetppid(500);
      await new Promise((r) => setTimeout(r, 10)); // past the commit slack
      s.catchUp(t0);
      expect(seen.filter((p) => p === pid)).toHaveLength(0);
      s.catchUp(process.hrtime.bigint());
      expect(seen.filter((p) => p === pid)).toHaveLength(500);
    } finally {
      s.close();
    }
  });

  it("reports lost events when a tiny buffer overflows", async () => {
    const s = TraceSession.open({ bufferKb: 8 });
    try {
      let n = 0;
      s.addEvent({ system: "syscalls", event: "sys_enter_getppid" }, () => n++);
      // readers opened, but nothing polls while the program runs
      s.start({ poll: false });
      runGetppid(200_000);
      const report = s.close();
      expect(report.lost).toBeGreaterThan(0);
      expect(n + report.lost).toBeGreaterThanOrEqual(200_000);
      expect(lostEventsWarning(report, 8)).toMatch(/^Number of events lost: \d+ /);
    } finally {
      s.close();
    }
  });
});

/** getppid loops of `counts[i]` calls each, started now and waiting for release() before they call. */
function waitingGetppid(exe: string, counts: number[]): ChildProcess[] {
  return counts.map((n) => spawn(exe, [String(n), "wait"], { stdio: ["pipe", "ignore", "ignore"] }));
}

/** Lets waiting programs go and resolves when all have exited. */
async function release(procs: ChildProcess[]): Promise<void> {
  const exits = procs.map((p) => new Promise<void>((res) => p.on("exit", () => res())));
  for (const p of procs) p.stdin!.end("go\n");
  await Promise.all(exits);
}
