// Shared helpers of the kernel back end's tests: tracefs must be usable
// (these tests fail, never skip, when it is not), a tiny C program that
// calls getppid() N times, and a snapshot of the tracefs state the suite
// must leave unchanged.

import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ownerPid } from "../../runtime/tracefs/names.js";

export const ROOT = "/sys/kernel/tracing";

/** Throws a clear error when tracefs cannot be used here (the one gate of every kernel test). */
export { requireKernelTracing as requireTracefs } from "../support/kernel-gate.js";

const dir = join(process.cwd(), "test", "tmp", "kernel");

/** Compiles (once) a C program: argv[1] = N getppid() calls, after waiting for a line on stdin when argv[2] is "wait". */
export function getppidProgram(): string {
  const exe = join(dir, "getppid-loop");
  if (existsSync(exe)) return exe;
  mkdirSync(dir, { recursive: true });
  const src = join(dir, "getppid-loop.c");
  writeFileSync(
    src,
    `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1;
  if (argc > 2 && strcmp(argv[2], "wait") == 0) { char b[8]; if (!fgets(b, sizeof b, stdin)) return 2; }
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  return 0;
}
`,
  );
  execFileSync("gcc", ["-O2", "-o", exe, src]);
  return exe;
}

/** Runs the program with N calls; returns its pid once it exited. */
export function runGetppid(n: number): number {
  const r = spawnSync(getppidProgram(), [String(n)]);
  if (r.status !== 0) throw new Error(`getppid-loop failed: ${r.stderr}`);
  return r.pid!;
}

/** tstap names this suite answers for: ours, and those of dead runs (other engineers' live runs may come and go meanwhile). */
function oursOrDead(name: string): boolean {
  const pid = ownerPid(name);
  return pid !== undefined && (pid === process.pid || !existsSync(`/proc/${pid}`));
}

/** What the suite must leave as it found it. */
export function tracefsState(): string {
  const instances = readdirSync(join(ROOT, "instances")).filter(oursOrDead).sort();
  const dyn = readFileSync(join(ROOT, "dynamic_events"), "latin1")
    .split("\n")
    .filter((l) => oursOrDead(/^[a-z]\d*:([^/]+)\//.exec(l)?.[1] ?? ""));
  const top = ["set_event", "tracing_on", "trace_clock", "buffer_size_kb", "set_event_pid"].map((f) => `${f}=${readFileSync(join(ROOT, f), "latin1").trim()}`);
  return JSON.stringify({ instances, dyn, top });
}

/** File offset of `main` in the getppid program (for a uprobe). */
export function mainOffset(exe: string): number {
  const nm = execFileSync("nm", [exe], { encoding: "latin1" });
  const addr = parseInt(/^([0-9a-f]+) T main$/m.exec(nm)![1]!, 16);
  const sec = execFileSync("readelf", ["-SW", exe], { encoding: "latin1" });
  const m = /\.text\s+PROGBITS\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(sec)!;
  return addr - parseInt(m[1]!, 16) + parseInt(m[2]!, 16);
}

/**
 * runtime/tracefs + runtime/events compiled to plain JS (once per run), so a
 * child node process can use them: returns the directory holding
 * runtime/events/index.js.
 */
export function compiledRuntime(): string {
  const out = join(dir, "js");
  const stamp = join(out, ".stamp");
  const newest = Math.max(
    ...["runtime/events", "runtime/tracefs"].flatMap((d) => readdirSync(d).map((f) => statSync(join(d, f)).mtimeMs)),
  );
  if (existsSync(stamp) && Number(readFileSync(stamp, "latin1")) > newest) return out;
  spawnSync(
    "npx",
    ["tsc", "--outDir", out, "--rootDir", ".", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--types", "node", "--skipLibCheck", "runtime/events/index.ts", "runtime/tracefs/index.ts"],
    { cwd: process.cwd(), encoding: "latin1" },
  );
  if (!existsSync(join(out, "runtime", "events", "index.js"))) throw new Error("could not compile runtime/events for the child process test");
  writeFileSync(join(out, "package.json"), '{"type":"module"}');
  writeFileSync(stamp, String(Date.now()));
  return out;
}

/**
 * Starts `node CHILD HOW` (a script that opens a session and says "ready
 * GROUP"), resolved once it is ready; out() is all it has written so far.
 */
export function startSessionChild(child: string, how: string, env: Record<string, string> = {}): Promise<{ p: ChildProcess; name: string; out: () => string }> {
  const p = spawn(process.execPath, [child, how], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  return new Promise((resolve, reject) => {
    let err = "";
    p.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S+)\n/.exec(out);
      if (m) resolve({ p, name: m[1]!, out: () => out });
    });
    p.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    p.on("exit", (code) => reject(new Error(`child exited (${code}) before ready: ${err}`)));
  });
}

/** How a child process ended, once it has. */
export function exited(p: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve({ code: p.exitCode, signal: p.signalCode });
  return new Promise((resolve) => p.on("exit", (code, signal) => resolve({ code, signal })));
}

/** What tracefs still holds of a session's group NAME: its instance, its dynamic events. */
export function leftovers(name: string): string[] {
  const out: string[] = [];
  if (existsSync(join(ROOT, "instances", name))) out.push(`instances/${name}`);
  if (readFileSync(join(ROOT, "dynamic_events"), "latin1").includes(`${name}/`)) out.push(`dynamic events of ${name}`);
  return out;
}
