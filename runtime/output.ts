// The script's output stream: one buffered byte stream (stdout or -o FILE),
// written in order. Handlers append; the run loop flushes after each batch of
// handlers, on a short timer, before anything goes to stderr, and at the end:
// output appears promptly without one write per printf.

import { closeSync, openSync, writeSync } from "node:fs";

const FLUSH_AT = 1 << 16;

export class Output {
  private buf = "";
  private readonly fd: number;
  private readonly ownsFd: boolean;
  private readonly name: string;
  /** the first write error (the output is gone: a closed pipe, a full disk...); later output is dropped */
  failed: NodeJS.ErrnoException | undefined;
  /** called once, on the first write error, with stap's message for it */
  onFailure: ((message: string) => void) | undefined;

  constructor(file?: string) {
    if (file !== undefined && file !== "-") {
      this.fd = openSync(file, "w");
      this.ownsFd = true;
      this.name = file;
    } else {
      this.fd = 1;
      this.ownsFd = false;
      this.name = "stdout";
    }
  }

  write(s: string): void {
    if (this.failed) return;
    this.buf += s;
    if (this.buf.length > FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    const data = Buffer.from(this.buf, "latin1");
    this.buf = "";
    if (this.failed) return;
    try {
      writeAll(this.fd, data);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (typeof e.code !== "string") throw err;
      this.failed = e;
      // stapio's words for it (its _perr adds the system's reason after a colon)
      this.onFailure?.(`Couldn't write to output ${this.name}, exiting.: ${systemReason(e)}`);
    }
  }

  close(): void {
    this.flush();
    if (this.ownsFd) closeSync(this.fd);
  }
}

/** strerror()'s text for a Node system error ("No space left on device"). */
export function systemReason(e: NodeJS.ErrnoException): string {
  // Node's message is "CODE: reason, syscall ..."
  const m = /^[A-Z0-9_]+: ([^,]+)/.exec(e.message);
  const reason = m ? m[1]! : e.message;
  return reason.charAt(0).toUpperCase() + reason.slice(1);
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // a non-blocking pipe that is full: wait for the reader
      if (code === "EAGAIN") {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      throw err;
    }
  }
}

/** Diagnostics of the run (ERROR:/WARNING:), after the output produced so far. */
export class Messages {
  constructor(
    private readonly out: Output,
    private readonly sink?: (line: string) => void,
  ) {}

  write(line: string): void {
    this.out.flush();
    const text = line.endsWith("\n") ? line : line + "\n";
    if (this.sink) this.sink(text);
    else writeAll(2, Buffer.from(text, "latin1"));
  }
}
