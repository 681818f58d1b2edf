// Pass 2's kernel probe families (src/points: kernel.trace, process.*)
// against this kernel's tracepoints.

import { beforeAll, describe, expect, it } from "vitest";
import { requireKernelTracing } from "./support/kernel-gate.js";
import type { Pos, ProbeComponent } from "../src/parse/ast.js";
import { listVariables as kernelPointVars, traceSuggestions, variableType as kernelVarType } from "../src/points/index.js";
import { tracepoints } from "../src/points/kernel-trace.js";
import { processLifecycle } from "../src/points/process-lifecycle.js";
import { processSyscall } from "../src/points/process-syscall.js";

/** What the kernel families (and only they) make of a written point. */
const resolveKernelPoint = (cs: ProbeComponent[], at: Pos) => tracepoints.resolve!(cs, at) ?? processLifecycle.resolve!(cs, at) ?? processSyscall.resolve!(cs, at);

const pos: Pos = { file: "t.stp", line: 1, col: 7, offset: 6 };
const c = (name: string, arg?: string | number): ProbeComponent => ({
  name,
  pos,
  arg: arg === undefined ? undefined : typeof arg === "string" ? { kind: "string", value: arg, pos } : { kind: "number", value: BigInt(arg), text: String(arg), pos },
});

describe("kernel points", () => {
  beforeAll(requireKernelTracing);
  it("expands kernel.trace wildcards into pp()s", () => {
    const r = resolveKernelPoint([c("kernel"), c("trace", "sched:sched_process_e*")], pos);
    expect(r && "matches" in r ? r.matches.map((m) => m.pp) : r).toEqual([
      'kernel.trace("sched:sched_process_exec")',
      'kernel.trace("sched:sched_process_exit")',
    ]);
    const none = resolveKernelPoint([c("kernel"), c("trace", "nosuch:event")], pos);
    expect(none && "matches" in none ? none.matches : none).toEqual([]);
    expect(none && "whyNone" in none ? none.whyNone?.message : undefined).toMatch(/^no match for probe point kernel\.trace\("nosuch:event"\)/);
    expect(traceSuggestions("sched_swich")).toContain("sched:sched_switch");
  });
  it("resolves the process family", () => {
    const r = resolveKernelPoint([c("process", "sh"), c("syscall"), c("return")], pos);
    expect(r && "matches" in r ? r.matches[0]!.point : r).toMatchObject({ kind: "process", what: "syscall.return" });
    expect(r && "matches" in r ? r.matches[0]!.pp : "").toMatch(/^process\("\/.*"\)\.syscall\.return$/);
    const t = resolveKernelPoint([c("process"), c("thread"), c("begin")], pos);
    expect(t).toEqual({ matches: [{ point: { kind: "process", what: "thread.begin" }, pp: "process.thread.begin" }] });
    const p = resolveKernelPoint([c("process", 42), c("end")], pos);
    expect(p).toEqual({ matches: [{ point: { kind: "process", what: "end", pid: 42 }, pp: "process(42).end" }] });
    expect(resolveKernelPoint([c("process", "sh"), c("function", "main")], pos)).toBeUndefined();
    expect(resolveKernelPoint([c("timer"), c("ms", 5)], pos)).toBeUndefined();
  });
  it("types and lists the variables", () => {
    const sw = { kind: "tracepoint" as const, system: "sched", event: "sched_switch" };
    expect(kernelVarType(sw, "prev_comm")).toBe("string");
    expect(kernelVarType(sw, "prev_pid")).toBe("long");
    expect(kernelVarType(sw, "nope")).toBeUndefined();
    expect(kernelPointVars(sw)).toMatch(/^ \$prev_comm:char\[16\] \$prev_pid:pid_t \$prev_prio:int \$prev_state:long \$next_comm:char\[16\]/);
    expect(kernelVarType({ kind: "process", what: "syscall" }, "arg6")).toBe("long");
    expect(kernelVarType({ kind: "process", what: "syscall" }, "return")).toBeUndefined();
  });
});
