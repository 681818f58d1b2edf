// `-c CMD`: the target command. As under stap, it is created before the
// begin probes run (so target() already answers there) but held until they
// have run; its exit ends the run.
//
// The hold: a shell waits for a line on fd 3, then execs the command, so the
// pid target() reports is the command's own.

import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Writable } from "node:stream";
import type { EventSource, SourceContext } from "./run-loop.js";

// If tstap dies before letting it go (fd 3 closes without a line), the
// command never runs.
const HOLD_SCRIPT = 'read -r _ <&3 || exit 1; exec 3<&-; eval "exec $TSTAP_TARGET_COMMAND"';
// stap runs a command with shell syntax (wordexp's WRDE_BADCHAR set) under
// `sh -c`: the shell stays, and is target().
const HOLD_SHELL_SCRIPT = 'read -r _ <&3 || exit 1; exec 3<&-; eval "$TSTAP_TARGET_COMMAND"';
const SHELL_SYNTAX = /[|&;<>(){}\n]/;
/** the shell that holds the command (what target() is until the command runs) */
export const HOLD_SHELL = "/bin/sh";

/**
 * Why the command cannot start, or undefined: its program (the first word)
 * looked up as execvp does (a name with a '/' as is, else along PATH). A
 * command in shell syntax runs under `sh -c`, as stap's does: not checked.
 */
export function commandProblem(command: string): string | undefined {
  if (SHELL_SYNTAX.test(command)) return undefined;
  const first = /^\s*((?:[^\s'"\\]|\\.|'[^']*'|"(?:[^"\\]|\\.)*")+)/.exec(command)?.[1];
  if (first === undefined) return "empty command";
  // quotes and escapes as the shell reads them; an expansion ($VAR, `...`, globs) is left to the shell
  if (/[$`*?[~]/.test(first)) return undefined;
  const word = first.replace(/'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)/g, (_m, a, b, c) => a ?? (b !== undefined ? b.replace(/\\(.)/g, "$1") : c));
  const canRun = (path: string): string | undefined => {
    try {
      if (statSync(path).isDirectory()) return "Is a directory";
      accessSync(path, constants.X_OK);
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === "EACCES" ? "Permission denied" : code === "ENOENT" || code === "ENOTDIR" ? "No such file or directory" : String(code);
    }
  };
  if (word.includes("/")) return canRun(word);
  for (const dir of (process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(":")) {
    if (canRun(join(dir || ".", word)) === undefined) return undefined;
  }
  return "command not found";
}

export class TargetCommand implements EventSource {
  private child: ChildProcess | undefined;
  private exited = false;
  private released = false;
  private ctx: SourceContext | undefined;

  /** run after the command exits, before the run is ended (the kernel source drains its buffers) */
  readonly beforeStop: (() => Promise<void>)[] = [];

  constructor(readonly command: string) {}

  /** Creates the held process; returns its pid (undefined if it could not start). */
  create(): number | undefined {
    this.child = spawn(HOLD_SHELL, ["-c", SHELL_SYNTAX.test(this.command) ? HOLD_SHELL_SCRIPT : HOLD_SCRIPT], {
      stdio: ["inherit", "inherit", "inherit", "pipe"],
      env: { ...process.env, TSTAP_TARGET_COMMAND: this.command },
    });
    this.child.on("exit", () => {
      this.exited = true;
      void Promise.allSettled(this.beforeStop.map((h) => h())).then(() => this.ctx?.requestStop());
    });
    this.child.on("error", () => {
      this.exited = true;
      this.ctx?.requestStop();
    });
    return this.child.pid;
  }

  /**
   * The held process's pid until start() lets it go: until then it is the
   * shell of HOLD_SCRIPT blocked in `read`, one thread with no children.
   */
  get heldPid(): number | undefined {
    return this.released || this.exited ? undefined : this.child?.pid;
  }

  /** Lets the command run (after the begin probes). */
  start(ctx: SourceContext): void {
    this.released = true;
    this.ctx = ctx;
    if (this.exited) {
      ctx.requestStop();
      return;
    }
    const hold = this.child?.stdio[3] as (Writable & { _handle?: { fd?: number } }) | undefined;
    // The line goes out in one write(2) on the pipe's fd, then the pipe is
    // closed: through the stream, its first write (a path nothing took
    // before in this process) let the command wait some ms more.
    const fd = hold?._handle?.fd;
    if (hold && fd !== undefined && fd >= 0) {
      try {
        if (writeSync(fd, "\n") === 1) {
          // (the shell closes its end once it has the line: ours goes at the next turn, off the command's way)
          setImmediate(() => hold.destroy());
          return;
        }
      } catch {
        // the stream's way below
      }
    }
    hold?.end("\n");
  }

  stop(): void {
    const c = this.child;
    if (c && !this.exited && c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  }
}
