import { describe, expect, it } from "vitest";
import { armedEvents } from "../../runtime/armed-events.js";
import type { KernelEventPlan } from "../../runtime/event-def.js";

const G = "${group}";

function uprobe(event: string, place: string, probe: number, args = "", extra: Partial<KernelEventPlan> = {}): KernelEventPlan {
  return { kind: "dynamic", system: G, event, definition: `p:${G}/${event} ${place}${args}`, dispatch: [{ how: "direct", probe }], tracksTasks: false, targetProcess: false, ...extra };
}

const tracepoint: KernelEventPlan = { kind: "tracepoint", system: "sched", event: "sched_process_exec", dispatch: [{ how: "direct", probe: 9 }], tracksTasks: true, targetProcess: false };

describe("armedEvents", () => {
  it("arms a marker's call sites (one probe, same argument names and types) as one event, without __site", () => {
    const plans = [uprobe("p0", "/bin/x:0x10(0x80)", 0, " arg1=%ax:s64"), uprobe("p1", "/bin/x:0x20(0x80)", 0, " arg1=+8(%sp):s64"), uprobe("p2", "/bin/x:0x30(0x80)", 0, " arg1=\\7:s64")];
    expect(armedEvents(plans, { multiProbe: true })).toEqual([
      { first: 0, classes: [[0, 1, 2]], lines: [`p:${G}/p0 /bin/x:0x10(0x80) arg1=%ax:s64`, `p:${G}/p0 /bin/x:0x20(0x80) arg1=+8(%sp):s64`, `p:${G}/p0 /bin/x:0x30(0x80) arg1=\\7:s64`] },
    ]);
  });

  it("merges counted probes whatever they fire (uprobe_profile lists each probe's count in uprobe_events' order), never with recorded ones", () => {
    const counted = { counted: true };
    const plans = [uprobe("p0", "/lib/c.so:0x10", 0, "", counted), uprobe("p1", "/lib/c.so:0x20", 1, "", counted), uprobe("p2", "/lib/c.so:0x30", 0, "", counted), uprobe("p3", "/lib/c.so:0x40", 0)];
    expect(armedEvents(plans, { multiProbe: true })).toEqual([
      { first: 0, classes: [[0, 2], [1]], lines: [`p:${G}/p0 /lib/c.so:0x10 __site=\\0:u32`, `p:${G}/p0 /lib/c.so:0x20 __site=\\1:u32`, `p:${G}/p0 /lib/c.so:0x30 __site=\\0:u32`] },
      { first: 3, classes: [[3]], lines: [`p:${G}/p3 /lib/c.so:0x40`] },
    ]);
  });

  it("tags the probes of one event with __site when they fire different probes", () => {
    const plans = [uprobe("p0", "/lib/c.so:0x10", 0), uprobe("p1", "/lib/c.so:0x20", 1), uprobe("p2", "/lib/c.so:0x30", 0)];
    expect(armedEvents(plans, { multiProbe: true })).toEqual([
      { first: 0, classes: [[0, 2], [1]], lines: [`p:${G}/p0 /lib/c.so:0x10 __site=\\0:u32`, `p:${G}/p0 /lib/c.so:0x20 __site=\\1:u32`, `p:${G}/p0 /lib/c.so:0x30 __site=\\0:u32`] },
    ]);
  });

  it("keeps apart what cannot share an event: return probes, other argument types, filters, the same place twice, tracepoints", () => {
    const plans = [
      uprobe("p0", "/lib/c.so:0x10", 0, " a=%di:s64"),
      { ...uprobe("p1", "/lib/c.so:0x20", 1, " a=%di:s64"), definition: `r:${G}/p1 /lib/c.so:0x20 a=%di:s64` },
      uprobe("p2", "/lib/c.so:0x30", 2, " a=%di:u32"),
      uprobe("p3", "/lib/c.so:0x40", 3, " a=%di:s64", { filter: "a == 1" }),
      uprobe("p4", "/lib/c.so:0x10", 4, " a=%si:s64"),
      uprobe("p5", "/lib/c.so:0x50", 5, " a=%dx:s64"),
      tracepoint,
    ];
    const armed = armedEvents(plans, { multiProbe: true });
    expect(armed.map((a) => a.classes)).toEqual([[[0], [5]], [[1]], [[2]], [[3]], [[4]], [[6]]]);
    expect(armed[0]!.lines).toEqual([`p:${G}/p0 /lib/c.so:0x10 a=%di:s64 __site=\\0:u32`, `p:${G}/p0 /lib/c.so:0x50 a=%dx:s64 __site=\\1:u32`]);
    expect(armed[4]!.lines).toEqual([`p:${G}/p4 /lib/c.so:0x10 a=%si:s64`]);
    expect(armed[5]).toEqual({ first: 6, classes: [[6]] });
  });

  it("arms every plan as its own event where the kernel cannot hold many probes in one", () => {
    const plans = [uprobe("p0", "/bin/x:0x10", 0), uprobe("p1", "/bin/x:0x20", 0)];
    expect(armedEvents(plans, { multiProbe: false })).toEqual([
      { first: 0, classes: [[0]], lines: [`p:${G}/p0 /bin/x:0x10`] },
      { first: 1, classes: [[1]], lines: [`p:${G}/p1 /bin/x:0x20`] },
    ]);
  });
});
