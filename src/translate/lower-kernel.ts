// Pass 3 for the kernel probe kinds: `kernel.trace(...)` and `process.*`
// become tracefs tracepoint events (KernelEventDef), their target variables
// become reads of the decoded event, and pushable conditions become filters.
//
// Hooked into the language core at four places (see the report of the
// kernel-probes work): module.ts's triggerOf (notes every probe, returns
// the trigger of kernel ones), expr.ts (target variables, @defined),
// index.ts (collects the events), formatPlan (prints filters for -p3).
//
// Semantics of the process probes, over the sched/task tracepoints:
//   process.begin         task_newtask without CLONE_THREAD, in the child's context
//   process.thread.begin  task_newtask with CLONE_THREAD, in the new thread's context
//   process.end           sched_process_exit with group_dead (the last thread)
//   process.thread.end    sched_process_exit of a thread that is not the leader
//   process("PATH").*     the same, for processes whose executable is PATH
//                         (exec of PATH also begins one; exec away ends it)
//   process(PID).*        the same, for process PID
//   process("PATH").syscall / .syscall.return
//                         raw_syscalls sys_enter / sys_exit of tasks running
//                         PATH: $syscall, $arg1..$arg6 / $syscall, $return
// Existing processes (and threads) get their begin at startup, as stap's.

import { realpathSync } from "node:fs";
import type { DefinedExpr, Expr, TargetVar, TargetVars } from "../parse/ast.js";
import type { Program, ResolvedProbe } from "../elaborate/program.js";
import { walkProgram } from "../elaborate/walk.js";
import type { KernelDispatch, KernelEventPlan, ProcessWhat } from "../../runtime/kernel-dispatch.js";
import type { EventDef, ProbeKind, ProbeMeta } from "./plan.js";
import { type Gen, stringLiteral } from "./gen-context.js";
import { readTracepointFormat, type TracepointField, type TracepointFormat } from "../targets/tracepoints.js";
import { combineFilters, type FilterField, type PushedFilter, pushdownProbe } from "./filter-pushdown.js";

export type { KernelDispatch, ProcessWhat } from "../../runtime/kernel-dispatch.js";

/**
 * A tracepoint the run enables, with everyone who listens to it: the
 * runtime's KernelEventPlan (dispatch, task-table following, pushed-down
 * filter with TARGET_TOKEN for target()'s pid, set_event_pid selection)
 * plus the plan's `definition` ("SYSTEM:EVENT").
 */
export interface KernelEventDef extends EventDef, KernelEventPlan {
  kind: "tracepoint";
  definition: string;
}

export function isKernelEventDef(e: EventDef): e is KernelEventDef {
  return e.kind === "tracepoint" && Array.isArray((e as KernelEventDef).dispatch);
}

/** The events every process probe and the task table use. */
export const TASK_EVENTS = {
  newtask: { system: "task", event: "task_newtask" },
  exec: { system: "sched", event: "sched_process_exec" },
  exit: { system: "sched", event: "sched_process_exit" },
  rename: { system: "task", event: "task_rename" },
  sysEnter: { system: "raw_syscalls", event: "sys_enter" },
  sysExit: { system: "raw_syscalls", event: "sys_exit" },
} as const;

/** Context functions that need the task table (the others are in every record). */
const TASK_CONTEXT = new Set(["pid", "ppid", "execname", "pexecname", "uid", "gid", "euid", "egid"]);

/** Context functions answered from credentials, which the set*id system calls change. */
const CRED_CONTEXT = new Set(["uid", "gid", "euid", "egid"]);

/** The system calls that change a task's uid/gid: the task table follows their entry (arguments) and exit (success). */
export const CRED_SYSCALLS = ["setuid", "setreuid", "setresuid", "setgid", "setregid", "setresgid"] as const;

interface KernelProbe {
  probe: ResolvedProbe;
  trigger: ProbeKind & { kind: "event" };
  /** for kernel.trace */
  format?: TracepointFormat;
  process?: { what: ProcessWhat; path?: string; pid?: number };
}

/** Per-Gen state of the kernel lowering. */
class KernelLowering {
  current: KernelProbe | undefined;
  readonly probes: KernelProbe[] = [];
}

const states = new WeakMap<Gen, KernelLowering>();

function state(g: Gen): KernelLowering {
  let s = states.get(g);
  if (!s) {
    s = new KernelLowering();
    states.set(g, s);
  }
  return s;
}

