// tstap's command line: stap's options, read with commander.

import { readFileSync } from "node:fs";
import { decodeSource } from "../parse/lexer.js";
import { Command, CommanderError, Option } from "commander";
import { runSession } from "../session/session.js";
import type { SessionOptions } from "../session/options.js";
import { VERSION } from "../version.js";
import { setOwnCommandLine } from "../../runtime/natives-system.js";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function increase(_value: string, previous: number): number {
  return previous + 1;
}

function positiveInt(flag: string, max = Number.MAX_SAFE_INTEGER, message?: string, min = 0) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value) || Number(value) > max || Number(value) < min) {
      throw new CommanderError(1, "tstap.invalidArgument", message ?? `Invalid argument '${value}' for option ${flag}.`);
    }
    return Number(value);
  };
}

function buildProgram(): Command {
  const program = new Command("tstap");
  program
    .usage("[options] FILE [ARGS ...]\n       tstap [options] -e SCRIPT [ARGS ...]\n       tstap [options] -l PROBE | -L PROBE")
    .description("Run a SystemTap script on this kernel through tracefs: no module, no BPF.")
    .helpOption("-h, --help", "show this help")
    .version(`tstap ${VERSION} (SystemTap language 5.0 compatible)`, "-V, --version", "show the version")
    .argument("[script]", "script file, '-' for standard input")
    .argument("[args...]", "script arguments ($1.. / @1..)")
    .option("-e <script>", "run SCRIPT given on the command line")
    .addOption(new Option("-p <pass>", "stop after pass N (1 parse, 2 elaborate, 3 translate, 4 load, 5 run)").argParser(positiveInt("-p", 5)))
    .option("-I <dir>", "add DIR to the tapset search path", collect, [])
    .option("-D <name[=value]>", "set a limit or macro, e.g. MAXMAPENTRIES=10000", collect, [])
    .option("-v", "more verbose (repeatable)", increase, 0)
    .option("-w", "suppress warnings")
    .option("-W", "treat warnings as errors")
    .option("-u", "unoptimized: keep unused code, no filter pushdown")
    .option("-g", "guru mode (embedded C is still refused: tstap has no kernel module)")
    .option("-c <cmd>", "start CMD, trace it, end when it exits; target() is its pid")
    .addOption(new Option("-x <pid>", "set target() to PID").argParser(positiveInt("-x", 4194304, "Invalid target process ID number.")))
    .option("-o <file>", "write the script's output to FILE")
    .option("-l <probe>", "list the probe points matching PROBE")
    .option("-L <probe>", "list the probe points matching PROBE, with their variables")
    .addOption(new Option("-T <seconds>", "end the run after SECONDS").argParser(positiveInt("-T")))
    .addOption(new Option("-s <mb>", "per-CPU trace buffer size in MB (1-4095)").argParser(positiveInt("-s", 4095, "Invalid buffer size (should be 1-4095).", 1)))
    .option("--check", "report what this kernel's tracefs can do, then exit")
    .option("--cleanup", "remove tracefs leftovers of killed tstap runs, then exit")
    .enablePositionalOptions()
    .passThroughOptions()
    .showHelpAfterError("(run 'tstap --help' for the options)")
    .exitOverride();
  return program;
}

interface RawOptions {
  e?: string;
  p?: number;
  I: string[];
  D: string[];
  v: number;
  w?: boolean;
  W?: boolean;
  u?: boolean;
  g?: boolean;
  c?: string;
  x?: number;
  o?: string;
  l?: string;
  L?: string;
  T?: number;
  s?: number;
  check?: boolean;
  cleanup?: boolean;
}

