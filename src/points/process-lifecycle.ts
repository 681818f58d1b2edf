// process.begin / .end / .thread.begin / .thread.end, for every process,
// process("PATH") or process(PID), over the task and sched tracepoints:
//   process.begin         task_newtask without CLONE_THREAD, in the child's context
//   process.thread.begin  task_newtask with CLONE_THREAD, in the new thread's context
//   process.end           sched_process_exit with group_dead (the last thread)
//   process.thread.end    sched_process_exit of a thread that is not the leader
//   process("PATH").*     the same, for processes whose executable is PATH
//                         (exec of PATH also begins one; exec away ends it)
// With -c/-x they are restricted to the target's process tree, and a
// process(PID) probe to that process, in the kernel (set_event_pid with
// event-fork), as process.syscall and uprobes are.
// Existing processes (and threads) get their begin at startup, as stap's.
// The runtime's dispatcher (runtime/kernel-dispatch.ts, `how: "process"`)
// picks the task each event is about. No target variables.

import { TASK_EVENTS } from "../translate/task-events.js";
import { family, type Lowering, type ResolvedPoint } from "./family.js";
import { canonicalPath, resolveProcessPoint, type ProcessPoint } from "./process-target.js";

const WHATS = ["begin", "end", "thread.begin", "thread.end"] as const;

type LifecyclePoint = ProcessPoint & { what: (typeof WHATS)[number] };

export const processLifecycle = family<LifecyclePoint>({
  name: "process lifecycle",
  heads: ["process"],
  shapes: WHATS.flatMap((w) => [`process.${w}`, `process(number).${w}`, `process(string).${w}`]),
  resolve: (components) => resolveProcessPoint(components, WHATS),
  owns: (p: ResolvedPoint): p is LifecyclePoint => p.kind === "process" && (WHATS as readonly string[]).includes(p.what),
  variables: () => [],
  bundles: () => [],
  lower(p, lp, planner): Lowering | undefined {
    const path = p.path === undefined ? undefined : canonicalPath(p.path);
    const dispatch = { how: "process" as const, what: p.what, probe: lp.id, path, pid: p.pid, pn: lp.pn };
    const events: { system: string; event: string }[] = p.what === "begin" || p.what === "thread.begin" ? [TASK_EVENTS.newtask] : [TASK_EVENTS.exit];
    // exec into PATH begins a PATH process; exec away from it ends one
    if (path !== undefined && (p.what === "begin" || p.what === "end")) events.push(TASK_EVENTS.exec);
    // -c/-x: only the target's process tree; process(PID): that process;
    // selected in the kernel (set_event_pid + event-fork), in an instance of
    // its own when the task table must also see every task (translate/events.ts)
    const scope = planner.processScope(undefined, p.pid);
    let first: number | undefined;
    for (const t of events) {
      const def = planner.tracepoint(t.system, t.event);
      if (!def) {
        planner.fail(`${p.what} probes need the tracepoint ${t.system}:${t.event}, which this kernel does not have`, lp.probe.pos);
        return undefined;
      }
      const i = planner.listen(def, dispatch, scope);
      first ??= i;
    }
    return { trigger: { kind: "event", event: first! } };
  },
});