/** A probe point this file lowers (a plain boolean: callers keep their own narrowing). */
export function isKernelPoint(p: ResolvedProbe): boolean {
  return p.point.kind === "tracepoint" || p.point.kind === "process";
}

/**
 * Called for every probe before its handler is emitted (module.ts's
 * triggerOf): the trigger of a kernel probe, or undefined for other kinds.
 */
export function kernelTrigger(g: Gen, p: ResolvedProbe): ProbeKind | undefined {
  const s = state(g);
  s.current = undefined;
  const pt = p.point;
  if (pt.kind === "tracepoint") {
    const format = readTracepointFormat(pt.system, pt.event);
    if (!format) {
      g.fail(`tracepoint '${pt.system}:${pt.event}' does not exist on this kernel`, p.pos);
      return undefined;
    }
    const kp: KernelProbe = { probe: p, trigger: { kind: "event", event: -1 }, format };
    s.probes.push(kp);
    s.current = kp;
    return kp.trigger;
  }
  if (pt.kind === "process") {
    const kp: KernelProbe = {
      probe: p,
      trigger: { kind: "event", event: -1 },
      process: { what: pt.what, path: pt.path === undefined ? undefined : canonicalPath(pt.path), pid: pt.pid },
    };
    s.probes.push(kp);
    s.current = kp;
    return kp.trigger;
  }
  return undefined;
}

/** process("PATH") matches the executable the kernel runs: symlinks resolved, as stap does. */
function canonicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

// ---------------------------------------------------------------- target variables

type FieldRef = { kind: "field"; field: TracepointField } | { kind: "element"; field: string; index: number; };

/** What `$name` is in the current probe, or a reason it is not. */
function resolveVar(kp: KernelProbe, name: string): FieldRef | undefined {
  if (kp.format) {
    const f = kp.format.fields.find((x) => x.name === name);
    return f ? { kind: "field", field: f } : undefined;
  }
  const what = kp.process?.what;
  if (what === "syscall" || what === "syscall.return") {
    if (name === "syscall") return { kind: "field", field: intField("id") };
    if (what === "syscall") {
      const m = /^arg([1-6])$/.exec(name);
      if (m) return { kind: "element", field: "args", index: Number(m[1]) - 1 };
    }
    if (what === "syscall.return" && name === "return") return { kind: "field", field: intField("ret") };
  }
  return undefined;
}

function intField(name: string): TracepointField {
  return { name, cType: "long", offset: 0, size: 8, signed: true, shape: "int" };
}

/** The names a probe's `$` variables may take, for "did you mean" notes. */
function varNames(kp: KernelProbe): string[] {
  if (kp.format) return kp.format.fields.map((f) => `$${f.name}`);
  if (kp.process?.what === "syscall") return ["$syscall", "$arg1", "$arg2", "$arg3", "$arg4", "$arg5", "$arg6"];
  if (kp.process?.what === "syscall.return") return ["$syscall", "$return"];
  return [];
}

function native(g: Gen, name: string, arity: number): string {
  return g.constant("$nat_", `$R.native(${stringLiteral(name)}, ${arity})`);
}

/**
 * JS for a target variable, `$$vars`/`$$parms` or `@defined(...)` in a kernel
 * probe; undefined when the current probe is not a kernel one (the core
 * then reports its own error).
 */
