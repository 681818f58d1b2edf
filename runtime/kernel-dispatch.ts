// From one decoded kernel event to the handlers it fires: the task table is
// brought up to the event, then each listener of the event runs with the
// event's context (process probes in the context SystemTap gives them: the
// new task for .begin, the exiting one for .end).
//
// The event plans are runtime/event-def.ts's EventDefs (pass 3 makes them,
// pass 4 checks them); this file only reads what KernelEventPlan says.

import { credentialCall, isCredentialCall, inheritIds, refreshIds, kernelRun } from "./context-kernel.js";
import type { DecodedEvent, KernelEventContext } from "./probe-context.js";
import type { KernelDispatch, KernelEventPlan } from "./event-def.js";
import { readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { CLONE_THREAD, processTree, type RunningProcess } from "./tasks.js";
import { addressSpaces } from "./user-stacks.js";

export type { DecodedEvent, FieldValue } from "./probe-context.js";
export type { KernelDispatch, KernelEventPlan, ProcessWhat } from "./event-def.js";
export { instantiateFilter, TARGET_TOKEN } from "./event-def.js";
export { formatVars } from "./context-kernel.js";

/** The context handlers of a kernel event see (current.event). */
export type KernelEvent = KernelEventContext & { ev: DecodedEvent };

/**
 * What runs for each event of one type. `offHotPath`: the event has work
 * of its own before its probes (the task table's forks, execs, exits...),
 * and comes rarely: the decode loop leaves it to a call site of its own
 * (runtime/events/decode-loop.ts), off the frequent events' type feedback.
 */
export type EventListener = (() => void) & { readonly offHotPath?: boolean };

/** A listener for rare events (EventListener's offHotPath). */
export function offHotPath(f: () => void): EventListener {
  return Object.assign(f, { offHotPath: true });
}

/** What a dispatcher fires with: the run loop's SourceContext.fire. */
export type Fire = (probeId: number, event: KernelEvent) => void;

/**
 * The executable an exec event started, as process("PATH") names it (pass 2
 * resolves PATH's symlinks): the exec'd name with its symlinks resolved. A
 * relative name (`./prog`) is what /proc says the task runs while it lives;
 * once it is gone, the name relative to its parent's working directory (a
 * shell's, usually the one it ran the name in), then to tstap's own. All is
 * read when the event is handled, so a file renamed in between, or a
 * process that changed directory before exec, can be missed.
 */
function realpathOr(filename: string, tid: number, ppid: number): string {
  if (filename.startsWith("/")) return realOr(filename, filename);
  for (const resolve of [() => readlinkSync(`/proc/${tid}/exe`), () => realpathSync(join(readlinkSync(`/proc/${ppid}/cwd`), filename)), () => realpathSync(filename)]) {
    try {
      return resolve();
    } catch {
      // gone, or not there: the next guess
    }
  }
  return filename;
}

function realOr(path: string, fallback: string): string {
  try {
    return realpathSync(path);
  } catch {
    return fallback;
  }
}

/** What an event does to the task table before its probes run. */
const enum EventRole {
  Plain,
  NewTask,
  Exec,
  Exit,
  Rename,
  Credentials,
}

function roleOf(plan: KernelEventPlan): EventRole {
  switch (`${plan.system}:${plan.event}`) {
    case "task:task_newtask":
      return EventRole.NewTask;
    case "sched:sched_process_exec":
      return EventRole.Exec;
    case "sched:sched_process_exit":
      return EventRole.Exit;
    case "task:task_rename":
      return EventRole.Rename;
  }
  return plan.tracksTasks && plan.system === "syscalls" && isCredentialCall(plan.event) ? EventRole.Credentials : EventRole.Plain;
}

/** The context of the kernel event being handled; its time is read from the event only when asked. */
class EventContext implements KernelEvent {
  readonly kind = "kernel-event" as const;
  tid = 0;
  ev: DecodedEvent = NO_EVENT;
  get cpu(): number {
    return this.ev.cpu;
  }
  get tsNs(): bigint {
    return this.ev.tsNs;
  }
}

const NO_EVENT: DecodedEvent = { tid: 0, cpu: 0, tsNs: 0n, get: () => undefined, names: () => [] };

export class KernelDispatcher {
  /** tgid → the path it runs, for process("PATH") probes */
  private readonly exeOf = new Map<number, string>();
  private readonly wantsPaths: boolean;
  /** what each plan's event means to the task table, decided once */
  private readonly roles: EventRole[];
  private readonly ctx = new EventContext();
  /**
   * sched_process_exec recorded in several instances (a scope's lifecycle
   * probes beside the task table's copy for every task): each exec comes
   * once per instance, and the second copy must see what the first saw
   * before it changed the tables. By pid, until the other copy comes.
   */
  private readonly execCopies: number;
  private readonly execSeen = new Map<number, { filename: string; tsNs: bigint; before: string | undefined; after: string | undefined }>();

  constructor(
    private readonly events: readonly KernelEventPlan[],
    private readonly fire: Fire,
    private readonly resolveExe: (path: string, tid: number, ppid: number) => string = realpathOr,
    /** `fire` for one probe, prepared once (the run loop's firer); by default fire itself */
    private readonly firer: (probe: number) => (event: KernelEvent) => void = (probe) => (event) => fire(probe, event),
  ) {
    this.wantsPaths = events.some((e) => e.dispatch.some((d) => d.how === "process" && d.path !== undefined));
    this.roles = events.map(roleOf);
    this.execCopies = this.roles.filter((r) => r === EventRole.Exec).length;
  }

  /** The first copy's view of the exec of `pid` into `filename`, if this is the second copy (the same exec: within a millisecond). */
  private takeExecSeen(pid: number, filename: string, tsNs: bigint): { before: string | undefined; after: string | undefined } | undefined {
    const seen = this.execSeen.get(pid);
    if (seen !== undefined && seen.filename === filename && tsNs - seen.tsNs < 1_000_000n && seen.tsNs - tsNs < 1_000_000n) {
      this.execSeen.delete(pid);
      return seen;
    }
    // execs of tasks no scope selects come once: forget them as they age
    if (this.execSeen.size > 1024) for (const [k, v] of this.execSeen) if (tsNs - v.tsNs > 1_000_000_000n) this.execSeen.delete(k);
    return undefined;
  }

  /** The executable of a process, as far as exec events (or /proc at first sight) tell. */
  private exe(tgid: number): string | undefined {
    const known = this.exeOf.get(tgid);
    if (known !== undefined) return known;
    const t = kernelRun.tasks.get(tgid);
    if (t.exe !== undefined) this.exeOf.set(tgid, t.exe);
    return t.exe;
  }

  private matches(d: KernelDispatch & { how: "process" }, tid: number): boolean {
    const tgid = kernelRun.tasks.tgid(tid);
    if (d.pid !== undefined && tgid !== d.pid) return false;
    if (d.path !== undefined && this.exe(tgid) !== d.path) return false;
    return true;
  }

  private run(probe: number, tid: number, ev: DecodedEvent): void {
    // handlers run one at a time and keep no context: one object serves every event
    const ctx = this.ctx;
    ctx.tid = tid;
    ctx.ev = ev;
    // the event's time is read from the context the handler is fired with (context-kernel.ts)
    this.fire(probe, ctx);
  }

  /**
   * The function that handles every event of plan `index`, all of them read
   * through `ev` (the same object each time): for an event that only fires
   * probes (no task bookkeeping, no process matching), a loop straight over
   * its probes; otherwise onEvent.
   */
  listener(index: number, ev: DecodedEvent): EventListener {
    const plan = this.events[index];
    if (!plan) return () => undefined;
    if (this.roles[index] !== EventRole.Plain) return offHotPath(() => this.onEvent(index, ev));
    if (plan.dispatch.some((d) => d.how !== "direct" || d.pid !== undefined)) return () => this.onEvent(index, ev);
    const probes = plan.dispatch.map((d) => d.probe);
    if (probes.length === 1) {
      // the common case, and the one a firehose runs: as few calls and stores per event as can be
      // (a context of its own, its event set once; the same class as the shared one, so pid() and the like see one shape)
      const go = this.firer(probes[0]!);
      const ctx = new EventContext();
      ctx.ev = ev;
      return () => {
        ctx.tid = ev.tid;
        go(ctx);
      };
    }
    return () => {
      for (let i = 0; i < probes.length; i++) this.run(probes[i]!, ev.tid, ev);
    };
  }

  /** Handle event number `index` of the plan. */
  onEvent(index: number, ev: DecodedEvent): void {
    const plan = this.events[index];
    if (!plan) return;
    const tasks = kernelRun.tasks;
    switch (this.roles[index]) {
      case EventRole.Plain:
        break;
      case EventRole.NewTask: {
        const child = Number(ev.get("pid"));
        const flags = ev.get("clone_flags");
        const cloneFlags = typeof flags === "number" || typeof flags === "bigint" ? flags : 0;
        const t = tasks.newTask(ev.tid, child, String(ev.get("comm") ?? ""), cloneFlags);
        if (t.tgid !== tasks.tgid(ev.tid)) inheritIds(tasks.tgid(ev.tid), t.tgid);
        if (this.wantsPaths) {
          const pexe = this.exe(tasks.tgid(ev.tid));
          if (pexe !== undefined) this.exeOf.set(t.tgid, pexe);
        }
        const isThread = (BigInt(cloneFlags) & BigInt(CLONE_THREAD)) !== 0n;
        // a child maps what its parent did (it may live only microseconds)
        if (plan.userStack && !isThread) addressSpaces.fork(tasks.tgid(ev.tid), t.tgid);
        for (const d of plan.dispatch) {
          if (d.how === "direct") this.run(d.probe, ev.tid, ev);
          else if ((d.what === "begin" && !isThread) || (d.what === "thread.begin" && isThread)) {
            if (this.matches(d, child)) this.run(d.probe, child, ev);
          }
        }
        return;
      }
      case EventRole.Exec: {
        const pid = Number(ev.get("pid"));
        const oldPid = Number(ev.get("old_pid") ?? pid);
        const filename = String(ev.get("filename") ?? "");
        // the other instance's copy of this exec, handled already: what it found
        const copy = this.execCopies > 1 ? this.takeExecSeen(pid, filename, ev.tsNs) : undefined;
        const before = copy ? copy.before : this.wantsPaths ? this.exe(tasks.tgid(oldPid)) : undefined;
        if (plan.tracksTasks) tasks.exec(pid, oldPid, filename);
        refreshIds(pid);
        // what the process maps is another program's now: capture it while it runs
        if (plan.userStack && !copy) addressSpaces.exec(pid);
        let after: string | undefined;
        if (copy) after = copy.after;
        else if (this.wantsPaths) after = this.resolveExe(filename, pid, tasks.ppid(pid));
        if (after !== undefined) {
          this.exeOf.set(pid, after);
          tasks.get(pid).exe = after;
        }
        if (this.execCopies > 1 && !copy) this.execSeen.set(pid, { filename, tsNs: ev.tsNs, before, after });
        for (const d of plan.dispatch) {
          if (d.how === "direct") this.run(d.probe, ev.tid, ev);
          else if (d.path !== undefined) {
            // exec into PATH begins a PATH process; exec away from it ends one.
            if (d.what === "begin" && after === d.path && before !== d.path && this.matches(d, pid)) this.run(d.probe, pid, ev);
            if (d.what === "end" && before === d.path && after !== d.path) this.run(d.probe, pid, ev);
          }
        }
        return;
      }
      case EventRole.Exit: {
        const tid = ev.tid;
        const groupDead = Boolean(ev.get("group_dead") ?? 0);
        const tgid = tasks.tgid(tid);
        for (const d of plan.dispatch) {
          if (d.how === "direct") this.run(d.probe, tid, ev);
          else if ((d.what === "end" && groupDead) || (d.what === "thread.end" && tid !== tgid)) {
            if (this.matches(d, tid)) this.run(d.probe, tid, ev);
          }
        }
        if (plan.tracksTasks) {
          tasks.exit(tid);
          if (groupDead) tasks.groupExit(tgid);
        }
        if (groupDead) this.exeOf.delete(tgid);
        return;
      }
      case EventRole.Rename: {
        if (plan.tracksTasks) tasks.rename(Number(ev.get("pid") ?? ev.tid), String(ev.get("newcomm") ?? ""));
        break;
      }
      case EventRole.Credentials:
        // the set*id calls: uid()/gid()... follow them (context-kernel.ts)
        credentialCall(plan.event, ev);
    }
    for (const d of plan.dispatch) {
      if (d.how === "direct") {
        if (d.pid === undefined || tasks.tgid(ev.tid) === d.pid) this.run(d.probe, ev.tid, ev);
      } else if ((d.what === "syscall" || d.what === "syscall.return") && this.matches(d, ev.tid)) this.run(d.probe, ev.tid, ev);
    }
  }

  /**
   * stap's begin probes also fire for what exists when the run starts:
   * process.begin for every process, thread.begin for every other thread,
   * (PATH/PID restricted the same way). `now` gives their time.
   */
  existing(listProcesses: () => RunningProcess[], now: { cpu: number; tsNs: bigint }): void {
    this.snapshotExisting(listProcesses, now)?.();
  }

  /**
   * The processes running now, read at once (only when a begin probe wants
   * them); the returned function fires their begin probes later.
   */
  snapshotExisting(listProcesses: () => RunningProcess[], now: { cpu: number; tsNs: bigint }): (() => void) | undefined {
    const begins: { d: KernelDispatch & { how: "process" }; scope?: number }[] = [];
    for (const e of this.events) {
      // what the kernel records only for a process tree (-c/-x, process(PID)): the processes of that tree
      const scope = e.targetProcess ? kernelRun.target : e.pidScope;
      for (const d of e.dispatch) if (d.how === "process" && (d.what === "begin" || d.what === "thread.begin")) begins.push({ d, scope });
    }
    if (begins.length === 0) return undefined;
    const procs = listProcesses();
    const trees = new Map<number, ReadonlySet<number>>();
    for (const b of begins) if (b.scope !== undefined && !trees.has(b.scope)) trees.set(b.scope, processTree(b.scope, procs));
    // learn them from /proc now: the kernel's saved_cmdlines/saved_tgids may still name older tasks that had these (reused) pids
    for (const p of procs) for (const t of p.tids) kernelRun.tasks.adopt(t);
    return () => this.fireBegins(begins.map((b) => ({ d: b.d, tree: b.scope === undefined ? undefined : trees.get(b.scope) })), procs, now);
  }

  private fireBegins(begins: { d: KernelDispatch & { how: "process" }; tree?: ReadonlySet<number> }[], procs: RunningProcess[], now: { cpu: number; tsNs: bigint }): void {
    const empty: DecodedEvent = { tid: 0, cpu: now.cpu, tsNs: now.tsNs, get: () => undefined, names: () => [] };
    for (const p of procs) {
      for (const { d, tree } of begins) {
        if (tree !== undefined && !tree.has(p.tgid)) continue;
        if (d.what === "begin" && this.matches(d, p.tgid)) this.run(d.probe, p.tgid, { ...empty, tid: p.tgid });
        if (d.what === "thread.begin") {
          for (const t of p.tids) if (t !== p.tgid && this.matches(d, t)) this.run(d.probe, t, { ...empty, tid: t });
        }
      }
    }
  }
}
