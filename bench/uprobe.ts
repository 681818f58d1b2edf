// Uprobe end to end: test/fixtures/uprobe_calls.c calls its noinline
// add_pair() 1,000,000 times under -c; tstap's process().function() probe
// and bpftrace's uprobe: count the calls on the same program, in this one run.

import { benchAgainstBpftrace, buildFixture, HITS } from "./against-bpftrace.js";

export async function benchUprobe(): Promise<string[]> {
  const prog = buildFixture("uprobe_calls.c", "uprobe_calls");
  return benchAgainstBpftrace({
    prog,
    args: [String(HITS)],
    untracedWhat: `${HITS} add_pair() calls`,
    tstap: `global n; probe process("${prog}").function("add_pair") { n++ } probe end { printf("%d\\n", n) }`,
    tstapWhat: "count add_pair()",
    bpftrace: `uprobe:${prog}:add_pair { @n = count(); }`,
    bpftraceWhat: "uprobe: count",
  });
}
