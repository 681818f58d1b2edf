import { describe, expect, it, vi } from "vitest";
import { longTimeout, TimerSource } from "../../runtime/timers.js";
import type { SourceContext } from "../../runtime/run-loop.js";

describe("TimerSource", () => {
  it("lets the event sources catch up to each firing's due time before its handler runs", async () => {
    const log: string[] = [];
    const dues: bigint[] = [];
    let fired = 0;
    let running = true;
    let finish = (): void => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    const ctx: SourceContext = {
      fire: (id) => {
        log.push(`fire ${id}`);
        if (++fired === 3) {
          running = false;
          finish();
        }
      },
      batchDone: () => {},
      running: () => running,
      requestStop: () => {},
    };
    const t0 = process.hrtime.bigint();
    const timers = new TimerSource([{ probeId: 7, periodNs: 2_000_000n }], (due) => {
      log.push("catch up");
      dues.push(due);
      expect(due > t0 && due <= process.hrtime.bigint()).toBe(true);
    });
    timers.start(ctx);
    await done;
    timers.stop();
    expect(log).toEqual(["catch up", "fire 7", "catch up", "fire 7", "catch up", "fire 7"]);
    expect(dues[1]! - dues[0]!).toBe(2_000_000n);
    expect(dues[2]! - dues[1]!).toBe(2_000_000n);
  });
});

describe("longTimeout", () => {
  it("waits delays beyond Node's 2^31-1 ms limit, and can be cancelled", () => {
    vi.useFakeTimers();
    try {
      let fired = 0;
      longTimeout(2147484 * 1000, () => fired++);
      vi.advanceTimersByTime(2 ** 31 - 1);
      expect(fired).toBe(0);
      vi.advanceTimersByTime(2147484 * 1000 - (2 ** 31 - 1) - 1);
      expect(fired).toBe(0);
      vi.advanceTimersByTime(1);
      expect(fired).toBe(1);
      const t = longTimeout(5, () => fired++);
      t.cancel();
      vi.advanceTimersByTime(10);
      expect(fired).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
