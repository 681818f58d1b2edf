// The one runner for the end-to-end kernel cases in test/kernel-cases/*.txt.
//
// A file holds records separated by blank lines; a record is `KEY value`
// lines (`#` lines are comments):
//
//   NAME      the case's name (unique in its file)
//   RUN       the command, run by bash; {tstap} is bin/tstap, {fixture:NAME}
//             the C (C++) program test/fixtures/NAME.c (.cc) built into
//             test/tmp/ (with -O2, or the flags of a first line `// build: FLAGS`),
//             {before_pid} the BEFORE process's pid
//   BEFORE    a process started first (and killed after the case); when it
//             prints a first line, RUN starts only after that line
//   EXPECT    expected stdout, exact; repeat the key for more lines
//   EXPECT_REGEX  a regex the whole stdout must match (flags: m, s)
//   EXPECT_STDERR_REGEX  same, for stderr
//   EXIT      the expected exit status (default 0; 1 with WILL_FAIL)
//   WILL_FAIL the command must fail (exit status 1 unless EXIT says)
//   TIMEOUT   seconds (default 30)
//   SIGNAL    `SIG ON TEXT`: send SIG to the command's process group as soon
//             as its stdout contains TEXT
//   REQUIRES  capabilities by name, blank-separated (see `capabilities`);
//             a case whose capability this kernel lacks is reported as a
//             skipped test naming it, never as a pass
//   LEAVES_LEFTOVERS  the case may leave tracefs changed (a SIGKILLed run);
//             otherwise tracefs must be as before the case
//
// After every file, and after the whole suite, the kernel's tracing state
// must equal what it was before the suite started.

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireKernelTracing } from "./support/kernel-gate.js";
import { waitForReapers } from "../runtime/tracefs/reaper.js";
import { missingFeature, TSTAP_FEATURES, tstapHas } from "./support/tstap-features.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const casesDir = join(root, "test", "kernel-cases");
const fixturesDir = join(root, "test", "fixtures");
const tmpDir = join(root, "test", "tmp");
const tstap = join(root, "bin", "tstap");
const TRACEFS = "/sys/kernel/tracing";

// ---------------------------------------------------------------- records

export interface KernelCase {
  file: string;
  line: number;
  name: string;
  run: string;
  before?: string;
  expect?: string;
  expectRegex?: RegExp;
  expectStderrRegex?: RegExp;
  exit: number;
  timeoutS: number;
  signal?: { sig: NodeJS.Signals; on: string };
  requires: string[];
  leavesLeftovers: boolean;
}

function parseRecords(file: string, text: string): KernelCase[] {
  const out: KernelCase[] = [];
  const lines = text.split("\n");
  let cur: Map<string, string[]> | undefined;
  let startLine = 0;
  const flush = (): void => {
    if (!cur) return;
    const one = (k: string): string | undefined => cur!.get(k)?.join("\n");
    const at = `${file}:${startLine}`;
    const name = one("NAME");
    const run = one("RUN");
    if (!name || !run) throw new Error(`${at}: a record needs NAME and RUN`);
    for (const k of cur.keys()) {
      if (!KEYS.has(k)) throw new Error(`${at}: unknown key ${k}`);
    }
    const willFail = cur.has("WILL_FAIL");
    const sig = one("SIGNAL");
    let signal: KernelCase["signal"];
    if (sig !== undefined) {
      const m = /^(SIG[A-Z]+) ON (.+)$/.exec(sig);
      if (!m) throw new Error(`${at}: SIGNAL must read 'SIGNAME ON TEXT'`);
      signal = { sig: m[1] as NodeJS.Signals, on: m[2]! };
    }
    const re = (k: string): RegExp | undefined => {
      const v = one(k);
      return v === undefined ? undefined : new RegExp(v, "ms");
    };
    out.push({
      file,
      line: startLine,
      name,
      run,
      before: one("BEFORE"),
      expect: cur.has("EXPECT") ? cur.get("EXPECT")!.join("\n") + "\n" : undefined,
      expectRegex: re("EXPECT_REGEX"),
      expectStderrRegex: re("EXPECT_STDERR_REGEX"),
      exit: one("EXIT") !== undefined ? Number(one("EXIT")) : willFail ? 1 : 0,
      timeoutS: Number(one("TIMEOUT") ?? 30),
      signal,
      requires: (one("REQUIRES") ?? "").split(/\s+/).filter((s) => s !== ""),
      leavesLeftovers: cur.has("LEAVES_LEFTOVERS"),
    });
    cur = undefined;
  };
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.startsWith("#")) return;
    if (line.trim() === "") return flush();
    const m = /^([A-Z_]+)(?: (.*))?$/.exec(line);
    if (!m) throw new Error(`${file}:${i + 1}: expected 'KEY value'`);
    if (!cur) {
      cur = new Map();
      startLine = i + 1;
    }
    const vals = cur.get(m[1]!) ?? [];
    vals.push(m[2] ?? "");
    cur.set(m[1]!, vals);
  });
  flush();
  return out;
}

