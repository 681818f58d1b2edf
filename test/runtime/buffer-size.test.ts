// -s MB is sized against the memory available: the kernel allocates MB for
// every online CPU in one write, and an impossible size must be refused with
// a clear message before anything is armed, never attempted.

import { describe, expect, it } from "vitest";
import { bufferSizeProblem } from "../../runtime/tracefs/instance.js";

describe("bufferSizeProblem", () => {
  it("accepts what fits in half the available memory", () => {
    expect(bufferSizeProblem(16, 2, 2_000_000)).toBeUndefined();
    expect(bufferSizeProblem(4095, 2, 24_000_000)).toBeUndefined();
  });
  it("refuses 4095 MB for each CPU of a 2 GB machine, saying what would fit", () => {
    expect(bufferSizeProblem(4095, 2, 1_800_000)).toBe(
      "-s 4095: 4095 MB of trace buffer for each of 2 CPUs (8190 MB) is more than half of the 1757 MB of memory available; use -s 439 or less",
    );
  });
  it("counts every instance of the run (a scope for -c beside unscoped probes)", () => {
    expect(bufferSizeProblem(300, 2, 2_000_000)).toBeUndefined();
    expect(bufferSizeProblem(300, 2, 2_000_000, 2)).toBe(
      "-s 300: 300 MB of trace buffer for each of 2 CPUs in each of 2 instances (1200 MB) is more than half of the 1953 MB of memory available; use -s 244 or less",
    );
  });
  it("says so when nothing fits", () => {
    expect(bufferSizeProblem(1, 64, 100_000)).toBe(
      "-s 1: 1 MB of trace buffer for each of 64 CPUs (64 MB) is more than half of the 97 MB of memory available; there is not enough memory for a trace buffer",
    );
  });
});
