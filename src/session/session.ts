// One tstap run: read the script, chain the passes, print what -p asks for,
// report diagnostics together, and pick the exit status.

import { readdirSync, readFileSync } from "node:fs";
import { decodeSource } from "../parse/lexer.js";
import { formatDiagnostic, hasErrors, warning, newPrintState, suppressedWarningsNote, type Diagnostic, type PrintState } from "../diagnostic.js";
import type { SessionOptions } from "./options.js";
import { parse, defaultParseOptions, tapsetSearchDirs, type ParseOptions } from "../parse/index.js";
import { printScript } from "../parse/print.js";
import { elaborate, formatProgram, probeTypes, tapsetRoots } from "../elaborate/index.js";
import { TapsetLibrary, tapsetFiles } from "../elaborate/library.js";
import { translate, formatPlan } from "../translate/index.js";
import { load } from "../load/index.js";
import { discardKernelInstance, launchedKernelInstance, prepareKernelInstance, run } from "../../runtime/index.js";
import type { ScriptFile } from "../parse/ast.js";
import { count, memoryUsage, startClock, timesSince } from "./pass-report.js";
import { describePlanChoices } from "./plan-choices.js";
import { procAddressSpaces } from "../targets/address-space.js";
import { probedObjectChange } from "../targets/elf/elf.js";

const passNames = ["parse", "analysis", "translation", "compilation", "run"] as const;

/** Where diagnostics go, with the source texts that let them show the line. */
class Reporter {
  readonly sources = new Map<string, string>();
  /** what stap remembers between messages (abbreviated file names, repeats) */
  readonly printState: PrintState;
  errors = 0;
  constructor(private readonly opts: SessionOptions) {
    this.printState = newPrintState(opts.verbose > 0);
  }

  report(ds: readonly Diagnostic[]): void {
    for (const d of ds) {
      if (d.severity === "warning") {
        if (this.opts.suppressWarnings) continue;
        if (this.opts.warningsAsErrors) {
          this.errors++;
          process.stderr.write(formatDiagnostic({ ...d, severity: "error" }, this.sources, this.printState));
          continue;
        }
      } else {
        this.errors++;
      }
      process.stderr.write(formatDiagnostic(d, this.sources, this.printState));
    }
  }

  /** stap's closing line for a failed pass. */
  failed(pass: number): number {
    process.stderr.write(`Pass ${pass}: ${passNames[pass - 1]} failed.  [man error::pass${pass}]\n`);
    return 1;
  }
}

