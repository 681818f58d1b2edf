// The end of a run's teardown handed to a reaper (runtime/tracefs/reaper.ts):
// a child node process opens a session as a run does (a pid list, a uprobe
// in its own group: the slowest removal there is), releases it with the
// teardown handed off, and exits. What it made is always removed: by the
// reaper (waited for through its lock, never slept on), or, when the reaper
// is gone, by the next stale reaping, which leaves a live reaper's names
// alone.

import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reapLeftovers } from "../../runtime/tracefs/index.js";
import { namesBeingReaped, REAPER_TAG, reaperAvailable, waitForReapers } from "../../runtime/tracefs/reaper.js";
import { compiledRuntime, exited, getppidProgram, leftovers, mainOffset, requireTracefs, ROOT, startSessionChild, tracefsState } from "./support.js";

let child = "";
let before = "";

beforeAll(() => {
  requireTracefs();
  waitForReapers();
  reapLeftovers();
  before = tracefsState();
  const js = compiledRuntime();
  const exe = getppidProgram();
  child = join(js, "reaper-child.mjs");
  writeFileSync(
    child,
    `import { TraceSession } from "./runtime/events/index.js";
const how = process.argv[2];
const s = TraceSession.open({ bufferKb: 64, handOffTeardown: true });
s.setEventPids([process.pid], true);
s.addEvent({ system: "sched", event: "sched_switch" });
const g = s.instance.name;
s.addEvent({ system: g, event: "p0", define: "p:" + g + "/p0 ${exe}:0x${mainOffset(exe).toString(16)}" });
s.start();
process.stdout.write("ready " + g + "\\n");
if (how === "release") s.release().then(() => process.stdout.write("released, handed off: " + s.handedOff + "\\n"));
`,
  );
});

afterAll(() => {
  waitForReapers();
  reapLeftovers();
  expect(tracefsState()).toBe(before);
});

function start(how: string, env: Record<string, string> = {}): ReturnType<typeof startSessionChild> {
  return startSessionChild(child, how, env);
}

describe("teardown handed to a reaper", () => {
  it("is available here (root, flock(1), /run)", () => {
    expect(reaperAvailable()).toBe(true);
  });

  it("the run exits with its instance handed off; the reaper removes it all, and waitForReapers returns once it has", async () => {
    const { p, name, out } = await start("release");
    const r = await exited(p);
    expect(r).toEqual({ code: 0, signal: null });
    expect(out()).toBe(`ready ${name}\nreleased, handed off: true\n`);
    waitForReapers();
    expect(leftovers(name)).toEqual([]);
    expect(namesBeingReaped().has(name)).toBe(false);
  });

  it("TSTAP_TEARDOWN=foreground: the run removes it all itself before it exits", async () => {
    const { p, name, out } = await start("release", { TSTAP_TEARDOWN: "foreground" });
    await exited(p);
    expect(out()).toBe(`ready ${name}\nreleased, handed off: false\n`);
    expect(leftovers(name)).toEqual([]);
  });

  it("stale reaping leaves a live reaper's names alone, and removes them once that reaper is killed", async () => {
    const dead = await start("wait");
    dead.p.kill("SIGKILL");
    await exited(dead.p);
    expect(leftovers(dead.name)).toEqual([`instances/${dead.name}`, `dynamic events of ${dead.name}`]);
    // a reaper as stale reaping sees one (its argv), stuck: it holds the dead run's names
    const stuck = spawn("/bin/sh", ["-c", "read _", REAPER_TAG, ROOT, `i:${dead.name}`, `g:${dead.name}`], { stdio: ["pipe", "ignore", "ignore"] });
    await new Promise((resolve) => stuck.once("spawn", resolve));
    expect(namesBeingReaped().has(dead.name)).toBe(true);
    expect(reapLeftovers()).toEqual([]);
    expect(leftovers(dead.name)).toEqual([`instances/${dead.name}`, `dynamic events of ${dead.name}`]);
    stuck.kill("SIGKILL");
    await exited(stuck);
    expect(reapLeftovers()).toEqual([`instances/${dead.name}`, `${dead.name}/p0`]);
    expect(leftovers(dead.name)).toEqual([]);
  });
});
