// Pass 4's check of event definitions against a kernel's tracefs
// (src/load/validate.ts), on hand-made plans and capabilities: every
// definition is checked before anything is armed, and an error names the
// probe point, where it was written, and what the kernel lacks.

import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kernelCanCount, validateEvents } from "../src/load/validate.js";
import type { Plan } from "../src/translate/plan.js";
import type { Capabilities } from "../src/load/tracefs/index.js";
import type { EventDef } from "../runtime/event-def.js";

const root = mkdtempSync(join(tmpdir(), "tstap-tracefs-"));
mkdirSync(join(root, "events/sched/sched_switch"), { recursive: true });
writeFileSync(join(root, "events/sched/sched_switch/format"), "name: sched_switch\n");

const caps = (over: Partial<Capabilities> = {}): Capabilities => ({
  root,
  writable: true,
  instances: true,
  tracePipeRaw: true,
  dynamicEvents: true,
  kprobeEvents: false,
  uprobeEvents: true,
  userStackTrace: true,
  recordTgid: true,
  eventFork: true,
  setEventPid: true,
  setEventNotracePid: true,
  uprobeProfile: true,
  bufferPercent: true,
  subbufSize: false,
  ...over,
});

const pos = { file: "t.stp", line: 3, col: 1, offset: 20 };

function plan(events: EventDef[]): Plan {
  return {
    program: { files: [], globals: [], functions: [], probes: [], args: [], defines: new Map() },
    code: "",
    probes: [{ id: 0, trigger: { kind: "event", event: 0 }, pp: 'kernel.function("vfs_read")', at: "t.stp:3:1", pos, handler: "$probe_0", interruptible: false }],
    events,
    limits: { MAXSTRINGLEN: 512, MAXMAPENTRIES: 2048, MAXACTION: 1000, MAXACTION_INTERRUPTIBLE: 10000, MAXNESTING: 10, MAXERRORS: 0, MAXSKIPPED: 100 },
  };
}

const common = { probes: [0], dispatch: [{ how: "direct" as const, probe: 0 }], tracksTasks: false, targetProcess: false };
const kprobe: EventDef = { ...common, kind: "dynamic", probeType: "kprobe", system: "${group}", event: "p0", definition: "p:${group}/p0 vfs_read count=%dx:u64", place: "vfs_read", fetchArgs: [{ name: "count", fetch: "%dx", type: "u64", scriptType: "long" }] };
const uprobe: EventDef = { ...common, kind: "dynamic", probeType: "uprobe", system: "${group}", event: "p0", definition: "p:${group}/p0 /bin/true:0x1040 x=%di:s64", place: "/bin/true:0x1040", fetchArgs: [{ name: "x", fetch: "%di", type: "s64", scriptType: "long" }] };

describe("pass 4 validation", () => {
  it("names the probe point and the capability a kernel lacks", () => {
    const d = validateEvents(plan([kprobe]), caps());
    expect(d.map((x) => [x.kind, x.message, x.pos])).toEqual([
      ["load error", "probe point 'kernel.function(\"vfs_read\")' needs kprobe_events (CONFIG_KPROBE_EVENTS), which this kernel does not have", pos],
    ]);
    expect(validateEvents(plan([kprobe]), caps({ kprobeEvents: true }))).toEqual([]);
  });

  it("checks dynamic lines and filters with the tracefs gate", () => {
    expect(validateEvents(plan([uprobe]), caps())).toEqual([]);
    const bad = { ...uprobe, definition: "p:${group}/p0 /bin/true:0x1040 x=%di:s64\n-:other/ev" } as EventDef;
    expect(validateEvents(plan([bad]), caps())[0]!.message).toMatch(/^probe point 'kernel.function\("vfs_read"\)' cannot be defined: refusing to write dynamic event definition .* it contains a newline$/);
    const tp: EventDef = { ...common, kind: "tracepoint", system: "sched", event: "sched_switch", definition: "sched:sched_switch", filter: "prev_comm == \"a\\\"b\"" };
    expect(validateEvents(plan([tp]), caps())[0]!.message).toMatch(/has a filter tracefs would not take: .*backslash/);
  });

  it("checks tracepoints exist and the pid selection is possible", () => {
    const missing: EventDef = { ...common, kind: "tracepoint", system: "sched", event: "nope", definition: "sched:nope" };
    expect(validateEvents(plan([missing]), caps())[0]!.message).toBe("probe point 'kernel.function(\"vfs_read\")' needs the tracepoint sched:nope, which this kernel does not have");
    const target: EventDef = { ...common, kind: "tracepoint", system: "sched", event: "sched_switch", definition: "sched:sched_switch", targetProcess: true };
    expect(validateEvents(plan([target]), caps({ setEventPid: false }))[0]!.message).toMatch(/needs set_event_pid/);
    expect(validateEvents(plan([target]), caps({ unusable: "not root", writable: false }))[0]!.message).toBe("probe point 'kernel.function(\"vfs_read\")' needs tracefs, which cannot be used here: not root");
  });
});

describe("pass 4: probes counted in the kernel", () => {
  const counted: EventDef = { ...uprobe, fetchArgs: [], definition: "p:${group}/p0 /bin/true:0x1040", counted: true };
  it("fall back to a record per hit where the kernel cannot count them", () => {
    expect(kernelCanCount(counted, caps())).toBe(true);
    expect(kernelCanCount(counted, caps({ uprobeProfile: false }))).toBe(false);
    // no target: nothing to leave out, set_event_notrace_pid not needed
    expect(kernelCanCount(counted, caps({ setEventNotracePid: false }))).toBe(true);
    expect(kernelCanCount({ ...counted, targetProcess: true }, caps({ setEventNotracePid: false }))).toBe(false);
    expect(kernelCanCount({ ...counted, targetProcess: true }, caps())).toBe(true);
  });
});
