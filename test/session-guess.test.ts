// The guess made from a script's text, before pass 1, of whether the run
// arms kernel events (src/session/session.ts): the instance is made then.
import { describe, expect, it } from "vitest";
import { textMayArmKernelEvents } from "../src/session/session.js";

describe("textMayArmKernelEvents", () => {
  it("says yes for a kernel probe point, in any place of a point list or an alias", () => {
    expect(textMayArmKernelEvents('global n; probe kernel.trace("syscalls:sys_enter_getppid") { n++ }')).toBe(true);
    expect(textMayArmKernelEvents("probe begin, syscall.open { exit() }")).toBe(true);
    expect(textMayArmKernelEvents('probe myopen = process("/bin/true").function("main") { }\nprobe myopen { }')).toBe(true);
  });

  it("says no for begin, end, error, never and timers, and for what comments and strings hold", () => {
    expect(textMayArmKernelEvents('probe begin { println("hello") exit() }')).toBe(false);
    expect(textMayArmKernelEvents("probe begin { } probe end { } probe error { } probe never { } probe timer.ms(100) { exit() }")).toBe(false);
    const commented = '# probe kernel.trace("x") {\n// probe syscall.open {\n/* probe kprobe.function("f") { */\nprobe begin { printf("probe process {") exit() }';
    expect(textMayArmKernelEvents(commented)).toBe(false);
  });
});
