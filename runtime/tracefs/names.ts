// Names of what tstap creates in tracefs: `tstap_<pid>_<n>` for both the
// instance and the dynamic event group of a run. The owner's pid is in the
// name so a later run can tell leftovers of a dead run from a live one.

const NAME = /^tstap_(\d+)_(\d+)$/;
let counter = 0;
const made = new Set<string>();

/** A fresh name for this process: tstap_<pid>_<n>. */
export function newRunName(): string {
  const name = `tstap_${process.pid}_${counter++}`;
  made.add(name);
  return name;
}

/** NAME (made for this process before it ran: bin/tstap's early instance) is this run's from now on. */
export function claimRunName(name: string): void {
  made.add(name);
}

/**
 * Whether the run that made NAME can still be running. A name with our own
 * pid that we did not make was left by a dead process that had our pid
 * before us (pids are reused): it is a leftover, never ours.
 */
export function ownerAlive(name: string, alive: (pid: number) => boolean): boolean {
  const pid = ownerPid(name);
  if (pid === undefined) return true;
  if (pid === process.pid) return made.has(name);
  return alive(pid);
}

/** The owner pid of a tstap name, undefined for any other name. */
export function ownerPid(name: string): number | undefined {
  const m = NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}
