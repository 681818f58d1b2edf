// `npm run bench`: every benchmark, each printing its ratios measured in this one run.

interface Bench {
  title: string;
  module: string;
  entry: string;
}

const benches: Bench[] = [
  { title: "pass 1: parsing a 20,000-line script", module: "./parse.js", entry: "benchParse" },
  { title: "language core: startup and a 10M-iteration loop", module: "./lang.js", entry: "benchLang" },
  { title: "event pipeline: decode and dispatch firehose", module: "./firehose.js", entry: "benchFirehose" },
  { title: "kernel end to end: 1M getppid events", module: "./e2e-kernel.js", entry: "benchE2eKernel" },
  { title: "USDT end to end: one marker hit 1M times, tstap against bpftrace usdt:", module: "./usdt.js", entry: "benchUsdt" },
  { title: "uprobe end to end: a function called 1M times, tstap against bpftrace uprobe:", module: "./uprobe.js", entry: "benchUprobe" },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  let failed = 0;
  for (const b of benches) {
    if (only.length > 0 && !only.some((o) => b.module.includes(o))) continue;
    process.stdout.write(`\n== ${b.title}\n`);
    try {
      const mod = (await import(b.module)) as Record<string, unknown>;
      const fn = mod[b.entry];
      if (typeof fn !== "function") throw new Error(`${b.module} has no ${b.entry}()`);
      const lines = (await (fn as () => Promise<string[]>)()) ?? [];
      for (const l of lines) process.stdout.write(`${l}\n`);
    } catch (err) {
      failed++;
      process.stdout.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  process.exitCode = failed > 0 ? 1 : 0;
}

void main();
