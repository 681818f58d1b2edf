// The task table: who a tid was at the moment of an event.
//
// An event record carries only common_pid (the tid). pid(), ppid(),
// execname(), pexecname() must answer for the task as it was when the event
// fired, even if it has exited (or its tid was reused) by the time the
// handler runs. So the runtime feeds this table the task events in the same
// merged timestamp order as every other event (task_newtask, sched_process_exec,
// sched_process_exit, task_rename) and asks it afterwards.
//
// A tid first seen in some other event (a task older than the run) is looked
// up once, in order: the kernel's saved_tgids / saved_cmdlines (filled by the
// instance's options/record-tgid and the top level's record-cmd), then /proc
// as the last resort, and cached.

import { readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";

export const CLONE_PARENT = 0x8000;
export const CLONE_THREAD = 0x10000;

export interface TaskInfo {
  tid: number;
  /** thread group id: pid() */
  tgid: number;
  /** comm (execname()), at most 15 bytes */
  comm: string;
  /** the parent process's tgid: ppid(); 0 when unknown, -1 until looked up */
  ppid: number;
  /** the executable path of the last exec seen for this task, when seen */
  exe?: string;
  alive: boolean;
  /** the whole thread group has exited: its children now have another parent */
  groupExited?: boolean;
}

/** Where facts about tasks older than the run come from. */
export interface TaskFallback {
  /** tgid and comm the kernel recorded for tid, if any */
  saved(tid: number): { tgid?: number; comm?: string };
  /** the live task from /proc, if it still exists; start: when it started, in clock ticks since boot */
  proc(tid: number): { tgid: number; ppid: number; comm: string; exe?: string; start?: number } | undefined;
}

/** How many exited tasks are remembered before the oldest are forgotten. */
const MAX_DEAD = 16384;

export class TaskTable {
  private readonly tasks = new Map<number, TaskInfo>();
  /** the entry get() returned last: a burst of events is mostly one task's (every change of the map forgets it) */
  private lastTid = -1;
  private last: TaskInfo | undefined;
  private readonly dead: number[] = [];

  /**
   * @param createdAt clock ticks since boot when the table is made, before
   * the run's events are enabled: a live task that started earlier was the
   * task at every event of the run that names its tid
   */
  constructor(
    private readonly fallback: TaskFallback = kernelTaskFallback(),
    private readonly createdAt: number = uptimeTicks(),
  ) {}

  /** task_newtask in the parent's context: child `childTid` named `comm`. */
  newTask(parentTid: number, childTid: number, comm: string, cloneFlags: bigint | number): TaskInfo {
    const parent = this.get(parentTid);
    const flags = BigInt(cloneFlags);
    const isThread = (flags & BigInt(CLONE_THREAD)) !== 0n;
    const siblingOfParent = (flags & BigInt(CLONE_PARENT)) !== 0n;
    const child: TaskInfo = {
      tid: childTid,
      tgid: isThread ? parent.tgid : childTid,
      comm,
      ppid: isThread || siblingOfParent ? this.ppid(parentTid) : parent.tgid,
      exe: parent.exe,
      alive: true,
    };
    this.lastTid = -1;
    this.tasks.set(childTid, child);
    return child;
  }

  /** sched_process_exec: `tid` (formerly `oldTid`, when a non-leader thread exec'd) now runs `filename`. */
  exec(tid: number, oldTid: number, filename: string): TaskInfo {
    if (oldTid !== tid) {
      // de_thread: the exec'ing thread took over the leader's tid; the others died.
      this.markDead(oldTid);
    }
    const base = filename.slice(filename.lastIndexOf("/") + 1);
    const t: TaskInfo = { tid, tgid: tid, comm: base.slice(0, 15), ppid: this.ppid(oldTid), exe: filename, alive: true };
    this.lastTid = -1;
    this.tasks.set(tid, t);
    return t;
  }

  /** task_rename: prctl(PR_SET_NAME), writes to /proc/PID/comm, exec. */
  rename(tid: number, comm: string): void {
    const t = this.get(tid);
    t.comm = comm;
  }

  /** sched_process_exit in the exiting task's context. The entry stays, marked dead. */
  exit(tid: number): TaskInfo {
    const t = this.get(tid);
    this.markDead(tid);
    return t;
  }

  /** sched_process_exit with group_dead: the process `tgid` is gone, its children are re-parented. */
  groupExit(tgid: number): void {
    const t = this.tasks.get(tgid);
    if (t !== undefined) t.groupExited = true;
  }

  /**
   * A task tstap knows of before any event names it (the -c command, the -x
   * process): learn it now, while /proc still shows it, so that ppid() and
   * pexecname() answer even after it has exited.
   */
  adopt(tid: number): void {
    this.lastTid = -1;
    this.tasks.delete(tid);
    // /proc first: no event of it has been recorded yet, so the kernel's
    // saved_tgids may still name an older task that had this pid
    const live = this.fallback.proc(tid);
    this.lastTid = -1;
    if (live) this.tasks.set(tid, { tid, tgid: live.tgid, comm: live.comm, ppid: live.ppid, exe: live.exe, alive: true });
    else this.ppid(tid);
  }

  /**
   * The -c command while tstap holds it (runtime/target.ts): a shell tstap
   * itself just started, so what /proc would say is known already (four
   * reads of /proc on the startup path, one of them waiting for the new
   * process's memory map while it loads).
   */
  adoptHeld(tid: number, shell: string): void {
    this.lastTid = -1;
    this.tasks.set(tid, { tid, tgid: tid, comm: shell.slice(shell.lastIndexOf("/") + 1).slice(0, 15), ppid: process.pid, exe: realOr(shell), alive: true });
  }

  /** The task as it is now in event order, learning it from the fallbacks on first sight. */
  get(tid: number): TaskInfo {
    if (tid === this.lastTid) return this.last!;
    let t = this.tasks.get(tid);
    if (t === undefined) {
      t = this.learn(tid);
      this.tasks.set(tid, t);
    }
    this.lastTid = tid;
    this.last = t;
    return t;
  }

  /** Known without consulting the fallbacks (for tests and diagnostics). */
  peek(tid: number): TaskInfo | undefined {
    return this.tasks.get(tid);
  }

  tgid(tid: number): number {
    return this.get(tid).tgid;
  }

  comm(tid: number): string {
    return this.get(tid).comm;
  }

  ppid(tid: number): number {
    const t = this.get(tid);
    if (t.ppid < 0) t.ppid = this.fallback.proc(tid)?.ppid ?? 0;
    // orphaned: the kernel gave it to a subreaper or init; /proc says which, while it lives
    else if (t.ppid > 1 && this.tasks.get(t.ppid)?.groupExited) t.ppid = this.fallback.proc(tid)?.ppid ?? 1;
    return t.ppid;
  }

  /** pexecname(): the comm of the parent process (its group leader). */
  parentComm(tid: number): string {
    const pp = this.ppid(tid);
    return pp > 0 ? this.get(pp).comm : "";
  }

  private markDead(tid: number): void {
    const t = this.tasks.get(tid);
    if (t === undefined || !t.alive) return;
    t.alive = false;
    this.dead.push(tid);
    while (this.dead.length > MAX_DEAD) {
      const old = this.dead.shift()!;
      const e = this.tasks.get(old);
      this.lastTid = -1;
      if (e !== undefined && !e.alive) this.tasks.delete(old);
    }
  }

  private learn(tid: number): TaskInfo {
    if (tid === 0) return { tid: 0, tgid: 0, comm: "swapper", ppid: 0, alive: true };
    // What the kernel recorded at an event comes first; /proc (the present,
    // maybe a reused tid) only for what it lacks. ppid is looked up on demand.
    // tstap itself (the -c command's parent) records no event, so what the
    // kernel saved for its pid is an older task's that had the pid before it
    const saved = tid === process.pid ? {} : this.fallback.saved(tid);
    const live = this.fallback.proc(tid);
    // saved_* hold the last task the kernel recorded under a tid, which can
    // be an older one than the task at this event: the kernel refreshes an
    // entry only at a context switch that follows a recorded event on that
    // CPU, and pids are reused. A live task that was already running when
    // the run started is the one every event of the run names.
    if (saved.tgid !== undefined && live?.start !== undefined && live.start < this.createdAt && live.tgid !== saved.tgid) {
      return { tid, tgid: live.tgid, comm: live.comm, ppid: live.ppid, exe: live.exe, alive: true };
    }
    if (saved.tgid !== undefined && saved.comm !== undefined) {
      return { tid, tgid: saved.tgid, comm: saved.comm, ppid: live !== undefined && live.tgid === saved.tgid ? live.ppid : -1, alive: true };
    }
    const tgid = saved.tgid ?? live?.tgid ?? tid;
    const comm = saved.comm ?? live?.comm ?? "";
    return { tid, tgid, comm, ppid: live?.ppid ?? 0, exe: live?.exe, alive: true };
  }
}

// ---------------------------------------------------------------- kernel fallback

const TRACEFS = "/sys/kernel/tracing";
/** saved_* are re-read at most this often (ms) on a miss: they are whole-table files. */
const RESCAN_MS = 200;

function parsePairs(text: string, intValue: boolean): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of text.split("\n")) {
    const sp = line.indexOf(" ");
    if (sp <= 0) continue;
    const k = Number(line.slice(0, sp));
    const v = line.slice(sp + 1);
    if (!Number.isSafeInteger(k)) continue;
    if (intValue && !/^[0-9]+$/.test(v)) continue;
    m.set(k, v);
  }
  return m;
}

