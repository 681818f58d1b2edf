// The wall clock the time functions answer with is the kernel's, to well under
// a millisecond (Node itself only reads the wall clock to the millisecond).

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { realtimeOffsetNs, resetClockBase } from "../../runtime/clock.js";

describe("clock pairing", () => {
  it("pairs the wall clock with the monotonic clock to a few microseconds", () => {
    const dir = mkdtempSync(join(tmpdir(), "tstap-clock-"));
    try {
      // CLOCK_REALTIME - CLOCK_MONOTONIC as C reads them, in ns
      writeFileSync(
        join(dir, "off.c"),
        `#include <stdio.h>
#include <time.h>
int main(void) { struct timespec r, m; clock_gettime(CLOCK_MONOTONIC, &m); clock_gettime(CLOCK_REALTIME, &r);
  printf("%lld\\n", (long long)(r.tv_sec - m.tv_sec) * 1000000000LL + (r.tv_nsec - m.tv_nsec)); return 0; }
`,
      );
      execFileSync("gcc", ["-O2", "-o", join(dir, "off"), join(dir, "off.c")]);
      for (let i = 0; i < 5; i++) {
        resetClockBase();
        const ours = realtimeOffsetNs();
        const kernel = BigInt(execFileSync(join(dir, "off")).toString().trim());
        const err = Number(ours - kernel);
        // Date.now() alone would be off by up to 1,000,000 ns
        expect(Math.abs(err), `pairing ${i} off by ${err} ns`).toBeLessThan(50_000);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      resetClockBase();
    }
  });
});
