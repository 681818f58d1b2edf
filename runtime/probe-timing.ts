// `-t`: each probe's hits and the time its handler took, reported after the
// run in stap's "probe hit report" shape. stap counts CPU cycles spent in
// the handler inside the kernel (or nanoseconds, in its user-space runtimes
// and under STP_TIMING_NSECS); tstap measures the nanoseconds its
// JavaScript handler runs for one event, on a monotonic clock — the time
// from the event's delivery to tstap until the handler returns, not the
// kernel's cost of recording the event, which happens before and outside it.

import { Stat } from "./stats.js";
import type { UnitProbe } from "./unit.js";

export class ProbeTiming {
  private readonly stats = new Map<number, Stat>();

  /** Run the handler, adding its duration to the probe's statistic. */
  measure(probeId: number, handler: () => void): void {
    const start = process.hrtime.bigint();
    try {
      handler();
    } finally {
      const ns = process.hrtime.bigint() - start;
      let s = this.stats.get(probeId);
      if (!s) this.stats.set(probeId, (s = new Stat()));
      s.add(ns);
    }
  }

  /**
   * stap's report: a header, then one line per probe that fired, in probe
   * order: `PP, (FILE:LINE:COL), hits: N, nsecs: MINmin/AVGavg/MAXmax, variance: V, from: ..., index: I`.
   */
  report(probes: readonly UnitProbe[]): string {
    let out = "----- probe hit report: \n";
    for (const p of probes) {
      const s = this.stats.get(p.id);
      if (!s || s.count === 0) continue;
      const from = (p.derivation ?? [p.pp]).map((d) => ` from: ${d}`).join("");
      out += `${p.pp}, (${p.at}), hits: ${s.count}, nsecs: ${s.min()}min/${s.avg()}avg/${s.max()}max, variance: ${s.variance()},${from}, index: ${p.id}\n`;
    }
    return out;
  }
}