/** The file a path names (what /proc/PID/exe shows of a process running it). */
function realOr(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}

/** The live task from /proc/TID/status (works for any tid, thread or leader). */
export function procTask(tid: number): { tgid: number; ppid: number; comm: string; exe?: string; start?: number } | undefined {
  const status = readOr(`/proc/${tid}/status`);
  if (status === undefined) return undefined;
  const field = (name: string): string | undefined => {
    const m = new RegExp(`^${name}:\\t(.*)$`, "m").exec(status);
    return m?.[1];
  };
  const tgid = Number(field("Tgid"));
  const ppid = Number(field("PPid"));
  if (!Number.isSafeInteger(tgid)) return undefined;
  let exe: string | undefined;
  try {
    exe = readlinkSync(`/proc/${tid}/exe`, "latin1");
  } catch {
    exe = undefined;
  }
  // Name escapes \n and \\ in newer kernels; comm itself is in /proc/TID/comm.
  const comm = (readOr(`/proc/${tid}/comm`) ?? field("Name") ?? "").replace(/\n$/, "");
  return { tgid, ppid: Number.isSafeInteger(ppid) ? ppid : 0, comm, exe, start: startTicks(tid) };
}

export function kernelTaskFallback(tracefs = TRACEFS): TaskFallback {
  let tgids = new Map<number, string>();
  let cmdlines = new Map<number, string>();
  let scannedAt = -Infinity;
  const rescan = (): void => {
    const now = Date.now();
    if (now - scannedAt < RESCAN_MS) return;
    scannedAt = now;
    tgids = parsePairs(readOr(`${tracefs}/saved_tgids`) ?? "", true);
    cmdlines = parsePairs(readOr(`${tracefs}/saved_cmdlines`) ?? "", false);
  };
  return {
    saved(tid) {
      if (!tgids.has(tid) || !cmdlines.has(tid)) rescan();
      const t = tgids.get(tid);
      const c = cmdlines.get(tid);
      // "<...>" is the kernel's placeholder for a comm it no longer has.
      return { tgid: t !== undefined ? Number(t) : undefined, comm: c !== undefined && c !== "<...>" ? c : undefined };
    },
    proc: procTask,
  };
}