function toSessionOptions(raw: RawOptions, positional: string[]): SessionOptions | string {
  const defines = new Map<string, string>();
  for (const d of raw.D) {
    const eq = d.indexOf("=");
    const name = eq < 0 ? d : d.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `Invalid -D argument '${d}': expected NAME or NAME=VALUE`;
    defines.set(name, eq < 0 ? "" : d.slice(eq + 1));
  }
  const opts: SessionOptions = {
    args: [],
    lastPass: (raw.p ?? 5) as SessionOptions["lastPass"],
    includeDirs: raw.I,
    defines,
    verbose: raw.v,
    suppressWarnings: raw.w === true,
    warningsAsErrors: raw.W === true,
    unoptimized: raw.u === true,
    guru: raw.g === true,
    targetCommand: raw.c,
    targetPid: raw.x,
    outputFile: raw.o,
    timeoutSeconds: raw.T,
    bufferMb: raw.s,
  };
  if (raw.p !== undefined && raw.p < 1) return "Invalid argument '0' for option -p.";
  if (raw.c !== undefined && raw.x !== undefined) return "You can't specify -c and -x options together.";
  if (raw.c === "") return "Empty CMD string invalid.";
  const listing = raw.L ?? raw.l;
  if (listing !== undefined) {
    opts.listProbes = { pattern: listing, withVars: raw.L !== undefined };
    opts.args = positional;
    return opts;
  }
  if (raw.e !== undefined) {
    opts.scriptText = raw.e;
    opts.args = positional;
  } else {
    if (positional.length === 0) return "A script must be specified.";
    opts.scriptFile = positional[0];
    opts.args = positional.slice(1);
  }
  return opts;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.configureOutput({
    writeOut: (s) => process.stdout.write(s),
    writeErr: (s) => process.stderr.write(s),
  });
  try {
    program.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return 0;
      if (err.code === "tstap.invalidArgument") process.stderr.write(`${err.message}\n(run 'tstap --help' for the options)\n`);
      return 1;
    }
    throw err;
  }
  const raw = program.opts<RawOptions>();
  if (raw.check) {
    const { checkCommand } = await import("./check.js");
    return checkCommand();
  }
  if (raw.cleanup) {
    const { cleanupCommand } = await import("./check.js");
    return cleanupCommand();
  }
  const opts = toSessionOptions(raw, program.args);
  if (typeof opts === "string") {
    process.stderr.write(`${opts}\n`);
    program.outputHelp({ error: true });
    return 1;
  }
  // bin/tstap left the snapshot for the plain start, and says why here (once)
  const plain = process.env.TSTAP_PLAIN_START;
  if (plain && opts.verbose > 0) process.stderr.write(`tstap: ${plain}: starting without it\n`);
  return runSession(opts);
}

/**
 * The arguments as their bytes were: node decodes argv as UTF-8, so a byte
 * that is not UTF-8 (`@1` given as $'\xff') arrives as U+FFFD. The kernel
 * keeps the bytes in /proc/self/cmdline, whose last entries are ours.
 */
function argvBytes(argv: string[]): string[] {
  if (!argv.some((a) => a.includes("\ufffd"))) return argv;
  try {
    const raw = readFileSync("/proc/self/cmdline");
    const parts: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < raw.length; i++) if (raw[i] === 0) (parts.push(raw.subarray(start, i)), (start = i + 1));
    const ours = parts.slice(parts.length - argv.length);
    if (ours.length !== argv.length || ours.some((b, i) => b.toString("utf8") !== argv[i])) return argv;
    return ours.map((b) => decodeSource(b));
  } catch {
    return argv;
  }
}

/** Runs tstap with these arguments and sets the exit status; never a stack trace. */
export function runCli(rawArgv: string[]): void {
  // bin/tstap set it aside so that node would not load the CA bundle: children inherit it again
  const caCerts = process.env.TSTAP_NODE_EXTRA_CA_CERTS;
  if (caCerts !== undefined) {
    process.env.NODE_EXTRA_CA_CERTS = caCerts;
    delete process.env.TSTAP_NODE_EXTRA_CA_CERTS;
  }
  const argv = argvBytes(rawArgv);
  setOwnCommandLine(argv);
  main(argv).then(
    (status) => {
      process.exitCode = status;
      // Let pending output drain, but never let a stray handle keep us alive.
      setTimeout(() => process.exit(), 2000).unref();
    },
    (err: unknown) => {
      // An escaped exception is a tstap bug, said in one line.
      const msg = err instanceof Error ? err.message : String(err);
      process.stderr.write(`ERROR: internal error in tstap: ${msg}\n`);
      process.exitCode = 1;
    },
  );
}
