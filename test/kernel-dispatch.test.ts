// The kernel dispatcher (runtime/kernel-dispatch.ts) over a fake event feed:
// process probes fire in SystemTap's context, the task table follows the
// events, and $$vars prints stap's way.

import { beforeEach, describe, expect, it } from "vitest";
import { current } from "../runtime/context.js";
import { contextNatives, kernelFieldNatives, kernelRun } from "../runtime/context-kernel.js";
import { formatVars, KernelDispatcher, type DecodedEvent, type KernelEvent, type KernelEventPlan } from "../runtime/kernel-dispatch.js";
import { TaskTable } from "../runtime/tasks.js";
import { gettimeofday_ns, local_clock_ns } from "../runtime/natives-time.js";

const FORK = 0x1200011;
const THREAD = 0x3d0f00;

function ev(tid: number, fields: Record<string, unknown>, ts = 1000n): DecodedEvent {
  return { tid, cpu: 1, tsNs: ts, get: (n) => fields[n] as never, names: () => Object.keys(fields) };
}

const plans: KernelEventPlan[] = [
  {
    kind: "tracepoint",
    system: "task",
    event: "task_newtask",
    tracksTasks: true,
    targetProcess: false,
    dispatch: [
      { how: "process", what: "begin", probe: 0 },
      { how: "process", what: "thread.begin", probe: 1 },
      { how: "process", what: "begin", probe: 4, path: "/bin/prog" },
    ],
  },
  {
    kind: "tracepoint",
    system: "sched",
    event: "sched_process_exit",
    tracksTasks: true,
    targetProcess: false,
    dispatch: [
      { how: "process", what: "end", probe: 2 },
      { how: "process", what: "thread.end", probe: 3 },
    ],
  },
  {
    kind: "tracepoint",
    system: "sched",
    event: "sched_process_exec",
    tracksTasks: true,
    targetProcess: false,
    dispatch: [{ how: "process", what: "begin", probe: 4, path: "/bin/prog" }],
  },
  {
    kind: "tracepoint",
    system: "raw_syscalls",
    event: "sys_enter",
    tracksTasks: false,
    targetProcess: false,
    dispatch: [{ how: "process", what: "syscall", probe: 5, path: "/bin/prog" }],
  },
];

/** Every firing as "probe: pid/tid execname". */
function harness() {
  const log: string[] = [];
  const nat = (n: string) => contextNatives[n]![0]!.fn;
  const d = new KernelDispatcher(plans, (probe, e: KernelEvent) => {
    current.event = e;
    log.push(`${probe}: ${nat("pid")()}/${nat("tid")()} ${nat("execname")()} ppid=${nat("ppid")()}`);
    current.event = undefined;
  });
  return { d, log };
}

beforeEach(() => {
  kernelRun.tasks = new TaskTable({
    saved: () => ({}),
    proc: (tid) => (tid === 100 || tid === 101 ? { tgid: 100, ppid: 1, comm: "sh", exe: "/bin/sh" } : undefined),
  });
});

describe("process probes", () => {
  it("fire begin in the child, thread.begin in the thread, end for the last thread", () => {
    const { d, log } = harness();
    d.onEvent(0, ev(100, { pid: 200, comm: "sh", clone_flags: FORK }));
    d.onEvent(2, ev(200, { filename: "/bin/prog", pid: 200, old_pid: 200 }));
    d.onEvent(0, ev(200, { pid: 201, comm: "prog", clone_flags: THREAD }));
    d.onEvent(3, ev(201, { id: 39, args: [0, 0, 0, 0, 0, 0] }));
    d.onEvent(3, ev(100, { id: 39, args: [0, 0, 0, 0, 0, 0] }));
    d.onEvent(1, ev(201, { comm: "prog", pid: 201, prio: 120, group_dead: 0 }));
    d.onEvent(1, ev(200, { comm: "prog", pid: 200, prio: 120, group_dead: 1 }));
    expect(log).toEqual([
      "0: 200/200 sh ppid=100",
      "4: 200/200 prog ppid=100",
      "1: 200/201 prog ppid=100",
      "5: 200/201 prog ppid=100",
      "3: 200/201 prog ppid=100",
      "2: 200/200 prog ppid=100",
    ]);
  });

  it("begins existing processes at startup, PATH-restricted ones only for PATH", () => {
    const { d, log } = harness();
    d.existing(() => [{ tgid: 100, tids: [100, 101] }], { cpu: 0, tsNs: 5n });
    expect(log).toEqual(["0: 100/100 sh ppid=1", "1: 100/101 sh ppid=1"]);
  });
});

