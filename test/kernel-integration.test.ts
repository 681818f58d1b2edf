// Kernel probes on the real kernel, below the CLI: hand-built programs go
// through pass 3 (lower-kernel), pass 4 and the run loop with the kernel
// event source (runtime/kernel-source.ts) fed by a test-only tracefs session
// (test/support/mini-tracefs.ts). The CLI-level cases are test/kernel-cases.

import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { requireKernelTracing } from "./support/kernel-gate.js";
import { translate } from "../src/translate/index.js";
import { load } from "../src/load/index.js";
import { run } from "../runtime/index.js";
import { kernelRun } from "../runtime/context-kernel.js";
import { KernelEventSource } from "../runtime/kernel-source.js";
import type { Expr, Stmt } from "../src/parse/ast.js";
import type { Program } from "../src/elaborate/program.js";
import { assign, bin, block, call, expr, global, id, idx, num, P, probe, program, str } from "./run-ast.js";
import { MiniTraceSession } from "./support/mini-tracefs.js";

const root = join(import.meta.dirname, "..");
const tmp = join(root, "test", "tmp");

const ifs = (cond: Expr, then: Stmt): Stmt => ({ kind: "if", cond, then, pos: P() });
const field = (name: string, type: "long" | "string"): Expr => ({ kind: "target", name, steps: [], pretty: "", addressOf: false, pos: P(), type });
const pidEqTarget = (): Expr => bin("==", call("pid", []), call("target", []));
const end = { kind: "end" as const, priority: 0n };

/** The back end: the kernel back end's session (as tstap runs) or the test-only one. */
const defaultBackend: "tstap" | "mini" = process.env.TSTAP_TEST_SESSION === "mini" ? "mini" : "tstap";
let backend = defaultBackend;

async function runKernel(p: Program, opts: { command?: string; targetPid?: number; timeoutSeconds?: number; unoptimized?: boolean }) {
  const t = translate(p, { hasTargetCommand: opts.command !== undefined, targetPid: opts.targetPid, unoptimized: opts.unoptimized });
  if (!t.plan) throw new Error(t.diagnostics.map((d) => d.message).join("; "));
  const l = await load(t.plan, {});
  if (!l.unit) throw new Error(l.diagnostics.map((d) => d.message).join("; "));
  const file = join(mkdtempSync(join(tmpdir(), "tstap-k-")), "out");
  let err = "";
  const source = new KernelEventSource(KernelEventSource.plansOf(l.unit.events), MiniTraceSession.open, {
    targetPid: () => kernelRun.target,
    warn: (m) => (err += `WARNING: ${m}\n`),
  });
  const status = await run(l.unit, {
    outputFile: file,
    messages: (s) => (err += s + "\n"),
    sources: backend === "mini" ? [source] : [],
    targetCommand: opts.command,
    targetPid: opts.targetPid,
    timeoutSeconds: opts.timeoutSeconds,
  });
  return { out: readFileSync(file, "latin1"), err, status };
}

