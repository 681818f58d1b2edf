// A throwaway PostgreSQL cluster for tests of USDT scripts (dbslower): the
// Debian server binaries (/usr/lib/postgresql/15/bin), initdb into a temp
// dir as an unprivileged user, a Unix socket in that dir and no TCP, psql
// for queries. Stopped on every exit: stop() (call it from afterAll), the
// process's 'exit' event, SIGINT/SIGTERM; and a cluster whose test process
// died anyway (SIGKILL) is stopped and removed by the next startCluster().

import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PG_BIN = "/usr/lib/postgresql/15/bin";
const PREFIX = "tstap-pg-";

export interface PgCluster {
  /** the temp dir: data/, the socket, the log, owner.pid */
  dir: string;
  /** where the Unix socket is (psql -h) */
  socketDir: string;
  port: number;
  /** the unprivileged user the server runs as */
  user: string;
  /** the postmaster's pid (backends are its children) */
  postmasterPid: number;
  /** runs SQL through psql (unaligned, tuples only); returns stdout */
  psql(sql: string, opts?: { timeoutMs?: number }): string;
  /** the psql command line for SQL, for a shell (a tstap -c, a background job) */
  psqlCommand(sql: string): string;
  /** stops the server (immediate) and removes the dir; idempotent */
  stop(): void;
}

/** Why a cluster cannot be started here (no server binaries, not root), or undefined. */
export function postgresProblem(): string | undefined {
  if (!existsSync(join(PG_BIN, "postgres")) || !existsSync(join(PG_BIN, "initdb"))) return `no PostgreSQL 15 server in ${PG_BIN} (apt-get install postgresql-15)`;
  if (process.getuid?.() !== 0) return "starting a cluster as another user needs root";
  if (serverUser() === undefined) return "no unprivileged user to run the server as (postgres or nobody)";
  return undefined;
}

function serverUser(): string | undefined {
  for (const u of ["postgres", "nobody"]) {
    if (spawnSync("id", ["-u", u], { stdio: "ignore" }).status === 0) return u;
  }
  return undefined;
}

function ids(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
  return { uid, gid };
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a server binary as `user` (setpriv: no shell, no login). */
function asUser(user: string, cmd: string, args: string[], timeoutMs = 60_000): { status: number | null; out: string } {
  const { uid, gid } = ids(user);
  const r = spawnSync("setpriv", [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--", join(PG_BIN, cmd), ...args], {
    encoding: "utf8",
    timeout: timeoutMs,
    env: { PATH: "/usr/bin:/bin", LANG: "C", LC_ALL: "C" },
  });
  return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function postmasterPidOf(dir: string): number | undefined {
  try {
    const n = Number(readFileSync(join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Stops a cluster's server, whatever state it is in, and removes its dir. */
function teardown(dir: string, user: string | undefined): void {
  const pm = postmasterPidOf(dir);
  if (pm !== undefined && pidAlive(pm)) {
    if (user !== undefined) asUser(user, "pg_ctl", ["stop", "-D", join(dir, "data"), "-m", "immediate", "-w", "-t", "10"], 15_000);
    // pg_ctl could not (or no user): the postmaster takes its backends down on SIGQUIT
    if (pidAlive(pm)) {
      try {
        process.kill(pm, "SIGQUIT");
      } catch {
        // gone meanwhile
      }
      const until = Date.now() + 5000;
      while (pidAlive(pm) && Date.now() < until) spawnSync("sleep", ["0.05"]);
      if (pidAlive(pm)) {
        try {
          process.kill(pm, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Clusters left by test processes that died without stopping them (SIGKILL). */
export function reapLeftoverClusters(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner: number | undefined;
    try {
      owner = Number(readFileSync(join(dir, "owner.pid"), "utf8"));
    } catch {
      owner = undefined;
    }
    if (owner !== undefined && owner !== process.pid && pidAlive(owner)) continue;
    if (owner === process.pid) continue;
    let user: string | undefined;
    try {
      user = readFileSync(join(dir, "owner.user"), "utf8").trim() || undefined;
    } catch {
      user = undefined;
    }
    teardown(dir, user);
  }
}

const live = new Set<PgCluster>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const c of [...live]) c.stop();
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      for (const c of [...live]) c.stop();
      process.kill(process.pid, sig);
    });
  }
}

/** Starts a cluster; throws (after cleaning up) when it cannot. */
export function startCluster(opts: { port?: number; settings?: Record<string, string> } = {}): PgCluster {
  const problem = postgresProblem();
  if (problem !== undefined) throw new Error(problem);
  reapLeftoverClusters();
  hookExit();
  const user = serverUser()!;
  const { uid, gid } = ids(user);
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  writeFileSync(join(dir, "owner.pid"), String(process.pid));
  writeFileSync(join(dir, "owner.user"), user);
  chownSync(dir, uid, gid);
  const port = opts.port ?? 5432;
  let stopped = false;
  const cluster: PgCluster = {
    dir,
    socketDir: dir,
    port,
    user,
    postmasterPid: 0,
    psql(sql, o = {}) {
      const r = spawnSync("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", dir, "-p", String(port), "-U", "postgres", "-d", "postgres", "-c", sql], {
        encoding: "utf8",
        timeout: o.timeoutMs ?? 30_000,
        env: { ...process.env, PGCONNECT_TIMEOUT: "10" },
      });
      if (r.status !== 0) throw new Error(`psql failed (${r.status ?? r.signal}): ${r.stderr}`);
      return r.stdout;
    },
    psqlCommand(sql) {
      return ["psql", "-X", "-q", "-A", "-t", "-h", dir, "-p", String(port), "-U", "postgres", "-d", "postgres", "-c", sql].map(quote).join(" ");
    },
    stop() {
      if (stopped) return;
      stopped = true;
      live.delete(cluster);
      teardown(dir, user);
    },
  };
  live.add(cluster);
  try {
    const init = asUser(user, "initdb", ["-D", join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]);
    if (init.status !== 0) throw new Error(`initdb failed: ${init.out}`);
    const settings: Record<string, string> = {
      listen_addresses: "''",
      unix_socket_directories: `'${dir}'`,
      port: String(port),
      fsync: "off",
      synchronous_commit: "off",
      full_page_writes: "off",
      ...opts.settings,
    };
    const conf = Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}\n`)
      .join("");
    writeFileSync(join(dir, "data", "postgresql.auto.conf"), conf);
    chownSync(join(dir, "data", "postgresql.auto.conf"), uid, gid);
    const start = asUser(user, "pg_ctl", ["start", "-D", join(dir, "data"), "-l", join(dir, "server.log"), "-w", "-t", "60"], 90_000);
    if (start.status !== 0) throw new Error(`pg_ctl start failed: ${start.out}\n${readLog(dir)}`);
    cluster.postmasterPid = postmasterPidOf(dir) ?? 0;
    if (cluster.postmasterPid === 0) throw new Error(`no postmaster.pid after start\n${readLog(dir)}`);
  } catch (err) {
    cluster.stop();
    throw err;
  }
  return cluster;
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, "server.log"), "utf8");
  } catch {
    return "";
  }
}

