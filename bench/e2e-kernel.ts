// Kernel end to end: 1,000,000 syscalls:sys_enter_getppid events from a test
// program under -c, counted with `if (pid() == target()) n++`, against the
// same count by bpftrace and the same events extracted by trace-cmd, and the
// program's own untraced time. Every number comes from this one run.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const EVENTS = 1_000_000;

/** bench/ sits in dist/bench when built: find the repository root. */
function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, "package.json")) && dirname(d) !== d) d = dirname(d);
  return d;
}

interface Timed {
  seconds: number;
  stdout: string;
  stderr: string;
  status: number | null;
}

function timed(cmd: string, args: string[], cwd?: string): Timed {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, encoding: "latin1", maxBuffer: 1 << 30, timeout: 600_000 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { seconds, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

function onPath(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

const s = (x: number): string => `${x.toFixed(3)} s`;
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;

export async function benchE2eKernel(): Promise<string[]> {
  const root = repoRoot();
  const tmp = join(root, "test", "tmp");
  mkdirSync(tmp, { recursive: true });
  const prog = join(tmp, "getppid_loop");
  const cc = spawnSync("gcc", ["-O2", "-o", prog, join(root, "test", "fixtures", "getppid_loop.c")], { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(`gcc failed: ${cc.stderr}`);
  const cmd = `${prog} ${EVENTS}`;
  const lines: string[] = [];

  const untraced = timed(prog, [String(EVENTS)]);
  lines.push(`untraced program (${EVENTS} getppid calls): ${s(untraced.seconds)}`);

  const script = 'global n; probe kernel.trace("syscalls:sys_enter_getppid") { if (pid() == target()) n++ } probe end { printf("%d\\n", n) }';
  const tstap = timed(join(root, "bin", "tstap"), ["-e", script, "-c", cmd]);
  const n = tstap.stdout.trim();
  if (n !== String(EVENTS) || tstap.status !== 0) {
    throw new Error(`tstap counted '${n}' (status ${tstap.status}): ${tstap.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  }
  lines.push(`tstap -c, count with pid() == target(): ${s(tstap.seconds)} (${n} events, ${ratio(tstap.seconds, untraced.seconds)} the untraced time)`);

  const tstapU = timed(join(root, "bin", "tstap"), ["-u", "-e", script, "-c", cmd]);
  lines.push(`tstap -u (no filter pushdown): ${s(tstapU.seconds)} (${tstapU.stdout.trim()} events, ${ratio(tstapU.seconds, tstap.seconds)} the pushed-down run)`);

  if (onPath("bpftrace")) {
    const bt = timed("bpftrace", ["-e", "tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @n = count(); }", "-c", cmd]);
    const m = /@n: (\d+)/.exec(bt.stdout);
    lines.push(`bpftrace -c, count with pid == cpid: ${s(bt.seconds)} (${m ? m[1] : "no count"} events)`);
    lines.push(`ratio tstap / bpftrace: ${ratio(tstap.seconds, bt.seconds)}`);
  } else lines.push("bpftrace: not installed here, no ratio");

  if (onPath("trace-cmd")) {
    const dir = mkdtempSync(join(tmpdir(), "tstap-bench-"));
    // trace-cmd turns the top-level tracing_on off first and, when it dies
    // early (no permission to enable ftrace in some containers), never back on.
    const onFile = "/sys/kernel/tracing/tracing_on";
    const tracingOn = existsSync(onFile) ? readFileSync(onFile, "latin1").trim() : undefined;
    try {
      const rec = timed("trace-cmd", ["record", "-q", "-e", "syscalls:sys_enter_getppid", "-F", prog, String(EVENTS)], dir);
      if (rec.status !== 0 || !existsSync(join(dir, "trace.dat"))) {
        lines.push(`trace-cmd record refuses here (${rec.stderr.trim().split("\n").join(" ")}); extracting instead:`);
        lines.push(...traceCmdExtract(dir, prog, tstap.seconds));
      } else {
        const rep = timed("sh", ["-c", "trace-cmd report 2>/dev/null | grep -c sys_enter_getppid"], dir);
        const total = rec.seconds + rep.seconds;
        lines.push(`trace-cmd record -F + report: ${s(rec.seconds)} + ${s(rep.seconds)} = ${s(total)} (${rep.stdout.trim()} events)`);
        lines.push(`ratio tstap / trace-cmd: ${ratio(tstap.seconds, total)}`);
      }
    } finally {
      if (tracingOn !== undefined) writeFileSync(onFile, tracingOn);
      rmSync(dir, { recursive: true, force: true });
    }
  } else lines.push("trace-cmd: not installed here, no ratio");
  return lines;
}

/**
 * trace-cmd's other way to get events, for kernels where `record` cannot
 * run (it insists on the function tracer's ftrace_enabled): enable the
 * event in an instance of its own with a buffer that holds every event,
 * run the program, then `trace-cmd extract -B` and `report`.
 */
function traceCmdExtract(dir: string, prog: string, tstapSeconds: number): string[] {
  const name = `tcbench_${process.pid}`;
  const inst = join("/sys/kernel/tracing/instances", name);
  try {
    mkdirSync(inst);
    // ~32 bytes an event on one CPU: 48 MiB per CPU holds them all
    writeFileSync(join(inst, "buffer_size_kb"), String(48 * 1024));
    writeFileSync(join(inst, "events/syscalls/sys_enter_getppid/enable"), "1");
    const run = timed(prog, [String(EVENTS)]);
    writeFileSync(join(inst, "events/syscalls/sys_enter_getppid/enable"), "0");
    const ext = timed("trace-cmd", ["extract", "-B", name, "-o", join(dir, "x.dat")], dir);
    if (ext.status !== 0) return [`trace-cmd extract failed too (${ext.stderr.trim().split("\n").join(" ")}): no trace-cmd ratio`];
    const rep = timed("sh", ["-c", "trace-cmd report -i x.dat 2>/dev/null | grep -c sys_enter_getppid"], dir);
    const total = run.seconds + ext.seconds + rep.seconds;
    return [
      `trace-cmd (event enabled, program run, extract -B, report): ${s(run.seconds)} + ${s(ext.seconds)} + ${s(rep.seconds)} = ${s(total)} (${rep.stdout.trim()} events)`,
      `ratio tstap / trace-cmd: ${ratio(tstapSeconds, total)}`,
    ];
  } catch (err) {
    return [`trace-cmd extract path failed (${(err as Error).message}): no trace-cmd ratio`];
  } finally {
    // trace-cmd extract removes the instance it read; make sure either way
    try {
      if (existsSync(inst)) {
        writeFileSync(join(inst, "events/syscalls/sys_enter_getppid/enable"), "0");
        rmdirSync(inst);
      }
    } catch {
      // gone already
    }
  }
}