/** When a task started, in clock ticks since boot (stat(5) field 22), undefined if gone. */
function startTicks(tid: number): number | undefined {
  const stat = readOr(`/proc/${tid}/stat`);
  if (stat === undefined) return undefined;
  // comm may contain spaces and parentheses: the fields after it follow the last ')'
  const start = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  return Number.isSafeInteger(start) ? start : undefined;
}

/** Clock ticks since boot now (/proc/uptime, the same clock as a task's start); 0 if unknown. */
function uptimeTicks(): number {
  const up = Number((readOr("/proc/uptime") ?? "").split(" ")[0]);
  // USER_HZ is 100 on x86-64; floor, so that a start tick below it is surely earlier
  return Number.isFinite(up) ? Math.floor(up * 100) : 0;
}

/** The one-letter state of a task from /proc/PID/stat, undefined if gone. */
export function procState(pid: number): string | undefined {
  const stat = readOr(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // comm may contain spaces and parentheses: the state follows the last ')'.
  const close = stat.lastIndexOf(")");
  return close < 0 ? undefined : stat.charAt(close + 2);
}

/** Every thread id of a process (for set_event_pid), empty if it is gone. */
export function threadsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map((s) => Number(s))
      .filter((n) => Number.isSafeInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/** A process running when the run starts (from /proc). */
export interface RunningProcess {
  tgid: number;
  /** its parent's tgid; 0 when unknown */
  ppid: number;
  tids: number[];
}

/** Every process, its parent and its threads, from /proc (for stap's begin of existing processes, and -x's process tree). */
export function listProcesses(): RunningProcess[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: RunningProcess[] = [];
  for (const e of entries) {
    if (!/^[0-9]+$/.test(e)) continue;
    const tgid = Number(e);
    out.push({ tgid, ppid: procParent(tgid), tids: threadsOf(tgid) });
  }
  return out.sort((a, b) => a.tgid - b.tgid);
}

/** The parent tgid from /proc/PID/stat (the field after the state), 0 if gone. */
function procParent(pid: number): number {
  const stat = readOr(`/proc/${pid}/stat`);
  if (stat === undefined) return 0;
  // comm may contain spaces and parentheses: the fields follow the last ')'
  const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  return Number.isSafeInteger(ppid) ? ppid : 0;
}

/**
 * `root` and its descendants among `procs`: the process hierarchy -x
 * names (stapprobes(3stap)), as it is when the run starts; the kernel's
 * event-fork follows it from there.
 */
export function processTree(root: number, procs: readonly RunningProcess[]): Set<number> {
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p.tgid);
    else children.set(p.ppid, [p.tgid]);
  }
  const tree = new Set<number>([root]);
  const todo = [root];
  while (todo.length > 0) for (const c of children.get(todo.pop()!) ?? []) if (!tree.has(c)) (tree.add(c), todo.push(c));
  return tree;
}