export function emitKernelTargetExpr(g: Gen, e: TargetVar | TargetVars | DefinedExpr, emitIndex: (e: Expr) => string): string | undefined {
  const kp = state(g).current;
  if (!kp || g.fn !== undefined) return undefined;
  if (e.kind === "defined") {
    const inner = e.operand.kind === "group" ? e.operand.inner : e.operand;
    if (inner.kind === "target") return resolveVar(kp, inner.name) && inner.steps.length === 0 ? "1" : "0";
    if (inner.kind === "target-vars") return kp.format ? "1" : "0";
    return undefined;
  }
  if (e.kind === "target-vars") {
    if (!kp.format || (e.which !== "vars" && e.which !== "parms")) {
      return g.fail(`$$${e.which} is not available in probe '${kp.probe.pp}'`, e.pos);
    }
    if (e.pretty === "") return `${native(g, "__kernel_vars", 0)}()`;
    const spec = kp.format.fields.map((f) => `${f.name}:${prettyKind(f)}`).join(" ");
    return `${native(g, "__kernel_vars_pretty", 1)}(${stringLiteral(spec)})`;
  }
  if (e.addressOf) return g.fail(`cannot take the address of $${e.name}: tracepoint fields are copies, not memory`, e.pos);
  const r = resolveVar(kp, e.name);
  if (!r) {
    const names = varNames(kp);
    g.diags.push({
      severity: "error",
      kind: "translate error",
      message: `unable to find tracepoint variable '$${e.name}' (alternatives: ${names.join(" ") || "none"})`,
      pos: e.pos,
    });
    return "undefined";
  }
  if (r.kind === "element") {
    if (e.steps.length > 0) return g.fail(`$${e.name} is a long: it has no members`, e.pos);
    const read = `${native(g, "__kernel_element", 2)}(${stringLiteral(r.field)}, ${r.index})`;
    return e.pretty === "" ? read : `${native(g, "__kernel_pretty_long", 2)}(${read}, "i")`;
  }
  const f = r.field;
  if (e.pretty !== "") {
    if (e.steps.length > 0) return g.fail(`$${e.name} (${f.cType}) has no members: tracepoint fields are values`, e.steps[0]!.pos);
    return `${native(g, "__kernel_pretty", 2)}(${stringLiteral(f.name)}, ${stringLiteral(prettyKind(f))})`;
  }
  if (f.shape === "int-array") {
    const step = e.steps[0];
    if (!step || step.kind !== "index" || e.steps.length !== 1) {
      return g.fail(`$${e.name} is an array (${f.cType}): index it, as in $${e.name}[0]`, e.pos);
    }
    return `${native(g, "__kernel_element", 2)}(${stringLiteral(f.name)}, Number(${emitIndex(step.index)}))`;
  }
  if (e.steps.length > 0) return g.fail(`$${e.name} (${f.cType}) has no members: tracepoint fields are values`, e.steps[0]!.pos);
  return `${native(g, "__kernel_field", 1)}(${stringLiteral(f.name)})`;
}

/**
 * How `$field$` prints a field, as stap's pretty-printer prints a value of
 * its C type: "i" signed decimal (%i), "u" unsigned decimal (%u), "s" a
 * quoted string, "a" an array (its first element, then `, ...`).
 */
function prettyKind(f: TracepointField): string {
  if (f.shape === "string" || f.shape === "bytes") return "s";
  if (f.shape === "int-array") return "a";
  return (f.narrow?.signed ?? f.signed) ? "i" : "u";
}

// ---------------------------------------------------------------- events

export interface KernelLoweringOptions {
  unoptimized: boolean;
  hasTarget: boolean;
  maxStringLen: number;
}