describe("kernel probes on this kernel", () => {
  beforeAll(() => {
    requireKernelTracing();
    MiniTraceSession.reap();
    mkdirSync(tmp, { recursive: true });
    for (const f of ["getppid_loop", "forker", "threads", "napper"]) {
      execFileSync("gcc", ["-O2", "-pthread", "-o", join(tmp, f), join(root, "test", "fixtures", `${f}.c`)]);
    }
  });

  for (const [unoptimized, be] of [[false, "mini"], [true, "mini"], [false, "tstap"], [true, "tstap"]] as const) {
    it(`counts 1,000,000 getppid events of the -c command exactly${unoptimized ? " (no pushdown)" : ""} [${be} session]`, { timeout: 120_000 }, async () => {
      backend = be;
      const n = global("n");
      const p = program(
        [
          probe({ kind: "tracepoint", system: "syscalls", event: "sys_enter_getppid" }, block(ifs(pidEqTarget(), expr(assign(id(n), num(1), "+="))))),
          probe(end, block(expr(call("printf", [str("%d\n"), id(n)])))),
        ],
        [n],
      );
      const r = await runKernel(p, { command: `${join(tmp, "getppid_loop")} 1000000`, unoptimized });
      expect(r).toEqual({ out: "1000000\n", err: "", status: 0 });
      // with pushdown the kernel kept other processes' getppid calls out (set_event_pid)
      if (!unoptimized && be === "mini") expect(MiniTraceSession.last!.pidsSet).toBe(true);
      backend = defaultBackend;
    });
  }

  it("sees the -c command's children begin and end, in their own context", { timeout: 60_000 }, async () => {
    const b = global("b");
    const e = global("e");
    const names = global("names", "long", ["string"]);
    const isChild = (): Expr => bin("==", call("ppid", []), call("target", []));
    const p = program(
      [
        probe({ kind: "process", what: "begin" }, block(ifs(isChild(), block(expr(assign(id(b), num(1), "+=")), expr(assign(idx(names, call("execname", [], undefined, "string")), num(1), "+=")))))),
        probe({ kind: "process", what: "end" }, block(ifs(isChild(), expr(assign(id(e), num(1), "+="))))),
        probe(end, block(expr(call("printf", [str("%d %d %d\n"), id(b), id(e), idx(names, str("forker"))])))),
      ],
      [b, e, names],
    );
    const r = await runKernel(p, { command: `${join(tmp, "forker")} 3` });
    expect(r).toEqual({ out: "3 3 3\n", err: "", status: 0 });
  });

  it("names threads as they renamed themselves, after they exited", { timeout: 60_000 }, async () => {
    const seen = global("seen", "long", ["string"]);
    const p = program(
      [
        probe({ kind: "process", what: "thread.end" }, block(ifs(pidEqTarget(), expr(assign(idx(seen, call("execname", [], undefined, "string")), num(1), "+="))))),
        probe(end, block(expr(call("printf", [str("%d %d\n"), idx(seen, str("worker0")), idx(seen, str("worker1"))])))),
      ],
      [seen],
    );
    const r = await runKernel(p, { command: `${join(tmp, "threads")} 2` });
    expect(r).toEqual({ out: "1 1\n", err: "", status: 0 });
  });

  it("reads char[16] fields of sched_switch as strings, filtered in the kernel", { timeout: 60_000 }, async () => {
    const seen = global("seen", "long", ["string"]);
    const p = program(
      [
        probe(
          { kind: "tracepoint", system: "sched", event: "sched_switch" },
          block(ifs(bin("==", field("prev_comm", "string"), str("napper")), expr(assign(idx(seen, field("prev_comm", "string")), num(1), "+=")))),
        ),
        probe(end, block(expr(call("printf", [str("%d\n"), bin(">", idx(seen, str("napper")), num(5))])))),
      ],
      [seen],
    );
    const r = await runKernel(p, { command: `${join(tmp, "napper")} 1 50 >/dev/null` });
    expect(r).toEqual({ out: "1\n", err: "", status: 0 });
    if (backend !== "mini") return;
    // the condition was the kernel's filter: nothing else reached user space
    const s = MiniTraceSession.last!;
    expect(s.filters.get("sched:sched_switch")).toBe('prev_comm == "napper"');
    expect(s.delivered.get("sched:sched_switch")).toBeGreaterThan(5);
    expect(s.delivered.get("sched:sched_switch")).toBeLessThan(200);
    const u = await runKernel(p, { command: `${join(tmp, "napper")} 1 50 >/dev/null`, unoptimized: true });
    expect(u).toEqual(r);
    expect(MiniTraceSession.last!.filters.size).toBe(0);
    // the instance is gone afterwards
    expect(readdirSync("/sys/kernel/tracing/instances").filter((n) => n.startsWith(`tstap_test_${process.pid}_`))).toEqual([]);
  });

  it("answers pid()/execname() for children that exited before their events were handled", { timeout: 60_000 }, async () => {
    const names = global("names", "long", ["string"]);
    const p = program(
      [
        probe(
          { kind: "tracepoint", system: "syscalls", event: "sys_enter_getppid" },
          block(
            ifs(
              { kind: "logical", op: "&&", left: bin("==", call("ppid", []), call("target", [])), right: bin("!=", call("pid", []), call("target", [])), pos: P(), type: "long" },
              expr(assign(idx(names, call("execname", [], undefined, "string")), num(1), "+=")),
            ),
          ),
        ),
        probe(end, block(expr(call("printf", [str("%d\n"), idx(names, str("forker"))])))),
      ],
      [names],
    );
    const r = await runKernel(p, { command: `${join(tmp, "forker")} 4` });
    expect(r).toEqual({ out: "4\n", err: "", status: 0 });
  });

  it("gives each event its own time, not the time it was handled", { timeout: 60_000 }, async () => {
    const t = global("t", "long", ["long"]);
    const n = global("n");
    const p = program(
      [
        probe(
          { kind: "tracepoint", system: "syscalls", event: "sys_enter_clock_nanosleep" },
          block(ifs(pidEqTarget(), block(expr(assign(idx(t, id(n)), call("local_clock_ns", []))), expr(assign(id(n), num(1), "+="))))),
        ),
        probe(end, block(expr(call("printf", [str("%d %d\n"), id(n), bin(">=", bin("-", idx(t, num(2)), idx(t, num(1))), num(90_000_000))])))),
      ],
      [t, n],
    );
    const r = await runKernel(p, { command: `${join(tmp, "napper")} 100 3` });
    expect(r).toEqual({ out: "3 1\n", err: "", status: 0 });
  });

  it("counts sched_switch per task of -x PID", { timeout: 60_000 }, async () => {
    const child = spawn(join(tmp, "napper"), ["1"], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const n = global("n", "long", ["long"]);
      const p = program(
        [
          probe({ kind: "tracepoint", system: "sched", event: "sched_switch" }, block(ifs(pidEqTarget(), expr(assign(idx(n, call("tid", [])), num(1), "+="))))),
          probe(end, block(expr(call("printf", [str("%d\n"), bin(">", idx(n, num(child.pid!)), num(50))])))),
        ],
        [n],
      );
      const r = await runKernel(p, { targetPid: child.pid!, timeoutSeconds: 1 });
      expect(r).toEqual({ out: "1\n", err: "", status: 0 });
      if (backend === "mini") expect(MiniTraceSession.last!.pidsSet).toBe(true);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("follows exec of PATH for process(PATH).syscall and .syscall.return", { timeout: 60_000 }, async () => {
    const n = global("n");
    const ok = global("ok");
    const a = global("a");
    const path = join(tmp, "getppid_loop");
    const p = program(
      [
        probe({ kind: "process", what: "syscall", path }, block(ifs(bin("==", field("syscall", "long"), num(110)), expr(assign(id(n), num(1), "+="))))),
        probe(
          { kind: "process", what: "syscall.return", path },
          block(ifs(bin("==", field("syscall", "long"), num(110)), block(ifs(bin("==", field("return", "long"), call("ppid", [])), expr(assign(id(ok), num(1), "+="))))))),
        probe({ kind: "process", what: "begin", path }, block(expr(assign(id(a), num(1), "+=")))),
        probe(end, block(expr(call("printf", [str("%d %d %d\n"), id(n), id(ok), id(a)])))),
      ],
      [n, ok, a],
    );
    const r = await runKernel(p, { command: `${path} 1000` });
    expect(r).toEqual({ out: "1000 1000 1\n", err: "", status: 0 });
  });

  it("gives the same count with a probe condition pushed into the kernel or not", { timeout: 60_000 }, async () => {
    const n = global("n");
    const mk = (): Program => {
      const pr = probe({ kind: "tracepoint", system: "syscalls", event: "sys_enter_getppid" }, block(expr(assign(id(n), num(1), "+="))));
      pr.condition = { kind: "logical", op: "&&", left: bin("==", call("tid", []), call("target", [])), right: bin("==", field("__syscall_nr", "long"), num(110)), pos: P(), type: "long" };
      return program([pr, probe(end, block(expr(call("printf", [str("%d\n"), id(n)]))))], [n]);
    };
    const on = await runKernel(mk(), { command: `${join(tmp, "getppid_loop")} 5000` });
    const off = await runKernel(mk(), { command: `${join(tmp, "getppid_loop")} 5000`, unoptimized: true });
    expect(on).toEqual({ out: "5000\n", err: "", status: 0 });
    expect(off).toEqual(on);
  });

  it("stops what it armed and never starts the -c command when the kernel refuses an event", { timeout: 60_000 }, async () => {
    const p = program([probe({ kind: "tracepoint", system: "sched", event: "sched_switch" }, block(expr(call("exit", []))))]);
    const t = translate(p, { hasTargetCommand: true });
    const l = await load(t.plan!, {});
    const marker = join(mkdtempSync(join(tmpdir(), "tstap-k-")), "ran");
    const file = join(mkdtempSync(join(tmpdir(), "tstap-k-")), "out");
    let err = "";
    const before = readdirSync("/sys/kernel/tracing/instances").sort();
    // the back end's own session, with a kernel that refuses the first event
    const { openKernelTraceSession } = await import("../runtime/events/index.js");
    const { TraceFsError } = await import("../runtime/tracefs/tracefs.js");
    const source = new KernelEventSource(
      KernelEventSource.plansOf(l.unit!.events),
      async () => {
        const s = await openKernelTraceSession();
        s.addEvent = async () => {
          throw new TraceFsError("writing '1' to events/sched/sched_switch/enable failed: ENOMEM", "ENOMEM");
        };
        return s;
      },
      { targetPid: () => kernelRun.target, warn: (m) => (err += `WARNING: ${m}\n`) },
    );
    const status = await run(l.unit!, { outputFile: file, messages: (m) => (err += m), sources: [source], targetCommand: `touch ${marker}` });
    expect(status).toBe(1);
    expect(err).toMatch(/^ERROR: writing '1' to events\/sched\/sched_switch\/enable failed: ENOMEM\nWARNING: Number of errors: 1/);
    expect(readdirSync(join(marker, "..")), "the -c command ran").toEqual([]);
    expect(readdirSync("/sys/kernel/tracing/instances").sort()).toEqual(before);
  });
});
