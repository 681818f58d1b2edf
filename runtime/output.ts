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

  constructor(file?: string) {
    if (file !== undefined && file !== "-") {
      this.fd = openSync(file, "w");
      this.ownsFd = true;
    } else {
      this.fd = 1;
      this.ownsFd = false;
    }
  }

  write(s: string): void {
    this.buf += s;
    if (this.buf.length > FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    const data = Buffer.from(this.buf, "latin1");
    this.buf = "";
    writeAll(this.fd, data);
  }

  close(): void {
    this.flush();
    if (this.ownsFd) closeSync(this.fd);
  }
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
      if (code === "EPIPE") return;
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
