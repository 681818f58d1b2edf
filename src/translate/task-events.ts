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
