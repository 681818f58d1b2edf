// `tstap --check` and `tstap --cleanup`: the two commands that look at the
// kernel's tracing state without running a script.

import { formatCapabilities, probeCapabilities, reapLeftovers, waitForReapers } from "../load/tracefs/index.js";

/** Print what this kernel's tracefs can do; exit 0 only when tstap can run kernel probes here. */
export function checkCommand(): number {
  const caps = probeCapabilities();
  process.stdout.write(formatCapabilities(caps));
  return caps.root !== undefined && caps.unusable === undefined ? 0 : 1;
}

/** Remove the instances and dynamic events left by tstap runs whose owner is gone. */
export function cleanupCommand(): number {
  try {
    // a run's teardown still at work in its reaper: waited for, so that what is left once it returns is left for good
    waitForReapers();
    const removed = reapLeftovers();
    let failed = 0;
    for (const line of removed) {
      if (line.startsWith("failed: ")) {
        process.stderr.write(`ERROR: cannot remove ${line.slice("failed: ".length)}\n`);
        failed++;
      } else process.stdout.write(`removed ${line}\n`);
    }
    if (removed.length === 0) process.stdout.write("no tstap leftovers found\n");
    return failed > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`ERROR: ${(err as Error).message}\n`);
    return 1;
  }
}
