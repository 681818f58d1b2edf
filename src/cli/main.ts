// tstap's command line: stap's options, read as stap reads them (GNU
// getopt_long, src/cli/getopt.ts), acted on in order, with stap's messages.

import { readFileSync } from "node:fs";
import { decodeSource } from "../parse/lexer.js";
import { getoptLong } from "./getopt.js";
import { optionSpecs, helpText, versionText, unsupportedOptions } from "./options-table.js";
import { runSession } from "../session/session.js";
import type { SessionOptions, DumpMode } from "../session/options.js";
import { setOwnCommandLine } from "../../runtime/natives-system.js";
import { STAP_LANGUAGE_VERSION } from "../version.js";

/** Ends the reading of the command line: exit status and what to print. */
class Exit {
  constructor(
    readonly status: number,
    readonly stderr = "",
    readonly stdout = "",
  ) {}
}

const tryHelp = "Try '--help' for more information.\n";

/** glibc's strverscmp, enough for version strings such as "4.8" or "3.10": compares digit runs as numbers. */
export function versionCompare(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    if (x === y) continue;
    if (i % 2 === 1 && x !== "" && y !== "") return Number(x) - Number(y) || x.localeCompare(y);
    return x < y ? -1 : 1;
  }
  return 0;
}

/** stap's assert_regexp_match: the parameters it passes on must match a safe pattern (case-insensitively). */
function safetyCheck(what: string, value: string, pattern: string): void {
  if (!new RegExp(pattern, "i").test(value)) {
    throw new Exit(1, `ERROR: Safety pattern mismatch for ${what} ('${value}' vs. '${pattern}') rc=1\n`);
  }
}

const MODULE_NAME_LEN = 56;

