// The task table (runtime/tasks.ts) over a fake event feed, and its /proc
// fallback against this very process.

import { describe, expect, it } from "vitest";
import { CLONE_THREAD, kernelTaskFallback, listProcesses, processTree, procState, procTask, TaskTable, threadsOf, type TaskFallback } from "../runtime/tasks.js";

const CLONE_VM_ETC = 0x3d0f00; // what glibc's pthread_create passes (includes CLONE_THREAD)
const FORK = 0x1200011; // fork(): SIGCHLD | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID

function fakeFallback(known: Record<number, { tgid: number; ppid: number; comm: string }>): TaskFallback & { procCalls: number } {
  const f = {
    procCalls: 0,
    saved: () => ({}),
    proc(tid: number) {
      f.procCalls++;
      return known[tid];
    },
  };
  return f;
}

describe("task table", () => {
  it("adopts a live target from /proc, not from a stale saved_tgids entry of a reused pid", () => {
    const fb = {
      saved: (tid: number) => (tid === 300 ? { tgid: 250, comm: "old-thread" } : {}),
      proc: (tid: number) => (tid === 300 ? { tgid: 300, ppid: 42, comm: "napper" } : undefined),
    };
    const t = new TaskTable(fb);
    t.adopt(300);
    expect(t.get(300)).toMatchObject({ tgid: 300, ppid: 42, comm: "napper" });
    // without adopting, an unknown task is learnt from what the kernel saved at its events
    const u = new TaskTable(fb);
    expect(u.tgid(300)).toBe(250);
  });

  it("takes a live task that was running before the run over a stale saved_tgids entry of an older task with its tid", () => {
    // tid 300 was a thread of process 250 once; the kernel's saved_tgids still says so
    const fb = (start: number) => ({
      saved: (tid: number) => (tid === 300 ? { tgid: 250, comm: "node" } : {}),
      proc: (tid: number) => (tid === 300 ? { tgid: 120, ppid: 1, comm: "worker", start } : undefined),
    });
    // started (tick 500) before the table was made (tick 900): it was the task at every event
    expect(new TaskTable(fb(500), 900).get(300)).toMatchObject({ tgid: 120, comm: "worker" });
    // started after: the live task may have the tid only since, so what the kernel recorded stands
    expect(new TaskTable(fb(950), 900).get(300)).toMatchObject({ tgid: 250, comm: "node" });
  });

  it("reads a live task's start time from /proc", () => {
    const me = procTask(process.pid);
    expect(me?.start).toBeGreaterThan(0);
    expect(new TaskTable(kernelTaskFallback("/nonexistent")).get(process.pid).tgid).toBe(process.pid);
  });

  it("names tstap itself (the -c command's parent) from /proc, never from what the kernel saved for its pid", () => {
    const me = process.pid;
    const fb = {
      saved: (tid: number) => (tid === me ? { tgid: me, comm: "napper" } : {}),
      proc: (tid: number) => (tid === me ? { tgid: me, ppid: 1, comm: "tstap" } : undefined),
    };
    const t = new TaskTable(fb);
    t.newTask(me, 400, "tstap", FORK);
    expect(t.parentComm(400)).toBe("tstap");
  });

  it("follows fork, threads, exec, rename and exit in event order", () => {
    const fb = fakeFallback({ 100: { tgid: 100, ppid: 1, comm: "bash" } });
    const t = new TaskTable(fb);
    expect(CLONE_VM_ETC & CLONE_THREAD).toBe(CLONE_THREAD);
    t.newTask(100, 200, "bash", FORK);
    expect(t.get(200)).toMatchObject({ tid: 200, tgid: 200, ppid: 100, comm: "bash", alive: true });
    t.exec(200, 200, "/usr/bin/prog-with-a-long-name");
    expect(t.comm(200)).toBe("prog-with-a-lon");
    expect(t.get(200).exe).toBe("/usr/bin/prog-with-a-long-name");
    t.newTask(200, 201, "prog-with-a-lon", BigInt(CLONE_VM_ETC));
    expect(t.get(201)).toMatchObject({ tgid: 200, ppid: 100 });
    t.rename(201, "worker");
    expect(t.comm(201)).toBe("worker");
    expect(t.comm(200)).toBe("prog-with-a-lon");
    expect(t.parentComm(201)).toBe("bash");
    t.exit(201);
    t.exit(200);
    // Exited tasks still answer for their late events.
    expect(t.get(201)).toMatchObject({ tgid: 200, comm: "worker", alive: false });
    expect(fb.procCalls).toBe(1);
  });

  it("handles an exec from a non-leader thread (de_thread)", () => {
    const t = new TaskTable(fakeFallback({ 300: { tgid: 300, ppid: 5, comm: "app" } }));
    t.newTask(300, 301, "app", CLONE_VM_ETC);
    t.exec(300, 301, "/bin/true");
    expect(t.get(300)).toMatchObject({ tgid: 300, comm: "true", ppid: 5, alive: true });
    expect(t.get(301).alive).toBe(false);
  });

  it("learns tasks older than the run once, saved_* before /proc when /proc shows no task older than the run", () => {
    const fb: TaskFallback & { procCalls: number } = {
      procCalls: 0,
      saved: (tid) => (tid === 7 ? { tgid: 6, comm: "kept" } : {}),
      proc(tid) {
        this.procCalls++;
        return tid === 7 ? { tgid: 99, ppid: 3, comm: "now" } : undefined;
      },
    };
    const t = new TaskTable(fb);
    expect(t.tgid(7)).toBe(6);
    expect(t.comm(7)).toBe("kept");
    // one look at /proc: is the live task 7 one that was running before the run? (it gives no start time)
    expect(fb.procCalls).toBe(1);
    expect(t.ppid(7)).toBe(3);
    expect(t.get(12345)).toMatchObject({ tgid: 12345, comm: "", ppid: 0 });
    expect(t.get(0)).toMatchObject({ tgid: 0, comm: "swapper" });
  });

  it("reads this process from /proc", () => {
    expect(procTask(process.pid)).toMatchObject({ tgid: process.pid, ppid: process.ppid });
    const t = new TaskTable(kernelTaskFallback("/nonexistent-tracefs"));
    expect(t.tgid(process.pid)).toBe(process.pid);
    expect(t.ppid(process.pid)).toBe(process.ppid);
    expect(t.comm(process.pid).length).toBeGreaterThan(0);
    expect(threadsOf(process.pid)).toContain(process.pid);
  });
});

