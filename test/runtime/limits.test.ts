import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, applyDefines, flags, limits, limitsFromDefines, maxStringBytes, resetLimits, truncateString } from "../../runtime/limits.js";
import { readLimits } from "../../src/translate/limits.js";
import type { Diagnostic } from "../../src/diagnostic.js";

afterEach(() => resetLimits());

describe("limits", () => {
  it("has stap's 64-bit defaults", () => {
    expect(DEFAULT_LIMITS.MAXSTRINGLEN).toBe(512);
    expect(DEFAULT_LIMITS.MAXMAPENTRIES).toBe(2048);
    expect(DEFAULT_LIMITS.MAXACTION).toBe(1000);
    expect(DEFAULT_LIMITS.MAXACTION_INTERRUPTIBLE).toBe(10000);
    expect(DEFAULT_LIMITS.MAXNESTING).toBe(10);
    expect(DEFAULT_LIMITS.MAXTRYLOCK).toBe(100);
    expect(DEFAULT_LIMITS.MAXERRORS).toBe(0);
    expect(DEFAULT_LIMITS.MAXSKIPPED).toBe(100);
    expect(DEFAULT_LIMITS.MAXBACKTRACE).toBe(20);
    expect(maxStringBytes()).toBe(511);
  });
  it("applies -D overrides", () => {
    applyDefines(["MAXSTRINGLEN=16", "MAXMAPENTRIES=0x10", "MAXACTION=5", "STP_NO_OVERLOAD"]);
    expect(limits.MAXSTRINGLEN).toBe(16);
    expect(limits.MAXMAPENTRIES).toBe(16);
    expect(limits.MAXACTION).toBe(5);
    expect(limits.MAXACTION_INTERRUPTIBLE).toBe(50);
    expect(flags.has("STP_NO_OVERLOAD")).toBe(true);
    expect(truncateString("x".repeat(40))).toBe("x".repeat(15));
    applyDefines(["MAXACTION_INTERRUPTIBLE=7", "MAXACTION=9"]);
    expect(limits.MAXACTION_INTERRUPTIBLE).toBe(7);
  });
  it("rejects a limit without a number", () => {
    expect(() => applyDefines(["MAXMAPENTRIES=lots"])).toThrow("-D MAXMAPENTRIES needs an integer value, as in -D MAXMAPENTRIES=2048");
    expect(() => applyDefines(["MAXNESTING"])).toThrow("-D MAXNESTING needs an integer value");
    expect(() => applyDefines(["1BAD=2"])).toThrow("invalid -D macro name '1BAD'");
  });
  it("lifts MAXACTION for STAP_SUPPRESS_TIME_LIMITS_ENABLE and keeps a string byte", () => {
    const r = limitsFromDefines(["MAXACTION=3", "STAP_SUPPRESS_TIME_LIMITS_ENABLE", "MAXSTRINGLEN=0"]);
    expect(r.limits.MAXACTION).toBe(Number.MAX_SAFE_INTEGER);
    expect(r.limits.MAXACTION_INTERRUPTIBLE).toBe(Number.MAX_SAFE_INTEGER);
    expect(r.limits.MAXSTRINGLEN).toBe(1);
    expect([...r.flags]).toEqual(["STAP_SUPPRESS_TIME_LIMITS_ENABLE"]);
    expect(limits.MAXACTION).toBe(1000); // the live limits are untouched
  });
  it("gives code generation the limits the runtime will apply, or a translate error", () => {
    const diags: Diagnostic[] = [];
    const l = readLimits(new Map([["MAXNESTING", "0x20"], ["MAXACTION", "7"], ["FOO", ""]]), diags);
    expect(diags).toEqual([]);
    expect(l).toMatchObject({ MAXNESTING: 32, MAXACTION: 7, MAXACTION_INTERRUPTIBLE: 70, MAXSTRINGLEN: 512 });
    const bad = readLimits(new Map([["MAXERRORS", "many"]]), diags);
    expect(bad.MAXERRORS).toBe(0);
    expect(diags.map((d) => d.message)).toEqual(["-D MAXERRORS needs an integer value, as in -D MAXERRORS=0"]);
  });
});
