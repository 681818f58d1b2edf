// What one tstap invocation asks for, once the command line is read.

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
}