/** Reads the command line into session options, or says why not (and what to print). */
export function readCommandLine(argv: readonly string[]): SessionOptions | Exit {
  const got = getoptLong(argv, optionSpecs, "tstap");
  const notes: string[] = [];
  const opts: SessionOptions = {
    args: [],
    lastPass: 5,
    includeDirs: [],
    defines: new Map(),
    verbose: 0,
    perPassVerbose: [0, 0, 0, 0, 0],
    suppressWarnings: false,
    warningsAsErrors: false,
    unoptimized: false,
    guru: false,
    notes,
    optionWarnings: [],
  };
  let lastPassGiven = false;
  let dump: DumpMode | undefined;
  const setDump = (mode: DumpMode): void => {
    if (dump) throw new Exit(1, "ERROR: only one of the -l/-L/--dump-* switches may be specified\n");
    dump = mode;
  };
  try {
    for (const { name, value = "" } of got.options) {
      switch (name) {
        case "V":
        case "version":
          throw new Exit(0, "", versionText());
        case "h":
        case "help":
          throw new Exit(0, "", helpText());
        case "v":
          opts.verbose++;
          for (let i = 0; i < 5; i++) opts.perPassVerbose[i]!++;
          break;
        case "vp":
          if (!/^[0-9]{1,5}$/.test(value)) throw new Exit(1, "Invalid --vp argument: it takes 1 to 5 digits.\n");
          for (let i = 0; i < value.length; i++) opts.perPassVerbose[i]! += Number(value[i]);
          break;
        case "t":
          opts.timing = true;
          break;
        case "w":
          opts.suppressWarnings = true;
          break;
        case "W":
          opts.warningsAsErrors = true;
          break;
        case "u":
          opts.unoptimized = true;
          break;
        case "g":
          opts.guru = true;
          break;
        case "k":
          // stap keeps its build directory; tstap builds nothing on disk (-p3 shows what it made)
          break;
        case "b":
          opts.optionWarnings.push("-b (bulk mode) has no effect: tstap merges the per-CPU buffers into one output stream");
          break;
        case "q":
          opts.optionWarnings.push("-q (tapset coverage) has no effect: tstap keeps no coverage database");
          break;
        case "F":
          throw new Exit(
            1,
            "ERROR: -F (flight recorder) needs a kernel module that stays loaded after stap exits; tstap's probes live only as long as the tstap process\n",
          );
        case "p": {
          const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
          if (!(n >= 1 && n <= 5)) throw new Exit(1, "Invalid pass number (should be 1-5).\n");
          opts.lastPass = n as SessionOptions["lastPass"];
          lastPassGiven = true;
          break;
        }
        case "I":
          opts.includeDirs.push(value);
          break;
        case "D": {
          safetyCheck("-D parameter", value, "^[a-z_][a-z_0-9]*(=-?[a-z_0-9]+)?$");
          const eq = value.indexOf("=");
          opts.defines.set(eq < 0 ? value : value.slice(0, eq), eq < 0 ? "" : value.slice(eq + 1));
          break;
        }
        case "e":
          if (opts.scriptText !== undefined) throw new Exit(1, "Only one script can be given on the command line.\n");
          opts.scriptText = value;
          break;
        case "o":
          opts.outputFile = value;
          break;
        case "c":
          if (value === "") throw new Exit(1, "Empty CMD string invalid.\n");
          opts.targetCommand = value;
          break;
        case "x":
          // (the kernel's largest pid, PID_MAX_LIMIT)
          if (!/^[0-9]+$/.test(value) || Number(value) > 4194304) throw new Exit(1, "Invalid target process ID number.\n");
          opts.targetPid = Number(value);
          break;
        case "s": {
          const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
          if (!(n >= 1 && n <= 4095)) throw new Exit(1, "Invalid buffer size (should be 1-4095).\n");
          opts.bufferMb = n;
          break;
        }
        case "T": {
          // seconds, fractions allowed; stap keeps whole milliseconds and wants at least one
          const ms = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value) ? Math.trunc(Number(value) * 1000) : NaN;
          if (!(ms >= 1)) throw new Exit(1, "Invalid timeout interval.\n");
          opts.timeoutSeconds = ms / 1000;
          break;
        }
        case "m": {
          // stap's notes come before any refusal that follows (notes are said first, see below)
          let mod = value;
          if (mod.endsWith(".ko") || mod.endsWith(".so")) {
            mod = mod.slice(0, -3);
            notes.push(`Truncating module name to '${mod}'`);
          }
          if (mod === "") throw new Exit(1, "Module name cannot be empty.\n");
          safetyCheck("-m parameter", mod, "^[a-z0-9_]+$");
          if (mod.length >= MODULE_NAME_LEN - 1) {
            mod = mod.slice(0, MODULE_NAME_LEN - 1);
            notes.push(`Truncating module name to '${mod}'`);
          }
          opts.moduleName = mod;
          break;
        }
        case "S":
          safetyCheck("-S parameter", value, "^[0-9]+(,[0-9]+)?$");
          opts.optionWarnings.push("-S (output file size and count) has no effect: tstap writes one output file");
          break;
        case "l":
          setDump("list");
          opts.listProbes = { pattern: value, withVars: false };
          break;
        case "L":
          setDump("list-vars");
          opts.listProbes = { pattern: value, withVars: true };
          break;
        case "dump-probe-types":
          setDump("probe-types");
          break;
        case "dump-probe-aliases":
          setDump("probe-aliases");
          opts.suppressWarnings = true;
          break;
        case "dump-functions":
          setDump("functions");
          opts.suppressWarnings = true;
          break;
        case "compatible":
          if (versionCompare(value, STAP_LANGUAGE_VERSION) > 0) {
            throw new Exit(1, `ERROR: systemtap version ${STAP_LANGUAGE_VERSION} cannot be compatible with future version ${value}\n`);
          }
          opts.compatible = value;
          break;
        case "P":
          opts.prologueSearching = "always";
          break;
        case "prologue-searching":
          if (value === "" || value === "always") opts.prologueSearching = "always";
          else if (value === "auto" || value === "never") opts.prologueSearching = value;
          else throw new Exit(1, `Invalid argument '${value}' for --prologue-searching.\n`);
          break;
        case "skip-badvars":
          opts.skipBadvars = true;
          break;
        case "suppress-handler-errors":
          opts.suppressHandlerErrors = true;
          break;
        case "check":
          opts.command = "check";
          break;
        case "cleanup":
          opts.command = "cleanup";
          break;
        default: {
          const why = unsupportedOptions.get(name);
          const shown = name.length === 1 ? `-${name}` : `--${name}`;
          throw new Exit(1, `ERROR: option '${shown}' is not supported by tstap: ${why ?? "it has no meaning without a kernel module"}\n`);
        }
      }
    }
  } catch (e) {
    // what stap said about the options before the one that stops it comes first
    if (e instanceof Exit) return notes.length > 0 ? new Exit(e.status, notes.map((n) => `${n}\n`).join("") + e.stderr, e.stdout) : e;
    throw e;
  }
  if (got.error !== undefined) return new Exit(1, `${got.error}\n${tryHelp}`);
  if (opts.command) return opts;

  // stap's check_options: the first operand is the script unless -e or a listing gave one
  let operands = got.operands;
  if (opts.scriptText === undefined && !dump && operands.length > 0) {
    opts.scriptFile = operands[0];
    operands = operands.slice(1);
  }
  opts.args = operands;
  if (!dump && opts.scriptFile === undefined && opts.scriptText === undefined) return new Exit(1, `A script must be specified.\n${tryHelp}`);
  if (dump && opts.scriptText !== undefined) return new Exit(1, `Cannot specify a script with -l/-L/--dump-* switches.\n${tryHelp}`);
  if (dump && lastPassGiven) return new Exit(1, `Cannot specify -p with -l/-L/--dump-* switches.\n${tryHelp}`);
  if (opts.targetCommand !== undefined && opts.targetPid !== undefined) return new Exit(1, "You can't specify -c and -x options together.\n");
  if (dump === "list" || dump === "list-vars") opts.suppressWarnings = true;
  if (dump === "probe-types" || dump === "probe-aliases" || dump === "functions") opts.dump = dump;
  return opts;
}

