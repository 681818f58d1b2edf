// Probe families tstap itself may not have yet. A test needing one is
// skipped, naming the feature it waits for, until `tstap -p2` accepts the
// probe point; from then on it runs, and must pass.

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const tstap = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "tstap");

export const TSTAP_FEATURES: Readonly<Record<string, { probe: string; waitsFor: string }>> = {
  "tstap-function-probes": {
    probe: 'process("libc.so.6").function("pthread_mutex_lock").return',
    waitsFor: "process(...).function/.return (uprobes, issue 7)",
  },
  "tstap-usdt-probes": {
    probe: 'process("/usr/lib/postgresql/15/bin/postgres").mark("query__start")',
    waitsFor: "process(...).mark (USDT, issue 8)",
  },
};

const compiles = new Map<string, boolean>();

/** Does this tstap compile (pass 2) the feature's probe point? */
export function tstapHas(feature: string): boolean {
  const f = TSTAP_FEATURES[feature];
  if (!f) throw new Error(`unknown tstap feature '${feature}'`);
  let ok = compiles.get(f.probe);
  if (ok === undefined) {
    ok = spawnSync(tstap, ["-p2", "-e", `probe ${f.probe} { println(1) }`], { stdio: "ignore", timeout: 60_000 }).status === 0;
    compiles.set(f.probe, ok);
  }
  return ok;
}

/** The skip reason of a test waiting for `feature`. */
export function missingFeature(feature: string): string {
  return `${feature}: tstap has no ${TSTAP_FEATURES[feature]!.waitsFor} yet`;
}
