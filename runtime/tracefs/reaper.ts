// The end of a run's kernel teardown, handed to a detached process. Removing
// an instance waits in the kernel for grace periods (110-150 ms with a pid
// list on 6.18, 32-50 ms without), all of it after the run's output is out:
// the user's shell need not wait for it. Once a run's output is flushed,
// tracing off and its trace fds closed, a small `sh` (the reaper, under
// flock(1)) removes the instances and dynamic event groups, in close()'s
// order, and tstap exits at once. It is started then, after tracing is
// off, though its fork and exec (some 3 ms of the main thread) fall on the
// run's end: started while tracing is on (tried: a sh waiting on a pipe
// from the run), its own start is recorded like any process's, and a
// script probing every task counts it (dash's getppid, its exec); started
// before, it is still a process that process.begin's snapshot of the
// running processes would report.
//
// What makes that safe:
// - A killed reaper leaves what a killed run leaves: the names carry a dead
//   pid, and the next run's stale reaping removes them.
// - A reaper in progress is not raced: its argv names what it removes, and
//   stale reaping skips those names while such a process lives.
// - It can be waited for, without sleeping: each reaper runs under
//   `flock -s LOCK_FILE` (the lock taken by flock's first system calls,
//   released by the kernel when the reaper and its children are gone,
//   however they end); waitForReapers() takes the lock exclusively, and
//   again while a reaper process is still alive (one that had not taken the
//   lock yet). `tstap --cleanup` and the tests wait so.
// Where any of that cannot hold (no flock(1), no private /run/tstap), the
// teardown stays in the foreground.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { safeIdent, safePath } from "./safe-text.js";

/** argv[0] of a reaper's script: how stale reaping recognizes one */
export const REAPER_TAG = "tstap-reaper";
const RUN_DIR = "/run/tstap";
export const LOCK_FILE = `${RUN_DIR}/reapers.lock`;
const FLOCK_CANDIDATES = ["/usr/bin/flock", "/bin/flock", "/usr/sbin/flock", "/sbin/flock"];

/** What a reaper removes, in order: an instance (instances/NAME), or a dynamic event group. */
export type ReapItem = { instance: string } | { group: string };

// Run as `flock -s LOCK_FILE sh -c SCRIPT tstap-reaper ROOT ITEMS...`. rmdir
// meets EBUSY for a moment after the last reader closed (as rmdirRetry
// does, it tries again).
const SCRIPT = `root=$1; shift
f=$root/uprobe_events; [ -e "$root/dynamic_events" ] && f=$root/dynamic_events
for a do
  case $a in
  i:*) d=$root/instances/\${a#i:}; n=0
    until rmdir "$d" || [ ! -d "$d" ] || [ $n -ge 50 ]; do n=$((n+1)); sleep 0.01; done ;;
  g:*) g=\${a#g:}
    printf '%s\\n' "-:$g/" >>"$f"
    for e in "$root/events/$g"/*/; do [ -d "$e" ] || continue; e=\${e%/}; printf '%s\\n' "-:$g/\${e##*/}" >>"$f"; done ;;
  esac
done
`;

let flockPath: string | null | undefined;

function flockBinary(): string | undefined {
  if (flockPath === undefined) flockPath = FLOCK_CANDIDATES.find((p) => existsSync(p)) ?? null;
  return flockPath ?? undefined;
}

/** /run/tstap, made if need be: only a directory of ours that no one else can write (the lock is opened by path, as root). */
function runDir(): boolean {
  try {
    mkdirSync(RUN_DIR, { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") return false;
  }
  try {
    const st = lstatSync(RUN_DIR);
    return st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** Whether a reaper can be used here (TSTAP_TEARDOWN=foreground turns it off). */
export function reaperAvailable(): boolean {
  if (process.env.TSTAP_TEARDOWN === "foreground") return false;
  return flockBinary() !== undefined && runDir();
}

/**
 * Starts a reaper for ITEMS under tracefs ROOT; true once it runs (the
 * caller then forgets the items: they are the reaper's), false when it
 * could not start (the caller removes them itself).
 */
export function startReaper(root: string, items: readonly ReapItem[]): boolean {
  const flock = flockBinary();
  if (items.length === 0 || flock === undefined || !runDir()) return false;
  try {
    const args = items.map((it) => ("instance" in it ? `i:${safeIdent("instance", it.instance)}` : `g:${safeIdent("group", it.group)}`));
    // its own session: a ^C at the terminal, or the terminal's hangup, is not for it; nothing of ours open in it
    const child = spawn(flock, ["-s", LOCK_FILE, "/bin/sh", "-c", SCRIPT, REAPER_TAG, safePath("tracefs root", root), ...args], {
      stdio: "ignore",
      detached: true,
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    // spawn() returns once flock is exec'd (its argv in /proc: stale reaping sees it from now on)
    child.on("error", () => undefined);
    child.unref();
    return child.pid !== undefined;
  } catch {
    return false;
  }
}

/** Whether a reaper process lives (flock or its sh). */
function reapersAlive(): boolean {
  return reaperProcesses().length > 0;
}

/**
 * Blocks until no reaper is at work (each holds the lock shared; this takes
 * it exclusively, so it returns once the last one has exited).
 */
export function waitForReapers(): void {
  const flock = flockBinary();
  if (flock === undefined) return;
  // a reaper just started may not hold the lock yet: once more while one lives (flock takes it in its first system calls)
  for (let i = 0; i < 1000; i++) {
    if (existsSync(LOCK_FILE)) spawnSync(flock, ["-x", LOCK_FILE, "true"], { stdio: "ignore" });
    if (!reapersAlive()) return;
  }
}

/** Each live reaper process's argv from its tag on: TAG ROOT ITEMS... */
function reaperProcesses(): string[][] {
  const out: string[][] = [];
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  for (const pid of pids) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0");
    } catch {
      continue;
    }
    // [flock -s LOCK] /bin/sh -c SCRIPT tstap-reaper ROOT ITEMS...
    const at = argv.indexOf(REAPER_TAG);
    if (at >= 2 && argv[at - 2] === "-c") out.push(argv.slice(at));
  }
  return out;
}

/**
 * The names (instances and groups) live reapers are removing: stale
 * reaping leaves them to them. Read from /proc only when asked, which
 * reapLeftovers does only for names of dead owners.
 */
export function namesBeingReaped(): Set<string> {
  const out = new Set<string>();
  for (const argv of reaperProcesses()) for (const a of argv.slice(2)) if (/^[ig]:/.test(a)) out.add(a.slice(2));
  return out;
}
