// The tracepoints the runtime's task table follows (who a tid is: its
// process, parent, name, executable, credentials), which the process
// families also fire on.

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
export const TASK_CONTEXT: ReadonlySet<string> = new Set(["pid", "ppid", "execname", "pexecname", "uid", "gid", "euid", "egid"]);

/** Context functions answered from credentials, which the set*id system calls change. */
export const CRED_CONTEXT: ReadonlySet<string> = new Set(["uid", "gid", "euid", "egid"]);

/** The system calls that change a task's uid/gid: the task table follows their entry (arguments) and exit (success). */
export const CRED_SYSCALLS = ["setuid", "setreuid", "setresuid", "setgid", "setregid", "setresgid"] as const;

type TaskEvent = (typeof TASK_EVENTS)[keyof typeof TASK_EVENTS];

/**
 * The task events that keep the context functions a script calls exact
 * (each one enabled costs the startup a format read and an enable, and
 * the kernel a record per fork, exec or exit of a traced task). pid()
 * needs only the new tasks: a thread's process is its creator's, and a tid
 * reused during the run comes back through a fork, which replaces what the
 * table held for it (a task older than the run is learned from
 * saved_tgids or /proc at first sight, and an exec keeps the process's
 * pid). ppid() needs the exits too: a process whose parent's group died
 * has another parent. A name (execname(), pexecname()) changes at exec and
 * rename, and the credentials at exec: those need all four.
 */
export function taskEventsFor(used: ReadonlySet<string>): TaskEvent[] {
  if ([...used].some((f) => f !== "pid" && f !== "ppid")) return [TASK_EVENTS.newtask, TASK_EVENTS.exec, TASK_EVENTS.exit, TASK_EVENTS.rename];
  return used.has("ppid") ? [TASK_EVENTS.newtask, TASK_EVENTS.exit] : used.size > 0 ? [TASK_EVENTS.newtask] : [];
}
