// A probe hit a million times in a program run under -c, counted by tstap
// and by bpftrace in this one run (the USDT and uprobe benches). Both pay
// the kernel's uprobe trap per hit; the ratio is what each adds to it.
// Each tool runs REPS times, alternating, and the best time of each is
// compared: on a shared 2-CPU host one run can lose a CPU to a neighbour for
// a while, and the best run is the one that did not.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const HITS = 1_000_000;
const REPS = 3;

export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, "package.json")) && dirname(d) !== d) d = dirname(d);
  return d;
}

/** Compiles test/fixtures/SOURCE into test/tmp/NAME; returns its path. */
export function buildFixture(source: string, name: string): string {
  const root = repoRoot();
  const tmp = join(root, "test", "tmp");
  mkdirSync(tmp, { recursive: true });
  const prog = join(tmp, name);
  const cc = spawnSync("gcc", ["-O2", "-o", prog, join(root, "test", "fixtures", source)], { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(`gcc failed: ${cc.stderr}`);
  return prog;
}

interface Timed {
  seconds: number;
  stdout: string;
  stderr: string;
  status: number | null;
}

function timed(cmd: string, args: string[]): Timed {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "latin1", maxBuffer: 1 << 26, timeout: 900_000 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const s = (x: number): string => `${x.toFixed(3)} s`;
const tail = (t: string, n: number): string => t.trim().split("\n").slice(-n).join(" | ");

function best(runs: number[]): string {
  return `${s(Math.min(...runs))} (best of ${runs.map((r) => r.toFixed(3)).join(", ")})`;
}

export interface AgainstBpftrace {
  /** the traced program and its arguments (it makes HITS hits) */
  prog: string;
  args: string[];
  /** what the untraced run does, for its line */
  untracedWhat: string;
  /** a tstap script whose last output line is the count */
  tstap: string;
  tstapWhat: string;
  /** a bpftrace program keeping the count in @n */
  bpftrace: string;
  bpftraceWhat: string;
}

/**
 * The bench lines: untraced, tstap and bpftrace times, and the ratio. A count
 * other than HITS from either tool throws: a tracer that misses hits is not
 * faster, it is wrong.
 */
export function benchAgainstBpftrace(b: AgainstBpftrace): string[] {
  const root = repoRoot();
  const cmd = [b.prog, ...b.args].join(" ");
  const lines: string[] = [];
  const haveBpftrace = spawnSync("sh", ["-c", "command -v bpftrace"], { stdio: "ignore" }).status === 0;
  const untraced: number[] = [];
  const ts: number[] = [];
  const bt: number[] = [];
  for (let i = 0; i < REPS; i++) {
    untraced.push(timed(b.prog, b.args).seconds);
    const t = timed(join(root, "bin", "tstap"), ["-e", b.tstap, "-c", cmd]);
    if (t.stdout.trim().split("\n").pop() !== String(HITS) || t.status !== 0) {
      throw new Error(`tstap counted '${tail(t.stdout, 1)}', not ${HITS} (status ${t.status}): ${tail(t.stderr, 3)}`);
    }
    ts.push(t.seconds);
    if (!haveBpftrace) continue;
    const r = timed("bpftrace", ["-e", b.bpftrace, "-c", cmd]);
    const m = /@n: (\d+)/.exec(r.stdout);
    if (!m || m[1] !== String(HITS)) {
      throw new Error(`bpftrace counted '${m ? m[1] : "nothing"}', not ${HITS} (status ${r.status}): ${tail(r.stderr, 2)}`);
    }
    bt.push(r.seconds);
  }
  lines.push(`untraced program (${b.untracedWhat}): ${best(untraced)}`);
  lines.push(`tstap -c, ${b.tstapWhat}: ${best(ts)}, ${HITS} hits`);
  if (!haveBpftrace) {
    lines.push("bpftrace: not installed here (apt-get install bpftrace), no ratio");
    return lines;
  }
  lines.push(`bpftrace -c, ${b.bpftraceWhat}: ${best(bt)}, ${HITS} hits`);
  lines.push(`ratio tstap / bpftrace: ${(Math.min(...ts) / Math.min(...bt)).toFixed(2)}x (goal: within 1.05x)`);
  return lines;
}
