// The throwaway PostgreSQL cluster of test/support/postgres.ts: it runs
// queries, runs as an unprivileged user with its socket in its temp dir and
// no TCP, and is gone after stop() or after its test process was killed.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { postgresProblem, reapLeftoverClusters, startCluster, type PgCluster } from "./support/postgres.js";

const problem = postgresProblem();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function ownerOf(pid: number): number {
  return Number(/^Uid:\t(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"))![1]);
}

describe.skipIf(problem !== undefined)(`PostgreSQL test cluster${problem ? ` [${problem}]` : ""}`, () => {
  const started: PgCluster[] = [];
  afterAll(() => {
    for (const c of started) c.stop();
  });

  it("answers queries as an unprivileged server on a Unix socket only", { timeout: 120_000 }, () => {
    const c = startCluster();
    started.push(c);
    expect(c.psql("select 40 + 2").trim()).toBe("42");
    expect(ownerOf(c.postmasterPid)).not.toBe(0);
    expect(c.psql("show listen_addresses").trim()).toBe("");
    expect(existsSync(join(c.socketDir, `.s.PGSQL.${c.port}`))).toBe(true);
    // the shell form runs the same query
    expect(spawnSync("bash", ["-c", c.psqlCommand("select 'it''s'")], { encoding: "utf8" }).stdout.trim()).toBe("it's");
    c.stop();
    expect(alive(c.postmasterPid)).toBe(false);
    expect(existsSync(c.dir)).toBe(false);
    c.stop(); // idempotent
  });

  it("a cluster whose test process died without stopping it is stopped by the next start", { timeout: 120_000 }, () => {
    const c = startCluster({ port: 5433 });
    started.push(c);
    // as if its owner had been SIGKILLed: owner.pid names a process that is gone
    const gone = spawnSync("true").pid!;
    writeFileSync(join(c.dir, "owner.pid"), String(gone));
    expect(alive(c.postmasterPid)).toBe(true);
    reapLeftoverClusters();
    expect(alive(c.postmasterPid)).toBe(false);
    expect(existsSync(c.dir)).toBe(false);
  });
});
