// A uprobe's offset belongs to the file pass 2 read: arming refuses a file
// replaced since (the check runs after the session opens, just before the
// definitions are written), and the end of the run warns when it changed
// meanwhile. A fake session records what would have reached tracefs.

import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ArmingError, KernelEventSource, type KernelTraceSession } from "../runtime/kernel-source.js";
import { GROUP_TOKEN, type KernelEventPlan } from "../runtime/event-def.js";
import { probedObject, probedObjectChange, readElf } from "../src/targets/elf/elf.js";
import { elfFixtures } from "./support/build-fixture.js";
import type { SourceContext } from "../runtime/run-loop.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fakeSession(log: string[]): KernelTraceSession {
  let handles = 0;
  return {
    traceClock: "mono",
    addEvent: async (system, event, _filter, define) => {
      log.push(`add ${define ?? `${system}:${event}`}`);
      return ++handles;
    },
    setEventPids: async () => undefined,
    setOption: async () => undefined,
    start: async () => undefined,
    catchUp: () => undefined,
    drain: async () => undefined,
    close: async () => {
      log.push("close");
      return { lost: 0 };
    },
  };
}

const ctx: SourceContext = { fire: () => undefined, batchDone: () => undefined, running: () => true, requestStop: () => undefined };

function uprobePlan(path: string): KernelEventPlan {
  const elf = readElf(path);
  return { kind: "dynamic", system: GROUP_TOKEN, event: "p0", dispatch: [], tracksTasks: false, targetProcess: false, definition: `p:${GROUP_TOKEN}/p0 ${path}:0x1000`, object: probedObject(path, elf) };
}

function probedCopy(): { path: string; buildId: string; other: string } {
  const dir = mkdtempSync(join(tmpdir(), "tstap-objects-"));
  dirs.push(dir);
  const path = join(dir, "prog");
  copyFileSync(elfFixtures.pie(), path);
  return { path, buildId: readElf(path).buildId!, other: readElf(elfFixtures.dwarf4()).buildId! };
}

describe("probed files", () => {
  it("are not armed when replaced between pass 2 and arming", async () => {
    const f = probedCopy();
    const log: string[] = [];
    const source = new KernelEventSource([uprobePlan(f.path)], async () => {
      // replaced while the session opened
      copyFileSync(elfFixtures.dwarf4(), f.path);
      return fakeSession(log);
    }, { targetPid: () => 0, warn: (m) => log.push(`warn ${m}`), objectChange: probedObjectChange });
    const started = source.start(ctx);
    await expect(started).rejects.toBeInstanceOf(ArmingError);
    await expect(started).rejects.toThrow(`Build-id mismatch [man error::buildid]: '${f.path}' changed since tstap read it (build-id ${f.buildId} is now ${f.other}); its probes were not armed`);
    expect(log).toEqual([]);
  });

  it("warn at the end when they changed during the run", async () => {
    const f = probedCopy();
    const log: string[] = [];
    const source = new KernelEventSource([uprobePlan(f.path)], async () => fakeSession(log), { targetPid: () => 0, warn: (m) => log.push(`warn ${m}`), objectChange: probedObjectChange });
    await source.start(ctx);
    copyFileSync(elfFixtures.dwarf4(), f.path);
    await source.stop();
    expect(log).toEqual([
      `add p:${GROUP_TOKEN}/p0 ${f.path}:0x1000`,
      `warn Build-id mismatch [man warning::buildid]: '${f.path}' changed since tstap read it (build-id ${f.buildId} is now ${f.other}), during the run: its probes stayed at the offsets of the file as it was`,
      "close",
    ]);
  });

  it("say nothing when the file is the same build, copied or touched", async () => {
    const f = probedCopy();
    const log: string[] = [];
    const source = new KernelEventSource([uprobePlan(f.path)], async () => fakeSession(log), { targetPid: () => 0, warn: (m) => log.push(`warn ${m}`), objectChange: probedObjectChange });
    await source.start(ctx);
    copyFileSync(elfFixtures.pie(), f.path);
    await source.stop();
    expect(log).toEqual([`add p:${GROUP_TOKEN}/p0 ${f.path}:0x1000`, "close"]);
  });
});
