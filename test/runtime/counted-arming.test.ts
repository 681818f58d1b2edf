// How an event counted in the kernel with no target is armed: soft-disabled
// where the session can (a hit returns before the ring buffer), else under a
// filter no record passes; at the end it is disabled before the kernel's
// count is read, and the count goes to the probe's counter. A fake session
// records what would have reached tracefs.

import { describe, expect, it } from "vitest";
import { KernelEventSource, RECORD_NOTHING, uprobePlaceKey, type KernelTraceSession } from "../../runtime/kernel-source.js";
import { GROUP_TOKEN, type KernelEventPlan } from "../../runtime/event-def.js";
import type { SourceContext } from "../../runtime/run-loop.js";

const LINE = `p:${GROUP_TOKEN}/p0 /bin/true:0x1000`;

function countedPlan(): KernelEventPlan {
  return { kind: "dynamic", system: GROUP_TOKEN, event: "p0", dispatch: [{ how: "direct", probe: 0 }], tracksTasks: false, targetProcess: false, definition: LINE, counted: true };
}

function fakeSession(log: string[], opts: { soft: "yes" | "no" | "absent" }): KernelTraceSession {
  let handles = 0;
  let hits = 100;
  const s: KernelTraceSession = {
    traceClock: "mono",
    addEvent: async (_system, _event, filter, define) => {
      log.push(`add ${String(define)} filter ${filter ?? "none"}`);
      return ++handles;
    },
    setEventPids: async () => undefined,
    setOption: async (name, on) => {
      log.push(`option ${name} ${on}`);
    },
    disableEvent: async (handle) => {
      log.push(`disable ${handle}`);
    },
    // 100 hits before tracing starts (not the run's), 1234 more by the end
    uprobeHits: () => {
      const n = hits;
      hits = 1334;
      log.push(`uprobe_profile ${n}`);
      // by event, then by place (the one probe of p0 here)
      return new Map([["p0", new Map([[uprobePlaceKey("/bin/true:0x1000"), n]])]]);
    },
    start: async () => undefined,
    catchUp: () => undefined,
    drain: async () => undefined,
    close: async () => {
      log.push("close");
      return { lost: 0 };
    },
  };
  if (opts.soft !== "absent") {
    s.addCountedEvent = async (define) => {
      log.push(`soft ${String(define)}`);
      return opts.soft === "yes" ? ++handles + 100 : undefined;
    };
  }
  return s;
}

function context(counts: string[]): SourceContext {
  return { fire: () => undefined, batchDone: () => undefined, running: () => true, requestStop: () => undefined, count: (probe, n) => counts.push(`probe ${probe}: ${n}`) };
}

async function run(soft: "yes" | "no" | "absent", plans: KernelEventPlan[] = [countedPlan()]): Promise<{ log: string[]; counts: string[] }> {
  const log: string[] = [];
  const counts: string[] = [];
  const source = new KernelEventSource(plans, async () => fakeSession(log, { soft }), { targetPid: () => 0, warn: (m) => log.push(`warn ${m}`) });
  await source.start(context(counts));
  await source.stop();
  await source.release();
  return { log, counts };
}

describe("an event counted in the kernel, no target", () => {
  it("is armed soft-disabled, disabled through its own handle before the count is read", async () => {
    const { log, counts } = await run("yes");
    expect(log).toEqual([`soft ${LINE}`, "uprobe_profile 100", "disable 101", "uprobe_profile 1334", "close"]);
    expect(counts).toEqual(["probe 0: 1234"]);
  });

  it("records no tgids when every event is counted (its records are only counted), and does otherwise", async () => {
    expect((await run("yes")).log).not.toContain("option record-tgid true");
    const exec: KernelEventPlan = { kind: "tracepoint", system: "sched", event: "sched_process_exec", dispatch: [{ how: "direct", probe: 1 }], tracksTasks: true, targetProcess: false };
    const { log, counts } = await run("yes", [countedPlan(), exec]);
    expect(log[0]).toBe("option record-tgid true");
    expect(log.some((l) => l.startsWith("add undefined filter"))).toBe(true);
    expect(counts).toEqual(["probe 0: 1234"]);
  });

  it("falls back to a filter no record passes where the kernel cannot soft-disable it", async () => {
    for (const soft of ["no", "absent"] as const) {
      const { log, counts } = await run(soft);
      expect(log).toEqual([...(soft === "no" ? [`soft ${LINE}`] : []), `add ${LINE} filter ${RECORD_NOTHING}`, "uprobe_profile 100", "disable 1", "uprobe_profile 1334", "close"]);
      expect(counts).toEqual(["probe 0: 1234"]);
    }
  });
});