const KEYS = new Set([
  "NAME", "RUN", "BEFORE", "EXPECT", "EXPECT_REGEX", "EXPECT_STDERR_REGEX", "EXIT",
  "WILL_FAIL", "TIMEOUT", "SIGNAL", "REQUIRES", "LEAVES_LEFTOVERS",
]);

// ---------------------------------------------------------------- capabilities

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Is capability `cap` present here? Unknown names are an error in the record. */
function capability(cap: string): boolean {
  const tp = /^tracepoint:([\w]+):([\w]+)$/.exec(cap);
  if (tp) return existsSync(join(TRACEFS, "events", tp[1]!, tp[2]!, "format"));
  const cmd = /^command:([\w.+-]+)$/.exec(cap);
  if (cmd) return onPath(cmd[1]!);
  switch (cap) {
    case "tracefs":
      return writable(join(TRACEFS, "instances"));
    case "root":
      return process.getuid?.() === 0;
    case "checkout-readable-by-nobody":
      // cases that run tstap as uid 65534 need to read the checkout
      return spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "test", "-r", join(root, "dist", "src", "cli", "main.js")]).status === 0;
    case "gcc":
      return onPath("gcc");
    case "bpftrace":
      return onPath("bpftrace");
    case "uprobes":
      return existsSync(join(TRACEFS, "uprobe_events"));
    case "kprobes":
      return existsSync(join(TRACEFS, "kprobe_events"));
    case "record-tgid":
      return existsSync(join(TRACEFS, "options", "record-tgid"));
    case "event-fork":
      return existsSync(join(TRACEFS, "options", "event-fork"));
    case "kernel-counts":
      // probes counted in the kernel: its hit counts, and a selection of every task but the target's tree
      return existsSync(join(TRACEFS, "uprobe_profile")) && existsSync(join(TRACEFS, "set_event_notrace_pid"));
    default: {
      if (cap in TSTAP_FEATURES) return tstapHas(cap);
      throw new Error(`unknown capability '${cap}' (tracefs, root, gcc, bpftrace, uprobes, kprobes, record-tgid, event-fork, kernel-counts, tracepoint:SYS:EVENT, command:NAME, ${Object.keys(TSTAP_FEATURES).join(", ")})`);
    }
  }
}

function missingWhy(cap: string): string {
  return cap in TSTAP_FEATURES ? missingFeature(cap) : `${cap}: not available here`;
}

// ---------------------------------------------------------------- tracefs state

function readOr(path: string): string {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return "<unreadable>";
  }
}

/** What a run must leave as it found: instances, dynamic events, top-level switches. */
export function tracingState(full: boolean): string {
  const parts: string[] = [];
  const add = (name: string, v: string): void => {
    parts.push(`${name}: ${v.trim()}`);
  };
  add("instances", readdirSync(join(TRACEFS, "instances")).sort().join(" "));
  for (const f of ["dynamic_events", "uprobe_events", "set_event", "set_event_pid", "tracing_on", "current_tracer", "trace_clock", "buffer_size_kb", "saved_cmdlines_size"]) {
    if (existsSync(join(TRACEFS, f))) add(f, readOr(join(TRACEFS, f)));
  }
  for (const o of readdirSync(join(TRACEFS, "options")).sort()) add(`options/${o}`, readOr(join(TRACEFS, "options", o)));
  if (full) {
    // Every top-level event filter and trigger: slow-ish, so only per file.
    const ev = join(TRACEFS, "events");
    for (const sys of readdirSync(ev).sort()) {
      const sd = join(ev, sys);
      if (!statSync(sd).isDirectory()) continue;
      for (const e of readdirSync(sd).sort()) {
        const f = join(sd, e, "filter");
        if (!existsSync(f)) continue;
        const v = readOr(f).trim();
        if (v !== "none") add(`events/${sys}/${e}/filter`, v);
        const trig = readOr(join(sd, e, "trigger")).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
        if (trig.length > 0) add(`events/${sys}/${e}/trigger`, trig.join("; "));
      }
    }
  }
  return parts.join("\n");
}

// ---------------------------------------------------------------- running one case

function buildFixtures(): Map<string, string> {
  mkdirSync(tmpDir, { recursive: true });
  const built = new Map<string, string>();
  for (const f of readdirSync(fixturesDir).filter((n) => n.endsWith(".c") || n.endsWith(".cc"))) {
    const cxx = f.endsWith(".cc");
    const name = f.slice(0, cxx ? -3 : -2);
    const out = join(tmpDir, name);
    // a first line `// build: FLAGS` replaces -O2 (frame pointers for stack tests, say)
    const first = /^\/\/ build: (.*)$/m.exec(readFileSync(join(fixturesDir, f), "utf8").split("\n", 1)[0]!);
    const flags = first ? first[1]!.split(/\s+/).filter((x) => x !== "") : ["-O2"];
    execFileSync(cxx ? "g++" : "gcc", [...flags, "-Wall", "-pthread", "-o", out, join(fixturesDir, f)], { stdio: "pipe" });
    built.set(name, out);
  }
  return built;
}

