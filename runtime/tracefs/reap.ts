// Leftovers of runs that could not clean up (SIGKILL, power cut of the
// process): instances and dynamic event groups named tstap_<pid>_<n> whose
// owner pid no longer exists. Nothing else is ever touched: not other
// tools' instances or events, not a live tstap's.

import { existsSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { ownerAlive, ownerPid } from "./names.js";
import { findTracefs, readText } from "./tracefs.js";
import { removeGroup } from "./instance.js";
import { namesBeingReaped } from "./reaper.js";

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** The tstap dynamic events defined now: `GROUP/EVENT` of each `tstap_*` line of dynamic_events/uprobe_events/kprobe_events. */
export function tstapDynamicEvents(root: string): { group: string; event: string }[] {
  const out: { group: string; event: string }[] = [];
  const seen = new Set<string>();
  for (const file of ["dynamic_events", "uprobe_events", "kprobe_events"]) {
    for (const line of readText(root, file).split("\n")) {
      const m = /^[a-z]\d*:([^/\s]+)\/(\S+)/.exec(line);
      if (!m || ownerPid(m[1]!) === undefined || seen.has(`${m[1]}/${m[2]}`)) continue;
      seen.add(`${m[1]}/${m[2]}`);
      out.push({ group: m[1]!, event: m[2]! });
    }
  }
  return out;
}

/**
 * Removes every tstap leftover whose owner pid is gone; returns what it
 * removed (`instances/NAME`, `GROUP/EVENT`) and, prefixed with `failed: `,
 * what it could not remove.
 */
export function reapLeftovers(root = findTracefs()): string[] {
  const done: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(join(root, "instances"));
  } catch {
    names = [];
  }
  // what a live reaper (reaper.ts) is removing is its to remove: looked up once, and only when a dead run's name is there
  let reaping: Set<string> | undefined;
  const leftover = (name: string): boolean => !ownerAlive(name, alive) && !(reaping ??= namesBeingReaped()).has(name);
  for (const name of names) {
    if (ownerPid(name) === undefined || !leftover(name)) continue;
    const rel = `instances/${name}`;
    try {
      // one rmdir disables the instance's events and clears its pid lists (each step apart would wait its own grace periods)
      rmdirSync(join(root, rel));
      done.push(rel);
    } catch (err) {
      // removed meanwhile (by a reaper that just finished)
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      done.push(`failed: ${rel}: ${(err as Error).message}`);
    }
  }
  const dead = new Map<string, string[]>();
  for (const { group, event } of tstapDynamicEvents(root)) {
    if (!leftover(group)) continue;
    const events = dead.get(group) ?? [];
    events.push(event);
    dead.set(group, events);
  }
  // a group at a time (removeGroup: one write where the kernel takes it)
  for (const [group, events] of dead) {
    const failed = new Map(removeGroup(root, group).map((p) => [p.event, p.error]));
    for (const event of events) done.push(failed.has(event) ? `failed: ${group}/${event}: ${failed.get(event)}` : `${group}/${event}`);
  }
  return done;
}
