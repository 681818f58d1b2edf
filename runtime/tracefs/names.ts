// Names of what tstap creates in tracefs: `tstap_<pid>_<n>` for both the
// instance and the dynamic event group of a run. The owner's pid is in the
// name so a later run can tell leftovers of a dead run from a live one.

const NAME = /^tstap_(\d+)_(\d+)$/;
let counter = 0;

/** A fresh name for this process: tstap_<pid>_<n>. */
export function newRunName(): string {
  return `tstap_${process.pid}_${counter++}`;
}

/** The owner pid of a tstap name, undefined for any other name. */
export function ownerPid(name: string): number | undefined {
  const m = NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}
