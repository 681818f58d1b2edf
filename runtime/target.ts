// `-c CMD`: the target command. As under stap, it is created before the
// begin probes run (so target() already answers there) but held until they
// have run; its exit ends the run.
//
// The hold: a shell waits for a line on fd 3, then execs the command, so the
// pid target() reports is the command's own.

import { spawn, type ChildProcess } from "node:child_process";
import type { Writable } from "node:stream";
import type { EventSource, SourceContext } from "./run-loop.js";

// If tstap dies before letting it go (fd 3 closes without a line), the
// command never runs.
const HOLD_SCRIPT = 'read -r _ <&3 || exit 1; exec 3<&-; eval "exec $TSTAP_TARGET_COMMAND"';
// stap runs a command with shell syntax (wordexp's WRDE_BADCHAR set) under
// `sh -c`: the shell stays, and is target().
const HOLD_SHELL_SCRIPT = 'read -r _ <&3 || exit 1; exec 3<&-; eval "$TSTAP_TARGET_COMMAND"';
const SHELL_SYNTAX = /[|&;<>(){}\n]/;

export class TargetCommand implements EventSource {
  private child: ChildProcess | undefined;
  private exited = false;
  private ctx: SourceContext | undefined;

  /** run after the command exits, before the run is ended (the kernel source drains its buffers) */
  readonly beforeStop: (() => Promise<void>)[] = [];

  constructor(readonly command: string) {}

  /** Creates the held process; returns its pid (undefined if it could not start). */
  create(): number | undefined {
    this.child = spawn("/bin/sh", ["-c", SHELL_SYNTAX.test(this.command) ? HOLD_SHELL_SCRIPT : HOLD_SCRIPT], {
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

  /** Lets the command run (after the begin probes). */
  start(ctx: SourceContext): void {
    this.ctx = ctx;
    if (this.exited) {
      ctx.requestStop();
      return;
    }
    const hold = this.child?.stdio[3] as Writable | undefined;
    hold?.end("\n");
  }

  stop(): void {
    const c = this.child;
    if (c && !this.exited && c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  }
}