function readScript(opts: SessionOptions): { file: string; text: string } | string {
  if (opts.scriptText !== undefined) return { file: "<input>", text: opts.scriptText };
  if (opts.listProbes) return { file: "<input>", text: `probe ${opts.listProbes.pattern} {}` };
  const path = opts.scriptFile!;
  try {
    return { file: path === "-" ? "<input>" : path, text: decodeSource(readFileSync(path === "-" ? 0 : path)) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return `Input file '${path}' is missing.`;
    if (code === "EISDIR") return `Input file '${path}' is a directory.`;
    return `Input file '${path}' cannot be read: ${(err as Error).message}`;
  }
}

/**
 * Parse each tapset file of the -I directories; one that does not parse is
 * reported and left out of the run, as stap skips it (with -W, its warning
 * fails pass 1).
 */
function checkUserTapsets(dirs: readonly string[], parseOptions: ParseOptions, rep: Reporter): Set<string> {
  const broken = new Set<string>();
  for (const path of tapsetFiles(dirs, parseOptions)) {
    let text: string;
    try {
      text = readFileSync(path, "latin1");
    } catch {
      continue;
    }
    const r = parse({ file: path, text, isTapset: true }, { ...parseOptions, usedArgs: undefined });
    if (!hasErrors(r.diagnostics)) continue;
    broken.add(path);
    rep.sources.set(path, text);
    const errors = r.diagnostics.filter((d) => d.severity === "error");
    for (const d of errors) process.stderr.write(formatDiagnostic(d, rep.sources, rep.printState));
    process.stderr.write(`${errors.length} parse error${errors.length === 1 ? "" : "s"}.\n`);
    rep.report([warning(`tapset "${path}" has errors, and will be skipped`)]);
  }
  return broken;
}

/** Probe points that never arm a kernel event by themselves (begin, end, timers...). */
const RUN_ONLY_HEADS = new Set(["begin", "end", "error", "never", "timer"]);

/**
 * Whether the run will likely arm kernel events: a probe point of the
 * user's script whose first component is not begin/end/error/never/timer.
 * Only a guess from pass 1, made to start the kernel's slow setup early; a
 * wrong guess costs time, never behaviour.
 */
function mayArmKernelEvents(file: ScriptFile): boolean {
  return file.decls.some((d) => d.kind === "probe" && d.points.some((p) => !RUN_ONLY_HEADS.has(p.components[0]?.name ?? "")));
}

/**
 * The same guess from the script's text, before pass 1 (which takes some
 * ms the kernel's slow setup can use): comments and strings dropped, the
 * first name of each probe point (the words between `probe` and `{`,
 * split at `,` and an alias's `=`). A preprocessor conditional or a macro
 * can fool it either way: a wrong "yes" is undone after pass 1 (the
 * instance handed to a reaper), a wrong "no" leaves the instance to be
 * made after pass 1. Hello world (`probe begin {...}`) makes none.
 */
export function textMayArmKernelEvents(text: string): boolean {
  const code = text.replace(/"(?:[^"\\\n]|\\.)*"|\/\*[\s\S]*?\*\/|\/\/[^\n]*|#[^\n]*/g, (m) => (m.startsWith('"') ? '""' : " "));
  for (const m of code.matchAll(/\bprobe\s+([^{;]*)\{/g)) {
    for (const point of m[1]!.split(/[,=]/)) {
      const head = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(point)?.[1];
      if (head !== undefined && !RUN_ONLY_HEADS.has(head)) return true;
    }
  }
  return false;
}

function loopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function runSession(opts: SessionOptions): Promise<number> {
  const rep = new Reporter(opts);
  // (the script read first: the guess of whether the run arms kernel events comes from its text)
  const early: { instance?: ReturnType<typeof prepareKernelInstance>; script: ReturnType<typeof readScript> } = { script: opts.dump ? { file: "<input>", text: "" } : readScript(opts) };
  try {
    return await runPasses(opts, rep, early);
  } finally {
    // unused (a later pass failed): given up (to a reaper); after a run, already closed
    if (early.instance) discardKernelInstance(early.instance);
    // stap's note about repeated warnings it held back comes last
    process.stderr.write(suppressedWarningsNote(rep.printState));
  }
}

async function runPasses(opts: SessionOptions, rep: Reporter, early: { instance?: ReturnType<typeof prepareKernelInstance>; script: ReturnType<typeof readScript> }): Promise<number> {
  // A run that will arm kernel events: its instance is made first of all,
  // and the kernel's slow part of that (some 40 ms of RCU waits and
  // allocation, the critical path of a -c run once the passes are fast)
  // overlaps passes 1-4; guessed from the text here, checked on the parsed
  // script after pass 1.
  const armsKernel = opts.lastPass === 5 && opts.bufferMb === undefined && !opts.listProbes && !opts.dump;
  // (bin/tstap may have begun it already, from the same guess on an -e text)
  const launched = launchedKernelInstance();
  if (armsKernel && typeof early.script !== "string" && textMayArmKernelEvents(early.script.text)) early.instance = prepareKernelInstance({ launched });
  else if (launched) discardKernelInstance(launched);
  const verbose = (pass: number): number => opts.perPassVerbose[pass - 1] ?? opts.verbose;
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  let clock = startClock(verbose(1) > 0);
  rep.report(opts.optionWarnings.map((w) => warning(w)));
  const usedArgs = new Set<number>();
  const parseOptions = defaultParseOptions({ args: opts.args, guru: opts.guru, defines: opts.defines, usedArgs, systemtapVersion: opts.compatible });
  const roots = tapsetRoots(opts.includeDirs);

  // Pass 1: the library, then the script. stap parses every tapset here;
  // tstap indexes them and parses a file when the script needs it, but the
  // user's own -I tapsets are checked now, where stap finds their errors.
  const brokenTapsets = opts.includeDirs.length > 0 && (opts.lastPass > 1 || verbose(1) > 0 || opts.warningsAsErrors) ? checkUserTapsets(opts.includeDirs, parseOptions, rep) : new Set<string>();
  if (verbose(1) > 1) {
    for (const root of roots) {
      for (const dir of tapsetSearchDirs(root, parseOptions.runtime, parseOptions.arch)) {
        const found = readdirSync(dir).filter((n) => n.endsWith(".stp")).length;
        if (found > 0) say(`Searched: "${dir}", found: ${found}, processed: ${found}`);
      }
    }
  }
  const script = early.script;
  let parsed: ReturnType<typeof parse> | undefined;
  if (typeof script === "string") {
    process.stderr.write(`${script}\n`);
    rep.errors++;
  } else if (!opts.dump) {
    rep.sources.set(script.file, script.text);
    parsed = parse({ file: script.file, text: script.text, isTapset: false }, parseOptions);
    const before = rep.errors;
    rep.report(parsed.diagnostics);
    // stap's parser closes a file's errors with their count
    const parseErrors = rep.errors - before;
    if (parseErrors > 0) process.stderr.write(`${parseErrors} parse error${parseErrors === 1 ? "" : "s"}.\n`);
    if (parsed.empty) process.stderr.write(`Input file '${script.file}' is ${parsed.empty}.\n`);
  }
  if (verbose(1) > 0) {
    const libraryScripts = tapsetFiles(roots, parseOptions).length - brokenTapsets.size;
    say(`Pass 1: parsed user script and ${count(libraryScripts, "library script", "library scripts")} ${memoryUsage()}${timesSince(clock)}`);
  }
  if (opts.dump === "probe-aliases" || opts.dump === "functions") {
    const { dumpAliases, dumpFunctions } = await import("./dump.js");
    const library = new TapsetLibrary(roots, parseOptions, rep.sources, brokenTapsets);
    process.stdout.write(opts.dump === "functions" ? dumpFunctions(library, verbose(2) > 0) : dumpAliases(library, verbose(1) > 0));
    return 0;
  }
  if (opts.dump === "probe-types") {
    process.stdout.write(probeTypes().map((t) => `${t}\n`).join(""));
    return 0;
  }
  if (!parsed?.file || rep.errors > 0 || parsed.empty) return rep.failed(1);
  if (opts.lastPass === 1) {
    process.stdout.write(Buffer.from(printScript(parsed.file), "latin1"));
    return 0;
  }
  // the parsed script decides: an instance the text's guess made for nothing is given up, one it missed is made now
  if (armsKernel && mayArmKernelEvents(parsed.file)) early.instance ??= prepareKernelInstance();
  else if (early.instance) {
    discardKernelInstance(early.instance);
    early.instance = undefined;
  }

  // Pass 2
  clock = startClock(verbose(2) > 0);
  const elaborated = elaborate(parsed.file, {
    tapsetDirs: opts.includeDirs,
    unoptimized: opts.unoptimized,
    suppressWarnings: opts.suppressWarnings,
    guru: opts.guru,
    args: opts.args,
    defines: opts.defines,
    parseOptions,
    sources: rep.sources,
    verbose: verbose(2),
    listing: opts.listProbes !== undefined,
    skipTapsets: brokenTapsets,
    skipBadvars: opts.skipBadvars === true,
  });
  rep.report(elaborated.diagnostics);
  const program = elaborated.program;
  if (verbose(2) > 0 && program) {
    const functions = program.functions.length + (program.libraryFunctions?.length ?? 0);
    say(
      `Pass 2: analyzed script: ${count(program.probes.length, "probe", "probes")}, ${count(functions, "function", "functions")}, ` +
        `${count(program.embeds?.length ?? 0, "embed", "embeds")}, ${count(program.globals.length, "global", "globals")} ${memoryUsage()}${timesSince(clock)}`,
    );
  }
  if (!program || rep.errors > 0) return rep.failed(2);
  // stap's pass-2 note on arguments the script never reads
  if (!opts.listProbes) {
    rep.report(opts.args.flatMap((_, i) => (usedArgs.has(i + 1) ? [] : [warning(`unused command line option $${i + 1}/@${i + 1}`)])));
  }
  if (opts.listProbes) {
    const { listProbes } = await import("./list-probes.js");
    process.stdout.write(listProbes(program, opts.listProbes.withVars));
    return 0;
  }
  if (opts.lastPass === 2) {
    process.stdout.write(Buffer.from(formatProgram(program), "latin1"));
    return 0;
  }

  // the early instance's next write starts when the event loop turns
  if (early.instance) await loopTurn();

  // Pass 3
  clock = startClock(verbose(3) > 0);
  const translated = translate(program, {
    unoptimized: opts.unoptimized,
    defines: opts.defines,
    targetPid: opts.targetPid,
    hasTargetCommand: opts.targetCommand !== undefined,
    timing: opts.timing === true,
  });
  rep.report(translated.diagnostics);
  const plan = translated.plan;
  if (verbose(3) > 0 && plan) {
    say(
      `Pass 3: translated to JavaScript: ${count(plan.probes.length, "probe handler", "probe handlers")}, ` +
        `${count(plan.events.length, "tracefs event", "tracefs events")} ${memoryUsage()}${timesSince(clock)}`,
    );
    if (verbose(3) > 1) for (const line of describePlanChoices(plan, opts.unoptimized)) say(line);
  }
  if (!plan || rep.errors > 0) return rep.failed(3);
  if (opts.lastPass === 3) {
    process.stdout.write(Buffer.from(formatPlan(plan), "latin1"));
    return 0;
  }

  if (early.instance) await loopTurn();

  // Pass 4
  clock = startClock(verbose(4) > 0);
  const loaded = await load(plan, { defines: opts.defines, verbose: verbose(4) });
  rep.report(loaded.diagnostics);
  const moduleName = opts.moduleName ?? `tstap_${process.pid}`;
  if (verbose(4) > 0 && loaded.unit) say(`Pass 4: compiled JavaScript into "${moduleName}" ${timesSince(clock)}`);
  if (!loaded.unit || rep.errors > 0) return rep.failed(4);
  if (opts.lastPass === 4) return 0;

  // Pass 5
  clock = startClock(verbose(5) > 0);
  if (verbose(5) > 0) say("Pass 5: starting run.");
  const status = await run(loaded.unit, {
    outputFile: opts.outputFile,
    timeoutSeconds: opts.timeoutSeconds,
    targetCommand: opts.targetCommand,
    targetPid: opts.targetPid,
    bufferMb: opts.bufferMb,
    verbose: verbose(5),
    args: opts.args,
    suppressWarnings: opts.suppressWarnings,
    timing: opts.timing === true,
    suppressHandlerErrors: opts.suppressHandlerErrors === true,
    report: verbose(5) > 1 ? say : undefined,
    kernelInstance: early.instance,
    // tstap exits after its run: the shell need not wait for the kernel to remove the instance
    handOffTeardown: true,
    addressSpaces: procAddressSpaces,
    objectChange: probedObjectChange,
  });
  if (verbose(5) > 0) say(`Pass 5: run completed ${timesSince(clock)}`);
  return status;
}
