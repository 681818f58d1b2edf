// Leaving the kernel as found (DESIGN decision 6): a child node process
// opens a session (instance + a uprobe in its own group), then dies in
// every way a run can end; tracefs must hold nothing of it afterwards,
// except after SIGKILL, where the next run's reaper removes it, and never
// removes a live run's.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reapLeftovers } from "../../runtime/tracefs/index.js";
import { compiledRuntime, exited, getppidProgram, leftovers, mainOffset, requireTracefs, startSessionChild, tracefsState } from "./support.js";

let child = "";
let before = "";

beforeAll(() => {
  requireTracefs();
  reapLeftovers();
  before = tracefsState();
  const js = compiledRuntime();
  const exe = getppidProgram();
  child = join(js, "child.mjs");
  writeFileSync(
    child,
    `import { TraceSession } from "./runtime/events/index.js";
const how = process.argv[2];
const s = TraceSession.open({ bufferKb: 64 });
s.addEvent({ system: "sched", event: "sched_switch" });
const g = s.instance.name;
s.addEvent({ system: g, event: "p0", define: "p:" + g + "/p0 ${exe}:0x${mainOffset(exe).toString(16)}" });
s.start();
process.stdout.write("ready " + g + "\\n");
if (how === "throw") setTimeout(() => { throw new Error("boom"); }, 50);
else if (how === "exit") setTimeout(() => process.exit(3), 50);
else if (how === "end") setTimeout(() => s.close(), 50);
else if (how === "runloop") process.on("SIGINT", () => setTimeout(() => { s.close(); process.stdout.write("closed by the run loop\\n"); process.exit(0); }, 20));
`,
  );
});

afterAll(() => {
  reapLeftovers();
  expect(tracefsState()).toBe(before);
});

function start(how: string): ReturnType<typeof startSessionChild> {
  return startSessionChild(child, how);
}

describe("cleanup on every way out", () => {
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    it(`${sig}: the process dies of the signal and leaves nothing`, async () => {
      const { p, name } = await start("wait");
      expect(leftovers(name)).toEqual([`instances/${name}`, `dynamic events of ${name}`]);
      p.kill(sig);
      const r = await exited(p);
      expect(r.signal).toBe(sig);
      expect(leftovers(name)).toEqual([]);
    });
  }

  for (const how of ["throw", "exit", "end"]) {
    it(`${how}: leaves nothing`, async () => {
      const { p, name } = await start(how);
      const r = await exited(p);
      if (how === "throw") expect(r.code).toBe(1);
      if (how === "exit") expect(r.code).toBe(3);
      if (how === "end") expect(r.code).toBe(0);
      expect(leftovers(name)).toEqual([]);
    });
  }

  it("SIGINT while a run loop listens: the run loop closes the session, the guard stays out of its way", async () => {
    const { p, name } = await start("runloop");
    let out = "";
    p.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    p.kill("SIGINT");
    const r = await exited(p);
    expect(r).toEqual({ code: 0, signal: null });
    expect(out).toBe("closed by the run loop\n");
    expect(leftovers(name)).toEqual([]);
  });

  it("SIGKILL leaves the run behind; the reaper removes it but never a live run's", async () => {
    const live = await start("wait");
    const dead = await start("wait");
    dead.p.kill("SIGKILL");
    await exited(dead.p);
    expect(leftovers(dead.name)).toEqual([`instances/${dead.name}`, `dynamic events of ${dead.name}`]);
    const removed = reapLeftovers();
    expect(removed).toEqual([`instances/${dead.name}`, `${dead.name}/p0`]);
    expect(leftovers(dead.name)).toEqual([]);
    expect(leftovers(live.name)).toEqual([`instances/${live.name}`, `dynamic events of ${live.name}`]);
    live.p.kill("SIGTERM");
    await exited(live.p);
    expect(leftovers(live.name)).toEqual([]);
  });
});
