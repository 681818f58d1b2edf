// process("PATH").syscall / .syscall.return (and process(PID).*, bare
// process.*): raw_syscalls sys_enter / sys_exit of the tasks running PATH.
// $syscall and $arg1..$arg6 on entry, $syscall and $return on return.

import { TASK_EVENTS } from "../translate/task-events.js";
import { family, type Lowering, type ResolvedPoint, type TargetVariable } from "./family.js";
import { canonicalPath, resolveProcessPoint, type ProcessPoint } from "./process-target.js";

const WHATS = ["syscall", "syscall.return"] as const;

type SyscallPoint = ProcessPoint & { what: (typeof WHATS)[number] };

const long = (name: string, read: TargetVariable["read"]): TargetVariable => ({ name, type: "long", display: "long", read });

const ENTRY: readonly TargetVariable[] = [
  long("syscall", { kind: "field", field: "id", shape: "int", pretty: "i" }),
  ...[1, 2, 3, 4, 5, 6].map((n) => long(`arg${n}`, { kind: "element", field: "args", index: n - 1, pretty: "i" })),
];
const RETURN: readonly TargetVariable[] = [long("syscall", { kind: "field", field: "id", shape: "int", pretty: "i" }), long("return", { kind: "field", field: "ret", shape: "int", pretty: "i" })];

export const processSyscall = family<SyscallPoint>({
  name: "process syscall",
  heads: ["process"],
  shapes: WHATS.flatMap((w) => [`process.${w}`, `process(number).${w}`, `process(string).${w}`]),
  resolve: (components) => resolveProcessPoint(components, WHATS),
  owns: (p: ResolvedPoint): p is SyscallPoint => p.kind === "process" && (WHATS as readonly string[]).includes(p.what),
  variables: (p) => (p.what === "syscall" ? ENTRY : RETURN),
  bundles: () => [],
  lower(p, lp, planner): Lowering | undefined {
    const t = p.what === "syscall" ? TASK_EVENTS.sysEnter : TASK_EVENTS.sysExit;
    const def = planner.tracepoint(t.system, t.event);
    if (!def) {
      planner.fail(`${p.what} probes need the tracepoint ${t.system}:${t.event}, which this kernel does not have`, lp.probe.pos);
      return undefined;
    }
    const path = p.path === undefined ? undefined : canonicalPath(p.path);
    // -c/-x: only the target's process tree; process(PID): that process; selected in the kernel (set_event_pid + event-fork)
    const event = planner.listen(def, { how: "process", what: p.what, probe: lp.id, path, pid: p.pid, pn: lp.pn }, planner.processScope(undefined, p.pid));
    return { trigger: { kind: "event", event } };
  },
});
