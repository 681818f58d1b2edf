// Pass 3 for kernel probes (src/points families, src/translate/events.ts) on hand-built
// programs: the events, filters and -p3 text of the plan, and the generated
// handlers run against fake decoded events.

import { beforeAll, describe, expect, it } from "vitest";
import { requireKernelTracing } from "./support/kernel-gate.js";
import { formatPlan, translate } from "../src/translate/index.js";
import { load } from "../src/load/index.js";
import { isTracepointEventDef as isKernelEventDef } from "../src/translate/events.js";
import type { Expr, Stmt } from "../src/parse/ast.js";
import { assign, bin, block, call, expr, global, id, num, P, probe, program, str } from "./run-ast.js";
import { buildRuntimeApi, current } from "../runtime/context.js";
import type { KernelEvent } from "../runtime/kernel-dispatch.js";

const field = (name: string, type: "long" | "string"): Expr => ({ kind: "target", name, steps: [], pretty: "", addressOf: false, pos: P(), type });
const ifs = (cond: Expr, then: Stmt): Stmt => ({ kind: "if", cond, then, pos: P() });
const next: Stmt = { kind: "next", pos: P() };
const switchPoint = { kind: "tracepoint" as const, system: "sched", event: "sched_switch" };

describe("kernel.trace lowering", () => {
  beforeAll(requireKernelTracing);
  it("pushes a leading if-next as the event filter and reads fields by name", async () => {
    const g = global("last", "string");
    const p = program([
      probe(
        switchPoint,
        block(ifs(bin("==", field("prev_pid", "long"), num(1)), next), expr(assign(id(g), field("prev_comm", "string"))), expr(call("println", [id(g)]))),
        [],
        'kernel.trace("sched:sched_switch")',
      ),
    ], [g]);
    const t = translate(p, {});
    expect(t.diagnostics).toEqual([]);
    const ev = t.plan!.events[0]!;
    expect(isKernelEventDef(ev)).toBe(true);
    expect(ev).toMatchObject({ definition: "sched:sched_switch", filter: "!(prev_pid == 1)", targetProcess: false, tracksTasks: false });
    expect(formatPlan(t.plan!)).toContain("sched:sched_switch    # tracepoint -> probes 0\n#   fires: probe 0\n#   filter: !(prev_pid == 1)\n");
    expect(t.plan!.probes[0]!.trigger).toEqual({ kind: "event", event: 0 });

    // -u: no filter, same handler
    const u = translate(p, { unoptimized: true });
    expect((u.plan!.events[0] as { filter?: string }).filter).toBeUndefined();

    // the handler reads the decoded event
    const l = await load(t.plan!, {});
    expect(l.diagnostics).toEqual([]);
    let out = "";
    const api = buildRuntimeApi(l.unit!.limits, { out: (s) => (out += s), exit: () => {}, abort: () => {}, warn: () => {} });
    const h = l.unit!.instantiate(api);
    const fake = (pid: number, comm: string): KernelEvent => ({
      kind: "kernel-event",
      tid: 5,
      cpu: 0,
      tsNs: 1n,
      ev: { tid: 5, cpu: 0, tsNs: 1n, get: (n) => (n === "prev_pid" ? pid : n === "prev_comm" ? comm : undefined), names: () => ["prev_pid", "prev_comm"] },
    });
    current.event = fake(7, "bash");
    h.handlers[0]!();
    current.event = fake(1, "init");
    h.handlers[0]!();
    current.event = undefined;
    // the JS check stays: the prev_pid == 1 event is skipped even without the filter
    expect(out).toBe("bash\n");
    expect(formatPlan(t.plan!)).toContain('$R.native("__kernel_field", 1)');
  });

  it("selects the target process for pid() == target() and follows new tasks for pid()", () => {
    const n = global("n");
    const cond = bin("==", call("pid", []), call("target", []));
    const p = program([probe(switchPoint, block(ifs(cond, expr(assign(id(n), num(1), "+=")))))], [n]);
    const t = translate(p, { hasTargetCommand: true });
    expect(t.diagnostics).toEqual([]);
    const events = t.plan!.events.map((e) => (e as { definition: string; targetProcess: boolean; tracksTasks: boolean }));
    // pid() alone: a thread's process is its creator's, and a reused tid comes back through a fork (task-events.ts)
    expect(events.map((e) => e.definition)).toEqual(["sched:sched_switch", "task:task_newtask"]);
    expect(events.every((e) => e.targetProcess)).toBe(true);
    expect(events.slice(1).every((e) => e.tracksTasks)).toBe(true);
    expect(formatPlan(t.plan!)).toContain("#   set_event_pid: target process (options/event-fork)");
    // without -c/-x nothing is pushed
    const plain = translate(p, {});
    expect(plain.plan!.events.every((e) => !(e as { targetProcess: boolean }).targetProcess)).toBe(true);
  });

  it("reports unknown fields with the alternatives", () => {
    const p = program([probe(switchPoint, block(expr(call("println", [field("nope", "long")]))))]);
    const t = translate(p, {});
    expect(t.diagnostics[0]?.message).toMatch(/^unable to find tracepoint variable '\$nope' \(alternatives: \$prev_comm \$prev_pid /);
  });

  it("lowers process probes onto the task and syscall tracepoints", () => {
    const p = program([
      probe({ kind: "process", what: "begin" }, block(expr(call("println", [str("b")])))),
      probe({ kind: "process", what: "syscall", path: "/bin/true" }, block(expr(call("println", [field("syscall", "long"), field("arg1", "long")])))),
      probe({ kind: "process", what: "syscall.return", path: "/bin/true" }, block(expr(call("println", [field("return", "long")])))),
    ]);
    const t = translate(p, {});
    expect(t.diagnostics).toEqual([]);
    const text = formatPlan(t.plan!);
    expect(text).toContain("task:task_newtask    # tracepoint -> probes 0\n#   fires: process.begin -> probe 0\n#   task table: follows this event\n");
    expect(text).toMatch(/raw_syscalls:sys_enter    # tracepoint -> probes 1\n#   fires: process\("(\/usr)?\/bin\/true"\).syscall -> probe 1\n/);
    expect(text).toContain('$R.native("__kernel_element", 2)');
  });
});
