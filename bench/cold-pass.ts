// One cold pass of the firehose's compiled script, in a node of its own run
// with the V8 flags bin/tstap gives a run: the CPU a live run's first
// million events pay, V8's warm-up (interpreter, compiles) included.
// Usage: node --no-concurrent-recompilation --no-lazy-feedback-allocation
//   dist/bench/cold-pass.js PAGES_FILE PAGE_SIZE PID CPU,CPU,...
// Prints "EVENTS NS_PER_EVENT COUNTED".

import { readFileSync } from "node:fs";
import { replayer } from "./replay.js";
import { COUNT_SCRIPT } from "./firehose.js";

const [file, pageSizeArg, pidArg, cpusArg] = process.argv.slice(2);
const pageSize = Number(pageSizeArg);
const bin = readFileSync(file!);
const pages = cpusArg!.split(",").map((cpu, i) => ({ cpu: Number(cpu), buf: bin.subarray(i * pageSize, (i + 1) * pageSize) }));
const live = await replayer(COUNT_SCRIPT, Number(pidArg), pageSize);
const c0 = process.cpuUsage();
const n = live.pass(pages);
const c = process.cpuUsage(c0);
process.stdout.write(`${n} ${(((c.user + c.system) * 1e3) / n).toFixed(1)} ${live.end().trim()}\n`);
