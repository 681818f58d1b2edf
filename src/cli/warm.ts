// Warming the startup snapshot (src/cli/snapshot.ts): while the snapshot is
// built, passes 1-4 run on a few small scripts, so that the functions they
// call are compiled when the heap is saved and a run finds them ready. Cold,
// a one-line kernel script's passes 2-4 spend more time compiling tstap's
// own code than running it. The shipped tapsets are read and parsed here
// too (prepareTapsets): a run takes a file's parse when its text is the
// same.
//
// What a run learns of its host (tracefs, the kernel config, /proc/self,
// ELF files) is forgotten afterwards (runtime/host-state.ts): a run started
// from the snapshot, on another machine or kernel, asks its own. The warm-up
// never writes to tracefs and never mounts it: pass 2 reads the tracepoints
// only where tracefs is already mounted and readable, and pass 4 checks the
// plan against a fixed set of capabilities instead of probing this kernel;
// of pass 5, only the code that turns formats into readers and source runs.
// A script that fails here (no tracefs on the build host) only leaves its
// code cold.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { defaultParseOptions, parse } from "../parse/index.js";
import { elaborate } from "../elaborate/index.js";
import { prepareTapsets } from "../elaborate/library.js";
import { translate } from "../translate/index.js";
import { load } from "../load/index.js";
import { readCommandLine } from "./main.js";
import type { Capabilities } from "../load/tracefs/index.js";
import { readTracepointFormat } from "../targets/tracepoints.js";
import { TRACEFS_CANDIDATES } from "../../runtime/tracefs/tracefs.js";
import { compileFieldGetter, formatReaders } from "../../runtime/events/index.js";
import { decodeLoopSource } from "../../runtime/events/decode-loop.js";
import { forgetHostState } from "../../runtime/host-state.js";

/** What pass 4 checks the warm-up's plans against: a kernel with everything (only the root is this host's). */
const WARM_CAPABILITIES: Capabilities = {
  writable: true,
  instances: true,
  tracePipeRaw: true,
  dynamicEvents: true,
  kprobeEvents: true,
  uprobeEvents: true,
  userStackTrace: true,
  recordTgid: true,
  eventFork: true,
  setEventPid: true,
  setEventNotracePid: true,
  uprobeProfile: true,
  bufferPercent: true,
  subbufSize: true,
};

/**
 * The scripts warmed: hello world, the kernel script of the e2e bench as
 * `-c CMD` runs it, and what examples/ do most (a timer, arrays, foreach,
 * statistics, printf, a tracepoint's fields) without a target.
 */
const WARM_SCRIPTS: { text: string; kernel: boolean; target: boolean }[] = [
  { text: 'probe begin { println("hello") exit() }', kernel: false, target: false },
  { text: 'global n; probe kernel.trace("syscalls:sys_enter_getppid") { if (pid() == target()) n++ } probe end { println(n) }', kernel: true, target: true },
  {
    text: `global calls, since, off
probe kernel.trace("sched:sched_switch") {
  now = gettimeofday_us(); since[$prev_pid] = now
  if ($next_pid in since) { off <<< now - since[$next_pid]; delete since[$next_pid] }
}
probe kernel.trace("raw_syscalls:sys_enter") { calls[execname(), cpu()]++ }
probe timer.s(5) { exit() }
probe end {
  foreach ([name, c] in calls- limit 10) printf("%-20s %3d %10d\\n", name, c, calls[name, c])
  printf("count=%d avg=%d max=%d\\n", @count(off), @avg(off), @max(off)); print(@hist_log(off))
}`,
    kernel: true,
    target: false,
  },
];

/** Runs passes 1-4 on one script; undefined when it went through, else the pass that stopped it. */
async function warmOne(text: string, target: boolean, tapsets: string, tracefs: string | undefined): Promise<number | undefined> {
  const parseOptions = defaultParseOptions({ args: [] });
  const parsed = parse({ file: "<warm-up>", text, isTapset: false }, parseOptions);
  if (!parsed.file || parsed.diagnostics.length > 0) return 1;
  const sources = new Map<string, string>();
  const elaborated = elaborate(parsed.file, {
    tapsetDirs: [],
    unoptimized: false,
    suppressWarnings: false,
    guru: false,
    args: [],
    defines: new Map(),
    parseOptions,
    sources,
    builtinTapsets: tapsets,
  });
  if (!elaborated.program) return 2;
  const translated = translate(elaborated.program, { hasTargetCommand: target });
  if (!translated.plan) return 3;
  const loaded = await load(translated.plan, { capabilities: { ...WARM_CAPABILITIES, root: tracefs } });
  if (!loaded.unit) return 4;
  // what pass 5 makes of the formats as it arms, with no tracefs write: pure code generation
  const ids: number[] = [];
  for (const e of translated.plan.events) {
    const fmt = e.kind === "tracepoint" ? readTracepointFormat(e.system, e.event) : undefined;
    if (!fmt) continue;
    formatReaders(fmt);
    compileFieldGetter(fmt);
    ids.push(fmt.id);
  }
  decodeLoopSource(ids, []);
  return undefined;
}

/**
 * Warms passes 1-4 with tstap's checkout at `root` (its tapsets/), then
 * forgets the host. Returns a line for each script that did not go through.
 */
export async function warmPasses(root: string): Promise<string[]> {
  const tapsets = join(root, "tapsets");
  const tracefs = TRACEFS_CANDIDATES.find((d) => existsSync(join(d, "README")) && existsSync(join(d, "events")));
  const notes: string[] = [];
  try {
    // the command line as a run reads it first (getopt and the options table: pure)
    for (const s of WARM_SCRIPTS) readCommandLine(["-v", "-e", s.text, ...(s.target ? ["-c", "true"] : ["-T", "1"])]);
    for (const s of WARM_SCRIPTS) {
      if (s.kernel && tracefs === undefined) {
        notes.push(`not warmed (no readable tracefs here): ${s.text}`);
        continue;
      }
      const stopped = await warmOne(s.text, s.target, tapsets, tracefs);
      if (stopped !== undefined) notes.push(`pass ${stopped} stopped the warm-up of: ${s.text}`);
    }
    // after the warm-up, whose elaboration may change the trees it was given
    prepareTapsets([tapsets], defaultParseOptions({ args: [] }));
  } finally {
    forgetHostState();
  }
  return notes;
}