export async function main(argv: string[]): Promise<number> {
  const opts = readCommandLine(argv);
  if (opts instanceof Exit) {
    process.stdout.write(opts.stdout);
    process.stderr.write(opts.stderr);
    return opts.status;
  }
  if (opts.command === "check") {
    const { checkCommand } = await import("./check.js");
    return checkCommand();
  }
  if (opts.command === "cleanup") {
    const { cleanupCommand } = await import("./check.js");
    return cleanupCommand();
  }
  for (const note of opts.notes) process.stderr.write(`${note}\n`);
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

/**
 * Exits as soon as what went to process.stdout/stderr is written (tstap's
 * own output is written synchronously): the run is over, and Node's natural
 * exit, which frees the heap and closes every handle first, takes some 3 ms
 * more (a -c true run's last write to its exit_group; 7 ms under strace). The
 * exit handlers (tracefs/guard.ts) still run. A command a handler started
 * (system(), spawned at the next turn of the event loop) is waited for as
 * before, by Node's own exit, for 2 s at most; so is a reader that takes no
 * more output.
 */
function exitOnceWritten(status: number): void {
  setImmediate(() => {
    const deadline = Date.now() + 2000;
    if (process.getActiveResourcesInfo().includes("ProcessWrap")) {
      setTimeout(() => process.exit(status), 2000).unref();
      return;
    }
    const written = (): boolean => process.stdout.writableLength === 0 && process.stderr.writableLength === 0;
    if (written()) process.exit(status);
    setInterval(() => {
      if (written() || Date.now() > deadline) process.exit(status);
    }, 1);
  });
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
  // a reader that went away (`tstap ... | head`) ends the run quietly, never with a stack trace
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  });
  main(argv).then(
    (status) => {
      process.exitCode = status;
      exitOnceWritten(status);
    },
    (err: unknown) => {
      // An escaped exception is a tstap bug, said in one line.
      const msg = err instanceof Error ? err.message : String(err);
      process.stderr.write(`ERROR: internal error in tstap: ${msg}\n`);
      process.exitCode = 1;
    },
  );
}
