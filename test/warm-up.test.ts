// The startup snapshot's warm-up (src/cli/warm.ts) runs passes 1-4 on the
// build host, then forgets every answer of that host (runtime/host-state.ts):
// a run after it must read the host again, every file a fresh process reads.
// A cache left out of the registry keeps the build host's tracefs formats,
// capabilities or kernel config in every run started from the snapshot, and
// shows here as a file the second run no longer reads.

import * as fs from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { requireKernelTracing } from "./support/kernel-gate.js";

const reads = new Set<string>();
let recording = false;

vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  const spy =
    <F extends (...a: never[]) => unknown>(name: string, f: F): F =>
    ((...a: Parameters<F>) => {
      if (recording && typeof a[0] === "string") reads.add(`${a[0]} ${name}`);
      return f(...a);
    }) as F;
  const wrapped = {
    ...real,
    readFileSync: spy("readFileSync", real.readFileSync),
    existsSync: spy("existsSync", real.existsSync),
    statSync: spy("statSync", real.statSync),
    readdirSync: spy("readdirSync", real.readdirSync),
    openSync: spy("openSync", real.openSync),
  };
  return { ...wrapped, default: wrapped };
});

const { main } = await import("../src/cli/main.js");
const { warmPasses } = await import("../src/cli/warm.js");

const checkout = join(import.meta.dirname, "..");
const script = 'global n; probe kernel.trace("syscalls:sys_enter_getppid") { if (pid() == target()) n++ } probe end { println(n) }';

/** The host files (outside the checkout) that passes 1-4 of `script` look at, each with how ("PATH readFileSync"). */
async function hostReads(): Promise<string[]> {
  reads.clear();
  recording = true;
  try {
    // tracefs unusable: the gate says why (it is asked only then, as its probe would fill the caches)
    if ((await main(["-p4", "-e", script, "-c", "true"])) !== 0) requireKernelTracing();
  } finally {
    recording = false;
  }
  return [...reads].filter((p) => !p.startsWith(checkout)).sort();
}

describe("the snapshot's warm-up", () => {
  it("leaves nothing of the host it ran on: a run after it reads what a fresh one reads", async () => {
    const fresh = await hostReads();
    // what the passes ask of this host: the tracepoint, its format and the capabilities
    expect(fresh).toContain("/sys/kernel/tracing/events/syscalls/sys_enter_getppid/format readFileSync");
    expect(fresh).toContain("/sys/kernel/tracing/set_event_pid existsSync");
    expect(await warmPasses(checkout)).toEqual([]);
    expect(await hostReads()).toEqual(fresh);
  });
});
