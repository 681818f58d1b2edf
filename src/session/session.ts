// One tstap run: read the script, chain the passes, print what -p asks for,
// report diagnostics together, and pick the exit status.

import { readFileSync } from "node:fs";
import { decodeSource } from "../parse/lexer.js";
import { formatDiagnostic, hasErrors, warning, newPrintState, suppressedWarningsNote, type Diagnostic, type PrintState } from "../diagnostic.js";
import type { SessionOptions } from "./options.js";
import { parse, defaultParseOptions } from "../parse/index.js";
import { printScript } from "../parse/print.js";
import { elaborate, formatProgram } from "../elaborate/index.js";
import { translate, formatPlan } from "../translate/index.js";
import { load } from "../load/index.js";
import { run } from "../../runtime/index.js";

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
    if (pass === 1 && this.errors > 0) process.stderr.write(`${this.errors} parse error${this.errors === 1 ? "" : "s"}.\n`);
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

export async function runSession(opts: SessionOptions): Promise<number> {
  const rep = new Reporter(opts);
  try {
    return await runPasses(opts, rep);
  } finally {
    // stap's note about repeated warnings it held back comes last
    process.stderr.write(suppressedWarningsNote(rep.printState));
  }
}

async function runPasses(opts: SessionOptions, rep: Reporter): Promise<number> {
  const script = readScript(opts);
  if (typeof script === "string") {
    process.stderr.write(`${script}\n`);
    return rep.failed(1);
  }
  rep.sources.set(script.file, script.text);

  // Pass 1
  rep.report(opts.optionWarnings.map((w) => warning(w)));
  const usedArgs = new Set<number>();
  const parseOptions = defaultParseOptions({ args: opts.args, guru: opts.guru, defines: opts.defines, usedArgs, systemtapVersion: opts.compatible });
  const parsed = parse({ file: script.file, text: script.text, isTapset: false }, parseOptions);
  rep.report(parsed.diagnostics);
  if (!parsed.file || rep.errors > 0) return rep.failed(1);
  if (opts.lastPass === 1) {
    process.stdout.write(Buffer.from(printScript(parsed.file), "latin1"));
    return 0;
  }

  // Pass 2
  const elaborated = elaborate(parsed.file, {
    tapsetDirs: opts.includeDirs,
    unoptimized: opts.unoptimized,
    suppressWarnings: opts.suppressWarnings,
    guru: opts.guru,
    args: opts.args,
    defines: opts.defines,
    parseOptions,
    sources: rep.sources,
    verbose: opts.verbose,
    listing: opts.listProbes !== undefined,
  });
  rep.report(elaborated.diagnostics);
  if (!elaborated.program || rep.errors > 0) return rep.failed(2);
  // stap's pass-2 note on arguments the script never reads
  if (!opts.listProbes) {
    rep.report(opts.args.flatMap((_, i) => (usedArgs.has(i + 1) ? [] : [warning(`unused command line option $${i + 1}/@${i + 1}`)])));
  }
  if (opts.listProbes) {
    const { listProbes } = await import("./list-probes.js");
    process.stdout.write(listProbes(elaborated.program, opts.listProbes.withVars));
    return 0;
  }
  if (opts.lastPass === 2) {
    process.stdout.write(Buffer.from(formatProgram(elaborated.program), "latin1"));
    return 0;
  }

  // Pass 3
  const translated = translate(elaborated.program, {
    unoptimized: opts.unoptimized,
    defines: opts.defines,
    targetPid: opts.targetPid,
    hasTargetCommand: opts.targetCommand !== undefined,
  });
  rep.report(translated.diagnostics);
  if (!translated.plan || rep.errors > 0) return rep.failed(3);
  if (opts.lastPass === 3) {
    process.stdout.write(Buffer.from(formatPlan(translated.plan), "latin1"));
    return 0;
  }

  // Pass 4
  const loaded = await load(translated.plan, { defines: opts.defines, verbose: opts.verbose });
  rep.report(loaded.diagnostics);
  if (!loaded.unit || rep.errors > 0) return rep.failed(4);
  if (opts.lastPass === 4) return 0;

  // Pass 5
  return run(loaded.unit, {
    outputFile: opts.outputFile,
    timeoutSeconds: opts.timeoutSeconds,
    targetCommand: opts.targetCommand,
    targetPid: opts.targetPid,
    bufferMb: opts.bufferMb,
    verbose: opts.verbose,
    args: opts.args,
    suppressWarnings: opts.suppressWarnings,
  });
}
