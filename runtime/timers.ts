// timer.s/ms/us/ns/hz/jiffies(N)[.randomize(M)] as an event source.
//
// One driver timer wakes at the earliest due time; every timer that is due
// fires, in due-time order, as many times as its period elapsed (capped, so a
// 1ns timer cannot starve the loop). Randomized periods are drawn per firing
// in [N-M, N+M], as stap does.
//
// Before each firing, `catchUp(due)` lets the kernel event sources deliver
// the events recorded before the due time: stap runs its handlers as events
// happen, so a `timer.s(1)` that prints and clears per-second counts must
// count the events of that second, not those the last poll happened to read.

import type { EventSource, SourceContext } from "./run-loop.js";

interface TimerState {
  probeId: number;
  periodNs: bigint;
  randomizeNs: bigint;
  due: bigint;
}

const MAX_CATCH_UP = 1000;

function now(): bigint {
  return process.hrtime.bigint();
}

export class TimerSource implements EventSource {
  private timers: TimerState[] = [];
  private handle: NodeJS.Timeout | undefined;
  private ctx: SourceContext | undefined;

  constructor(
    specs: { probeId: number; periodNs: bigint; randomizeNs?: bigint }[],
    private readonly catchUp: (dueHrNs: bigint) => void = () => {},
  ) {
    for (const s of specs) this.timers.push({ probeId: s.probeId, periodNs: s.periodNs > 0n ? s.periodNs : 1n, randomizeNs: s.randomizeNs ?? 0n, due: 0n });
  }

  get empty(): boolean {
    return this.timers.length === 0;
  }

  private period(t: TimerState): bigint {
    if (t.randomizeNs === 0n) return t.periodNs;
    const span = Number(t.randomizeNs * 2n + 1n);
    const p = t.periodNs - t.randomizeNs + BigInt(Math.floor(Math.random() * span));
    return p > 0n ? p : 1n;
  }

  start(ctx: SourceContext): void {
    this.ctx = ctx;
    const t0 = now();
    for (const t of this.timers) t.due = t0 + this.period(t);
    this.schedule();
  }

  private schedule(): void {
    if (this.timers.length === 0 || !this.ctx) return;
    let next = this.timers[0]!.due;
    for (const t of this.timers) if (t.due < next) next = t.due;
    const ms = Number((next - now()) / 1_000_000n);
    this.handle = setTimeout(() => this.tick(), Math.max(0, ms));
  }

  private tick(): void {
    this.handle = undefined;
    const ctx = this.ctx;
    if (!ctx) return;
    const t = now();
    // all firings due by now, in time order
    const fired: { due: bigint; probeId: number }[] = [];
    for (const tm of this.timers) {
      let n = 0;
      while (tm.due <= t && n < MAX_CATCH_UP) {
        fired.push({ due: tm.due, probeId: tm.probeId });
        tm.due += this.period(tm);
        n++;
      }
      if (tm.due <= t) tm.due = t + this.period(tm);
    }
    fired.sort((a, b) => (a.due < b.due ? -1 : a.due > b.due ? 1 : 0));
    for (const f of fired) {
      if (!ctx.running()) break;
      this.catchUp(f.due);
      if (!ctx.running()) break;
      ctx.fire(f.probeId);
    }
    ctx.batchDone();
    if (ctx.running()) this.schedule();
  }

  stop(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    this.ctx = undefined;
  }
}

/** setTimeout for any delay (-T): Node's own fires at once beyond 2^31-1 ms (24.8 days), with a warning. */
export function longTimeout(ms: number, fn: () => void): { cancel(): void } {
  const MAX = 2 ** 31 - 1;
  let t: NodeJS.Timeout;
  const arm = (left: number): void => {
    t = setTimeout(() => (left > MAX ? arm(left - MAX) : fn()), Math.min(left, MAX));
  };
  arm(ms);
  return { cancel: () => clearTimeout(t) };
}
