// What one tstap invocation asks for, once the command line is read.

/** stap's listing modes that need no script */
export type DumpMode = "list" | "list-vars" | "probe-types" | "probe-aliases" | "functions";

export interface SessionOptions {
  /** script path ("-" for stdin), or undefined with `-e` */
  scriptFile?: string;
  /** `-e SCRIPT` */
  scriptText?: string;
  /** script arguments ($1.., @1..) */
  args: string[];
  /** `-p N`: stop after pass N (1..5) */
  lastPass: 1 | 2 | 3 | 4 | 5;
  /** `-I DIR`, in order */
  includeDirs: string[];
  /** `-D NAME[=VALUE]` */
  defines: Map<string, string>;
  /** `-v` count */
  verbose: number;
  /** verbosity of each pass (`-v` adds to all five, `--vp ABCDE` to each) */
  perPassVerbose: number[];
  /** `-w`: no warnings */
  suppressWarnings: boolean;
  /** `-W`: warnings are errors */
  warningsAsErrors: boolean;
  /** `-u`: no elision, no filter pushdown */
  unoptimized: boolean;
  /** `-g` */
  guru: boolean;
  /** `-c CMD` */
  targetCommand?: string;
  /** `-x PID` */
  targetPid?: number;
  /** `-o FILE` */
  outputFile?: string;
  /** `-T SECONDS` */
  timeoutSeconds?: number;
  /** `-s MB` per-CPU buffer size */
  bufferMb?: number;
  /** `-l PROBE` / `-L PROBE` */
  listProbes?: { pattern: string; withVars: boolean };
  /** `--dump-probe-types`, `--dump-probe-aliases`, `--dump-functions` */
  dump?: "probe-types" | "probe-aliases" | "functions";
  /** `-t`: report each probe's hits and handler times after the run */
  timing?: boolean;
  /** `--compatible=VERSION`: what `systemtap_v` is */
  compatible?: string;
  /** `-P`, `--prologue-searching[=WHEN]` (for function probes) */
  prologueSearching?: "always" | "auto" | "never";
  /** `--skip-badvars`: a context variable that cannot be read is 0 */
  skipBadvars?: boolean;
  /** `--suppress-handler-errors`: a handler's runtime error skips the rest of that handler, quietly */
  suppressHandlerErrors?: boolean;
  /** `-m NAME` */
  moduleName?: string;
  /** tstap's own commands, which need no script */
  command?: "check" | "cleanup";
  /** lines said before the run (stap's notes on the options) */
  notes: string[];
  /** warnings about options that have no effect here */
  optionWarnings: string[];
}
