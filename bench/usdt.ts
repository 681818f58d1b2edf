// USDT end to end: one marker (test/fixtures/usdt_forms.c's semaphore-guarded
// tstapfix:guarded) hit 1,000,000 times by a program under -c, counted by
// tstap and by bpftrace's usdt: probe on the same program, in this one run.
// Both pay the kernel's uprobe trap per hit; the ratio is what each adds.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HITS = 1_000_000;

function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, "package.json")) && dirname(d) !== d) d = dirname(d);
  return d;
}

function timed(cmd: string, args: string[]): { seconds: number; stdout: string; stderr: string; status: number | null } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "latin1", maxBuffer: 1 << 26, timeout: 900_000 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const s = (x: number): string => `${x.toFixed(3)} s`;

export async function benchUsdt(): Promise<string[]> {
  const root = repoRoot();
  const tmp = join(root, "test", "tmp");
  mkdirSync(tmp, { recursive: true });
  const prog = join(tmp, "usdt_forms");
  const cc = spawnSync("gcc", ["-O2", "-o", prog, join(root, "test", "fixtures", "usdt_forms.c")], { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(`gcc failed: ${cc.stderr}`);
  const cmd = `${prog} ${HITS}`;
  const lines: string[] = [];

  const untraced = timed(prog, [String(HITS)]);
  lines.push(`untraced program (marker not enabled, ${HITS} loop turns): ${s(untraced.seconds)}`);

  const script = `global n; probe process("${prog}").mark("guarded") { n++ } probe end { printf("%d\\n", n) }`;
  const t = timed(join(root, "bin", "tstap"), ["-e", script, "-c", cmd]);
  if (t.stdout.trim().split("\n").pop() !== String(HITS) || t.status !== 0) {
    throw new Error(`tstap counted '${t.stdout.trim()}' (status ${t.status}): ${t.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  }
  lines.push(`tstap -c, count the marker: ${s(t.seconds)} (${HITS} hits)`);

  if (spawnSync("sh", ["-c", "command -v bpftrace"], { stdio: "ignore" }).status === 0) {
    const bt = timed("bpftrace", ["-e", `usdt:${prog}:tstapfix:guarded { @n = count(); }`, "-c", cmd]);
    const m = /@n: (\d+)/.exec(bt.stdout);
    lines.push(`bpftrace -c, usdt: count: ${s(bt.seconds)} (${m ? m[1] : `no count: ${bt.stderr.trim().split("\n").slice(-2).join(" | ")}`} hits)`);
    if (m) lines.push(`ratio tstap / bpftrace: ${(t.seconds / bt.seconds).toFixed(2)}x (goal: within 1.05x)`);
  } else lines.push("bpftrace: not installed here (apt-get install bpftrace), no ratio");
  return lines;
}