describe("$$vars", () => {
  it("prints integers in hex, strings quoted, arrays bracketed", () => {
    expect(formatVars(ev(1, { nr: 110, neg: -1, comm: "bash", args: [1, 255] }))).toBe(
      'nr=0x6e neg=0xffffffffffffffff comm="bash" args=[0x1,0xff]',
    );
  });
});

describe("the event's time", () => {
  const direct = (event: string, probes: number[]): KernelEventPlan => ({
    kind: "tracepoint",
    system: "syscalls",
    event,
    tracksTasks: false,
    targetProcess: false,
    dispatch: probes.map((probe) => ({ how: "direct" as const, probe })),
  });

  it("is the event's in every handler it fires (one probe, several, onEvent), and now outside them", () => {
    kernelRun.realtimeOffsetNs = 1_000_000_000n;
    const seen: string[] = [];
    const cpu = contextNatives.cpu![0]!.fn;
    const d = new KernelDispatcher([direct("sys_enter_getppid", [7]), direct("sys_enter_getpid", [8, 9])], (probe, e: KernelEvent) => {
      current.event = e;
      seen.push(`${probe}: ${local_clock_ns()} ${gettimeofday_ns()} cpu ${cpu()}`);
      current.event = undefined;
    });
    const first = ev(100, {}, 5000n);
    const one = d.listener(0, first);
    one();
    d.listener(1, ev(100, {}, 6000n))();
    d.onEvent(0, ev(100, {}, 7000n));
    // the same listener, its event read again: the time follows the event
    one.call(undefined);
    const before = process.hrtime.bigint();
    const now = BigInt(local_clock_ns());
    expect(seen).toEqual(["7: 5000 1000005000 cpu 1", "8: 6000 1000006000 cpu 1", "9: 6000 1000006000 cpu 1", "7: 7000 1000007000 cpu 1", "7: 5000 1000005000 cpu 1"]);
    expect(now >= before).toBe(true);
  });
});

describe("one-probe listeners", () => {
  it("each answer for their own event, interleaved with another event type's and the onEvent path", () => {
    const plain = (event: string, probe: number): KernelEventPlan => ({
      kind: "tracepoint",
      system: "syscalls",
      event,
      tracksTasks: false,
      targetProcess: false,
      dispatch: [{ how: "direct", probe }],
    });
    const nat = (n: string) => contextNatives[n]![0]!.fn;
    const field = kernelFieldNatives.__kernel_field![0]!.fn;
    const seen: string[] = [];
    const d = new KernelDispatcher([plain("sys_enter_read", 1), plain("sys_enter_write", 2)], (probe, e: KernelEvent) => {
      current.event = e;
      seen.push(`${probe}: ${nat("pid")()}/${nat("tid")()} fd=${field("fd")} cpu ${nat("cpu")()}`);
      current.event = undefined;
    });
    // each listener reads its event object (the same object for every event of its type, refilled)
    const fields = { read: { fd: 3 } as Record<string, unknown>, write: { fd: 4 } as Record<string, unknown> };
    let readTid = 100;
    const readEv: DecodedEvent = { get tid() { return readTid; }, cpu: 0, tsNs: 1n, get: (n) => fields.read[n] as never, names: () => ["fd"] };
    const writeEv = ev(101, fields.write);
    const onRead = d.listener(0, readEv);
    const onWrite = d.listener(1, writeEv);
    onRead();
    onWrite();
    readTid = 101;
    fields.read.fd = 5;
    onRead();
    d.onEvent(1, ev(100, { fd: 6 }));
    onWrite();
    expect(seen).toEqual(["1: 100/100 fd=3 cpu 0", "2: 100/101 fd=4 cpu 1", "1: 100/101 fd=5 cpu 0", "2: 100/100 fd=6 cpu 1", "2: 100/101 fd=4 cpu 1"]);
  });
});