describe("/proc helpers", () => {
  it("sees this process, its threads and its state", () => {
    expect(procState(process.pid)).toMatch(/^[RS]$/);
    expect(procState(2 ** 22 + 12345)).toBeUndefined();
    expect(threadsOf(process.pid).length).toBeGreaterThan(1);
    const me = listProcesses().find((p) => p.tgid === process.pid);
    expect(me?.tids).toContain(process.pid);
  });
});

describe("processTree", () => {
  it("is the root and its descendants, however deep, and nothing else", () => {
    const procs = [
      { tgid: 1, ppid: 0, tids: [1] },
      { tgid: 10, ppid: 1, tids: [10] },
      { tgid: 11, ppid: 10, tids: [11, 12] },
      { tgid: 13, ppid: 11, tids: [13] },
      { tgid: 20, ppid: 1, tids: [20] },
    ];
    expect([...processTree(10, procs)].sort((a, b) => a - b)).toEqual([10, 11, 13]);
    expect([...processTree(20, procs)]).toEqual([20]);
    // a pid no longer running is its own tree
    expect([...processTree(99, procs)]).toEqual([99]);
  });

  it("finds this process as a child of its parent in /proc", () => {
    expect(processTree(process.ppid, listProcesses()).has(process.pid)).toBe(true);
  });
});
