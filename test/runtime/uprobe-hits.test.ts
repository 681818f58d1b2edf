import { describe, expect, it } from "vitest";
import { uprobeHitsByPlace } from "../../runtime/events/kernel-session.js";
import { uprobePlaceKey } from "../../runtime/kernel-source.js";

// the two files as this kernel prints them: an event with three probes (one
// behind a semaphore), another run's event on the same file between them,
// and a return probe of ours
const EVENTS = [
  "p:tstap_1_0/p0_tstap_1_0 /tmp/uc:0x0000000000001211",
  "p:tstap_9_0/p0_tstap_9_0 /tmp/uc:0x0000000000001209",
  "p:tstap_1_0/p0_tstap_1_0 /tmp/uc:0x0000000000001209 __site=\\1:u32",
  "p:tstap_1_0/p0_tstap_1_0 /lib/c.so:0x0000000000000040(0x88) __site=\\2:u32",
  "r:tstap_1_0/p3_tstap_1_0 /tmp/uc:0x0000000000001215",
  "",
].join("\n");
const PROFILE = [
  "  /tmp/uc p0_tstap_1_0                                             1",
  "  /tmp/uc p0_tstap_9_0                                           700",
  "  /tmp/uc p0_tstap_1_0                                             5",
  "  /lib/c.so p0_tstap_1_0                                           3",
  "  /tmp/uc p3_tstap_1_0                                            12",
  "",
].join("\n");

describe("uprobe_profile's counts by place", () => {
  it("gives each probe of an event the count on its line, in uprobe_events' order, leaving out other runs' events", () => {
    const ours = new Map([
      ["p0_tstap_1_0", "p0"],
      ["p3_tstap_1_0", "p3"],
    ]);
    const hits = uprobeHitsByPlace(EVENTS, PROFILE, "tstap_1_0", ours);
    expect(hits).toEqual(
      new Map([
        [
          "p0",
          new Map([
            ["/tmp/uc:1211", 1],
            ["/tmp/uc:1209", 5],
            ["/lib/c.so:40", 3],
          ]),
        ],
        ["p3", new Map([["/tmp/uc:1215", 12]])],
      ]),
    );
  });

  it("keys a place the same way as tstap writes it and as uprobe_events lists it", () => {
    expect(uprobePlaceKey("/tmp/uc:0x1209")).toBe("/tmp/uc:1209");
    expect(uprobePlaceKey("/tmp/uc:0x0000000000001209")).toBe("/tmp/uc:1209");
    expect(uprobePlaceKey("/lib/c.so:0x40(0x88)")).toBe("/lib/c.so:40");
    expect(uprobePlaceKey("/odd:dir/x:0x0a")).toBe("/odd:dir/x:a");
  });
});
