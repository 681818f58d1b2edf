// USDT end to end: one marker (test/fixtures/usdt_forms.c's semaphore-guarded
// tstapfix:guarded) hit 1,000,000 times by a program under -c, counted by
// tstap and by bpftrace's usdt: probe on the same program, in this one run.

import { benchAgainstBpftrace, buildFixture, HITS } from "./against-bpftrace.js";

export async function benchUsdt(): Promise<string[]> {
  const prog = buildFixture("usdt_forms.c", "usdt_forms");
  return benchAgainstBpftrace({
    prog,
    args: [String(HITS)],
    untracedWhat: `marker not enabled, ${HITS} loop turns`,
    tstap: `global n; probe process("${prog}").mark("guarded") { n++ } probe end { printf("%d\\n", n) }`,
    tstapWhat: "count the marker",
    bpftrace: `usdt:${prog}:tstapfix:guarded { @n = count(); }`,
    bpftraceWhat: "usdt: count",
  });
}
