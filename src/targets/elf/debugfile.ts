// The separate debug file of a stripped object (by build-id, then .gnu_debuglink), whose .symtab names its local functions.

import { realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { TargetError } from "../errors.js";
import { BoundedFile, withFile } from "./file.js";
import { readElf, type Elf } from "./elf.js";
import { hostCache } from "../../../runtime/host-state.js";

/** Where distributions install debug files (Debian's *-dbg/-dbgsym packages, Fedora's debuginfo). */
export const DEBUG_ROOT = "/usr/lib/debug";

const cache = hostCache<string, Elf | null>();

/**
 * The separate debug file of `elf`, found as gdb and stap find it:
 * `/usr/lib/debug/.build-id/NN/REST.debug` for the object's build-id, else
 * `.gnu_debuglink`'s file next to the object, in its `.debug/` directory,
 * or under `/usr/lib/debug/` + the object's directory. A candidate must
 * carry the same build-id (or, for an object without one, the CRC its
 * debuglink names). Undefined when none is installed.
 */
export function findDebugFile(elf: Elf, debugRoot = DEBUG_ROOT): Elf | undefined {
  const key = `${elf.identity.dev}:${elf.identity.ino}:${elf.identity.mtimeMs}:${debugRoot}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit ?? undefined;
  const found = search(elf, debugRoot);
  cache.set(key, found ?? null);
  return found;
}

function search(elf: Elf, debugRoot: string): Elf | undefined {
  const cands: string[] = [];
  if (elf.buildId !== undefined && elf.buildId.length > 2) cands.push(join(debugRoot, ".build-id", elf.buildId.slice(0, 2), `${elf.buildId.slice(2)}.debug`));
  if (elf.debuglink !== undefined && !elf.debuglink.file.includes("/")) {
    let dir = dirname(elf.path);
    try {
      dir = dirname(realpathSync(elf.path));
    } catch {
      // keep the given directory
    }
    cands.push(join(dir, elf.debuglink.file), join(dir, ".debug", elf.debuglink.file), join(debugRoot, dir, elf.debuglink.file));
  }
  for (const c of cands) {
    let d: Elf;
    try {
      d = readElf(c);
    } catch (err) {
      if (err instanceof TargetError) continue;
      throw err;
    }
    if (d.identity.ino === elf.identity.ino && d.identity.dev === elf.identity.dev) continue;
    if (elf.buildId !== undefined ? d.buildId === elf.buildId : elf.debuglink !== undefined && fileCrc32(c) === elf.debuglink.crc) return d;
  }
  return undefined;
}

let table: Uint32Array | undefined;

/** CRC-32 (zlib's), as .gnu_debuglink records it, read in bounded chunks. */
export function fileCrc32(path: string): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  const t = table;
  return withFile(BoundedFile.open(path), (f) => {
    let crc = 0xffffffff;
    const CHUNK = 1 << 20;
    for (let off = 0; off < f.size; off += CHUNK) {
      const b = f.read(off, Math.min(CHUNK, f.size - off), "file contents");
      for (let i = 0; i < b.length; i++) crc = t[(crc ^ b[i]!) & 0xff]! ^ (crc >>> 8);
    }
    return (crc ^ 0xffffffff) >>> 0;
  });
}