function substitute(text: string, fixtures: Map<string, string>, beforePid?: number): string {
  return text
    .replace(/\{tstap\}/g, tstap)
    .replace(/\{before_pid\}/g, String(beforePid ?? ""))
    .replace(/\{fixture:([\w-]+)\}/g, (_m, n: string) => {
      const p = fixtures.get(n);
      if (!p) throw new Error(`no fixture test/fixtures/${n}.c`);
      return p;
    });
}

interface Outcome {
  stdout: string;
  stderr: string;
  status: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

/** Start BEFORE; wait for its first output line (or 200 ms when it prints none). */
async function startBefore(cmd: string): Promise<{ pid: number; kill: () => void }> {
  const child = spawn("bash", ["-c", `exec ${cmd}`], { stdio: ["ignore", "pipe", "inherit"], detached: true });
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 2000);
    child.stdout!.once("data", () => {
      clearTimeout(t);
      resolve();
    });
    child.once("exit", () => resolve());
  });
  child.stdout!.resume();
  return {
    pid: child.pid!,
    kill: () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone already
      }
    },
  };
}

function runCommand(cmd: string, c: KernelCase): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", cmd], { cwd: tmpDir, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    let signalled = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone
      }
    }, c.timeoutS * 1000);
    child.stdout!.setEncoding("latin1").on("data", (d: string) => {
      stdout += d;
      if (c.signal && !signalled && stdout.includes(c.signal.on)) {
        signalled = true;
        // To the tstap process(es) of the group, as a terminal's ^C would.
        try {
          process.kill(-child.pid!, c.signal.sig);
        } catch {
          // gone
        }
      }
    });
    child.stderr!.setEncoding("latin1").on("data", (d: string) => (stderr += d));
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, status, signal, timedOut });
    });
  });
}

// ---------------------------------------------------------------- the suite

const files = existsSync(casesDir) ? readdirSync(casesDir).filter((f) => f.endsWith(".txt")).sort() : [];
const allCases = files.map((f) => ({ file: f, cases: parseRecords(f, readFileSync(join(casesDir, f), "utf8")) }));
let fixtures = new Map<string, string>();
let baseline = "";
let baselineFull = "";

describe("kernel cases", () => {
  const kernelHere = capability("tracefs");
  beforeAll(() => {
    if (!kernelHere) return;
    fixtures = buildFixtures();
    // Leftovers of killed runs from before the suite are not ours to judge.
    spawnSync(tstap, ["--cleanup"], { stdio: "ignore" });
    baseline = tracingState(false);
    baselineFull = tracingState(true);
  });

  for (const { file, cases } of allCases) {
    describe(file, () => {
      for (const c of cases) {
        // tracefs itself is never optional: without it every case fails, saying why
        const missing = c.requires.filter((r) => r !== "tracefs" && !capability(r));
        if (missing.length > 0) {
          it.skip(`${c.name} [requires ${missing.map(missingWhy).join("; ")}]`, () => {});
          continue;
        }
        it(c.name, { timeout: (c.timeoutS + 15) * 1000 }, async () => {
          requireKernelTracing();
          const before = c.before ? await startBefore(substitute(c.before, fixtures)) : undefined;
          let r: Outcome;
          try {
            r = await runCommand(substitute(c.run, fixtures, before?.pid), c);
          } finally {
            before?.kill();
          }
          const where = `${c.file}:${c.line} ${c.name}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
          expect(r.timedOut, `timed out after ${c.timeoutS}s: ${where}`).toBe(false);
          const sub = (t: string): string => substitute(t, fixtures, before?.pid);
          if (c.expect !== undefined) expect(r.stdout, where).toBe(sub(c.expect));
          if (c.expectRegex) expect(r.stdout, where).toMatch(new RegExp(sub(c.expectRegex.source), "ms"));
          if (c.expectStderrRegex) expect(r.stderr, where).toMatch(new RegExp(sub(c.expectStderrRegex.source), "ms"));
          if (!c.leavesLeftovers) {
            expect(r.status, where).toBe(c.exit);
            // the instance's removal may still be at work in the run's reaper: waited for, not slept on
            waitForReapers();
            expect(tracingState(false), `tracefs changed by ${c.name}`).toBe(baseline);
          }
        });
      }
    });
  }

  it("leaves the kernel's tracing state as the suite found it", () => {
    requireKernelTracing();
    waitForReapers();
    expect(tracingState(true)).toBe(baselineFull);
  });

  afterAll(() => {
    // Never leave leftovers behind, even when a case failed.
    if (kernelHere) spawnSync(tstap, ["--cleanup"], { stdio: "ignore" });
  });
});
