// examples/dbslower.stp end to end: a throwaway PostgreSQL cluster
// (test/support/postgres.ts), tstap on its USDT markers with a 100 ms
// threshold, fast queries and `select pg_sleep(0.3)` through psql: only the
// slow one is reported, with its backend's pid, about 300 ms and its text.
// Kernel-touching: run under /tmp/tstap-kernel.lock.

import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireKernelTracing } from "./support/kernel-gate.js";
import { postgresProblem, startCluster, type PgCluster } from "./support/postgres.js";
import { missingFeature, tstapHas } from "./support/tstap-features.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tstap = join(root, "bin", "tstap");

const why = !tstapHas("tstap-usdt-probes") ? missingFeature("tstap-usdt-probes") : postgresProblem();

describe.skipIf(why !== undefined)(`dbslower${why ? ` [requires ${why}]` : ""}`, () => {
  let c: PgCluster | undefined;
  beforeAll(() => {
    requireKernelTracing();
    c = startCluster();
  }, 120_000);
  afterAll(() => c?.stop());

  it("reports the query slower than $1 ms and no other", { timeout: 120_000 }, async () => {
    const cluster = c!;
    const run = spawn(tstap, ["-x", String(cluster.postmasterPid), join(root, "examples", "dbslower.stp"), "100"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    run.stderr.on("data", (d: Buffer) => (err += d.toString("latin1")));
    const closed = new Promise<number | null>((r) => run.once("close", (code) => r(code)));
    try {
      // begin prints the header once every probe is armed
      await new Promise<void>((resolve, reject) => {
        run.stdout.on("data", (d: Buffer) => {
          out += d.toString("latin1");
          if (out.includes("\n")) resolve();
        });
        run.once("close", () => reject(new Error(`tstap ended before its header: ${err}`)));
      });
      cluster.psql("select 1");
      cluster.psql("select pg_sleep(0.3)");
      cluster.psql("select count(*) from pg_class");
    } finally {
      run.kill("SIGINT");
    }
    expect(await closed, err).toBe(0);
    expect(err).toBe("");
    const m = /^PID +MS QUERY\n(\d+) +(\d+)\.(\d{3}) select pg_sleep\(0\.3\)\n$/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).not.toBe(cluster.postmasterPid);
    // pg_sleep(0.3) sleeps at least 300 ms; the rest is the query's own work
    expect(Number(m![2])).toBeGreaterThanOrEqual(300);
    expect(Number(m![2])).toBeLessThan(2000);
  });
});
