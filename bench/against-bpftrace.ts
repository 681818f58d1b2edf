// A probe hit a million times in a program run under -c, counted by tstap
// and by bpftrace in this one run (the USDT and uprobe benches). Both pay
// the kernel's uprobe trap per hit; the ratio is what each adds to it.
// Most of what tstap adds is on the traced thread, in the kernel: the ftrace
// event written to the ring buffer at each hit (reserve, commit), where
// bpftrace's program bumps a map. Measured by the program's CPU time with
// each tracer attached (2026-12-03, this 2-CPU VM): some 0.3 µs a hit more
// on the USDT marker, 0.5 µs on the function; an instance with no reader,
// with the mono, local or x86-tsc clock, with or without pid filtering,
// costs the same, and an event filter rejecting every event costs about
// what bpftrace does. The CPU line counts the tool and the program.
// Each tool runs REPS times, alternating, and the best time of each is
// compared: on a shared 2-CPU host one run can lose a CPU to a neighbour for
// a while, and the best run is the one that did not.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
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
  /** CPU seconds of the tool and every process it waited for (the traced program) */
  cpu: number;
  stdout: string;
  stderr: string;
  status: number | null;
}

/**
 * CPU seconds of this process's waited-for descendants (cutime + cstime of
 * /proc/self/stat, in USER_HZ ticks, 100 a second on x86-64): a tracer that
 * waits for its -c program counts the program's CPU in its own.
 */
function childrenCpu(): number {
  const stat = readFileSync("/proc/self/stat", "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields 16 and 17 of stat(5), counted from the state (field 3) here
  return (Number(f[13]) + Number(f[14])) / 100;
}

function timed(cmd: string, args: string[]): Timed {
  const c0 = childrenCpu();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "latin1", maxBuffer: 1 << 26, timeout: 900_000 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, cpu: childrenCpu() - c0, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const s = (x: number): string => `${x.toFixed(3)} s`;
const tail = (t: string, n: number): string => t.trim().split("\n").slice(-n).join(" | ");

function best(runs: number[]): string {
  return `${s(Math.min(...runs))} (best of ${runs.map((r) => r.toFixed(3)).join(", ")})`;
}

/** the CPU of the run with the best wall time: the tool's and the traced program's */
function cpuOfBest(runs: Timed[]): string {
  const b = runs.reduce((x, y) => (y.seconds < x.seconds ? y : x));
  return `${b.cpu.toFixed(2)} s CPU, tool and program`;
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
  const load0 = loadavg()[0]!;
  const untraced: number[] = [];
  const ts: Timed[] = [];
  const bt: Timed[] = [];
  for (let i = 0; i < REPS; i++) {
    untraced.push(timed(b.prog, b.args).seconds);
    const t = timed(join(root, "bin", "tstap"), ["-e", b.tstap, "-c", cmd]);
    if (t.stdout.trim().split("\n").pop() !== String(HITS) || t.status !== 0) {
      throw new Error(`tstap counted '${tail(t.stdout, 1)}', not ${HITS} (status ${t.status}): ${tail(t.stderr, 3)}`);
    }
    ts.push(t);
    if (!haveBpftrace) continue;
    const r = timed("bpftrace", ["-e", b.bpftrace, "-c", cmd]);
    const m = /@n: (\d+)/.exec(r.stdout);
    if (!m || m[1] !== String(HITS)) {
      throw new Error(`bpftrace counted '${m ? m[1] : "nothing"}', not ${HITS} (status ${r.status}): ${tail(r.stderr, 2)}`);
    }
    bt.push(r);
  }
  // the ratio is of wall times: a host busy with other work moves it, so say how busy it was
  lines.push(`host load average (1 min) before / after: ${load0.toFixed(2)} / ${loadavg()[0]!.toFixed(2)} on ${cpus().length} CPUs`);
  lines.push(`untraced program (${b.untracedWhat}): ${best(untraced)}`);
  const wall = (runs: Timed[]): number[] => runs.map((r) => r.seconds);
  lines.push(`tstap -c, ${b.tstapWhat}: ${best(wall(ts))}, ${HITS} hits; ${cpuOfBest(ts)}`);
  if (!haveBpftrace) {
    lines.push("bpftrace: not installed here (apt-get install bpftrace), no ratio");
    return lines;
  }
  lines.push(`bpftrace -c, ${b.bpftraceWhat}: ${best(wall(bt))}, ${HITS} hits; ${cpuOfBest(bt)}`);
  lines.push(`ratio tstap / bpftrace: ${(Math.min(...wall(ts)) / Math.min(...wall(bt))).toFixed(2)}x (goal: within 1.05x)`);
  return lines;
}
