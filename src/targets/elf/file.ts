// Bounded reads of an object file: every read is checked against the file's size, never the whole file at once.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { TargetError, codeOfSystemError, systemReason } from "../errors.js";

/** What identifies one version of a file: a replaced or rewritten file differs in one of these. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** An open file read in bounded pieces. Close it (or use withFile). */
export class BoundedFile {
  private constructor(
    readonly path: string,
    private fd: number,
    readonly identity: FileIdentity,
  ) {}

  get size(): number {
    return this.identity.size;
  }

  static open(path: string): BoundedFile {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (err) {
      throw new TargetError(codeOfSystemError(err), `cannot open '${path}': ${systemReason(err)}`);
    }
    try {
      const st = fstatSync(fd);
      if (st.isDirectory()) throw new TargetError("not-elf", `'${path}' is a directory, not an ELF object`);
      if (!st.isFile()) throw new TargetError("not-elf", `'${path}' is not a regular file`);
      return new BoundedFile(path, fd, { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Reopen `path` and check it is still the file first read (same inode, size and mtime). */
  static reopen(path: string, identity: FileIdentity): BoundedFile {
    const f = BoundedFile.open(path);
    const id = f.identity;
    if (id.dev !== identity.dev || id.ino !== identity.ino || id.size !== identity.size || id.mtimeMs !== identity.mtimeMs) {
      f.close();
      throw new TargetError("changed", `'${path}' changed while tstap was reading it`);
    }
    return f;
  }

  /**
   * `length` bytes at `offset`; `what` names the structure for the error a
   * truncated or hostile file gets ("section header table", "symbol table .dynsym").
   */
  read(offset: number, length: number, what: string): Buffer {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new TargetError(
        "malformed",
        `'${this.path}' is truncated or malformed: ${what} (offset 0x${hex(offset)}, 0x${hex(length)} bytes) lies outside the file (0x${this.size.toString(16)} bytes)`,
      );
    }
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    try {
      while (done < length) {
        const n = readSync(this.fd, buf, done, length - done, offset + done);
        if (n === 0) throw new TargetError("malformed", `'${this.path}' ended early while reading ${what} (was it truncated while tstap read it?)`);
        done += n;
      }
    } catch (err) {
      if (err instanceof TargetError) throw err;
      throw new TargetError("io", `cannot read '${this.path}': ${systemReason(err)}`);
    }
    return buf;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function hex(n: number): string {
  return Number.isFinite(n) ? n.toString(16) : String(n);
}

export function withFile<T>(file: BoundedFile, fn: (f: BoundedFile) => T): T {
  try {
    return fn(file);
  } finally {
    file.close();
  }
}

/**
 * A 64-bit little-endian field as a number. Addresses and sizes past 2^53
 * cannot be user-space x86-64 values; they make the file malformed.
 */
export function u64(buf: Buffer, off: number, path: string, what: string): number {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readUInt32LE(off + 4);
  if (hi >= 0x200000) throw new TargetError("malformed", `'${path}' is malformed: ${what} 0x${(BigInt(hi) << 32n | BigInt(lo)).toString(16)} is not a valid address or size`);
  return hi * 0x100000000 + lo;
}

/** Like u64, but an out-of-range value reads as undefined instead of failing (symbol values in hostile tables). */
export function u64OrUndefined(buf: Buffer, off: number): number | undefined {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readUInt32LE(off + 4);
  return hi >= 0x200000 ? undefined : hi * 0x100000000 + lo;
}

/** The NUL-terminated string at `off` of a string table; undefined when it runs off the table. */
export function cstring(table: Buffer, off: number): string | undefined {
  if (off < 0 || off >= table.length) return undefined;
  const end = table.indexOf(0, off);
  if (end < 0) return undefined;
  return table.toString("utf8", off, end);
}