/** After generation: the events of the plan, and each kernel trigger's event index. */
export function kernelEvents(g: Gen, program: Program, metas: readonly ProbeMeta[], opts: KernelLoweringOptions): KernelEventDef[] {
  const s = state(g);
  if (s.probes.length === 0) return [];
  const idOf = new Map<object, number>();
  for (const m of metas) idOf.set(m.trigger, m.id);
  const events: KernelEventDef[] = [];
  const filters = new Map<KernelEventDef, (PushedFilter | undefined)[]>();
  const get = (system: string, event: string): KernelEventDef => {
    let d = events.find((x) => x.system === system && x.event === event);
    if (!d) {
      d = { kind: "tracepoint", definition: `${system}:${event}`, system, event, probes: [], dispatch: [], tracksTasks: false, targetProcess: false };
      events.push(d);
      filters.set(d, []);
    }
    return d;
  };
  const listen = (d: KernelEventDef, disp: KernelDispatch, f: PushedFilter | undefined, kp: KernelProbe): void => {
    d.dispatch.push(disp);
    if (!d.probes.includes(disp.probe)) d.probes.push(disp.probe);
    filters.get(d)!.push(f);
    if (kp.trigger.event < 0) kp.trigger.event = events.indexOf(d);
  };

  for (const kp of s.probes) {
    const id = idOf.get(kp.trigger);
    if (id === undefined) continue;
    if (kp.format) {
      const f = opts.unoptimized ? undefined : pushdownProbe(kp.probe, { fields: filterFields(kp.format), maxStringLen: opts.maxStringLen, hasTarget: opts.hasTarget });
      listen(get(kp.format.system, kp.format.event), { how: "direct", probe: id, pn: writtenPoint(kp.probe) }, f, kp);
      continue;
    }
    const pr = kp.process!;
    const disp: KernelDispatch = { how: "process", what: pr.what, probe: id, path: pr.path, pid: pr.pid, pn: writtenPoint(kp.probe) };
    const ev = (t: { system: string; event: string }): KernelEventDef => get(t.system, t.event);
    switch (pr.what) {
      case "begin":
      case "thread.begin":
        listen(ev(TASK_EVENTS.newtask), disp, undefined, kp);
        if (pr.path !== undefined && pr.what === "begin") listen(ev(TASK_EVENTS.exec), disp, undefined, kp);
        break;
      case "end":
      case "thread.end":
        listen(ev(TASK_EVENTS.exit), disp, undefined, kp);
        if (pr.path !== undefined && pr.what === "end") listen(ev(TASK_EVENTS.exec), disp, undefined, kp);
        break;
      case "syscall":
        listen(ev(TASK_EVENTS.sysEnter), disp, undefined, kp);
        break;
      case "syscall.return":
        listen(ev(TASK_EVENTS.sysExit), disp, undefined, kp);
        break;
    }
  }

  // The task table: whenever a handler asks who a task is, or a process probe
  // must know which tasks run PATH, follow fork/exec/exit/rename.
  const needsTasks = s.probes.some((kp) => kp.process !== undefined) || usesTaskContext(program);
  if (needsTasks) {
    for (const t of [TASK_EVENTS.newtask, TASK_EVENTS.exec, TASK_EVENTS.exit, TASK_EVENTS.rename]) {
      if (!readTracepointFormat(t.system, t.event)) continue;
      get(t.system, t.event).tracksTasks = true;
    }
  }
  // uid()/gid()... answer for the event's moment: follow the calls that change them
  if (usesContext(program, CRED_CONTEXT)) {
    for (const call of CRED_SYSCALLS) {
      for (const event of [`sys_enter_${call}`, `sys_exit_${call}`]) {
        if (readTracepointFormat("syscalls", event)) get("syscalls", event).tracksTasks = true;
      }
    }
  }

  // set_event_pid is per instance: usable only when every probe's events
  // want the target process alone. The task table then only needs those
  // tasks too (event-fork follows their children).
  const userFilters = events.map((d) => combineFilters(filters.get(d)!));
  const targetOnly = userFilters.every((f, i) => filters.get(events[i]!)!.length === 0 || f?.targetProcess === true);
  events.forEach((d, i) => {
    const own = filters.get(d)!;
    // The task table needs every event of a task-tracking tracepoint.
    const f = d.tracksTasks ? undefined : userFilters[i];
    d.filter = own.length > 0 ? f?.filter : undefined;
    d.targetProcess = targetOnly;
  });
  return events;
}

/** pn(): the point as the script wrote it, e.g. `kernel.trace("*getppid*")`. */
function writtenPoint(p: ResolvedProbe): string {
  return p.written.components
    .map((c) => {
      if (!c.arg) return c.name;
      const a = c.arg.kind === "string" ? JSON.stringify(c.arg.value) : c.arg.text;
      return `${c.name}(${a})`;
    })
    .join(".");
}

function filterFields(fmt: TracepointFormat): Map<string, FilterField> {
  const m = new Map<string, FilterField>();
  for (const f of fmt.fields) {
    // a narrowed field's upper bytes are whatever the register held: the kernel compares all of them
    if (f.shape === "int" && !f.narrow) m.set(f.name, { name: f.name, kind: "int", size: f.size, signed: f.signed });
    else if (f.shape === "string") m.set(f.name, { name: f.name, kind: "string", size: f.size, signed: false, arrayLen: f.arrayLen });
  }
  return m;
}

/** Does any kept probe or function call a context function that needs the task table? */
function usesTaskContext(program: Program): boolean {
  return usesContext(program, TASK_CONTEXT);
}

function usesContext(program: Program, names: ReadonlySet<string>): boolean {
  let found = false;
  walkProgram(program, (n) => {
    if (n.kind === "call" && names.has(n.name)) found = true;
  });
  return found;
}

/** -p3 lines under an event: its filter and pid selection. */
export function describeKernelEvent(e: EventDef): string[] {
  if (!isKernelEventDef(e)) return [];
  const out: string[] = [];
  const who = e.dispatch.map((d) =>
    d.how === "direct" ? `probe ${d.probe}` : `process${d.path ? `("${d.path}")` : d.pid ? `(${d.pid})` : ""}.${d.what} -> probe ${d.probe}`,
  );
  if (who.length) out.push(`#   fires: ${who.join(", ")}`);
  if (e.tracksTasks) out.push("#   task table: follows this event");
  if (e.filter !== undefined) out.push(`#   filter: ${e.filter}`);
  if (e.targetProcess) out.push("#   set_event_pid: target process (options/event-fork)");
  return out;
}
