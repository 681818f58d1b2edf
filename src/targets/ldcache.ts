// /etc/ld.so.cache: the dynamic linker's soname → path table, read from the file (both glibc formats), no ldconfig run.

import { readFileSync, statSync } from "node:fs";
import { TargetError } from "./errors.js";
import { hostCache } from "../../runtime/host-state.js";

export interface LdCacheEntry {
  /** the soname or file name the linker looks up (`libc.so.6`) */
  name: string;
  /** where it is (`/lib/x86_64-linux-gnu/libc.so.6`) */
  path: string;
  /** glibc's flags word: type in bits 0-7 (3 = ELF libc6), arch in 8-15 (0x300 = x86-64) */
  flags: number;
  /** hwcaps subdirectory marker (nonzero entries come from glibc-hwcaps/ dirs) */
  hwcap: bigint;
}

const NEW_MAGIC = "glibc-ld.so.cache1.1";
const OLD_MAGIC = "ld.so-1.7.0";
const FLAG_ELF_LIBC6 = 0x0003;
const FLAG_X8664_LIB64 = 0x0300;

/**
 * Parse an ld.so.cache image. Returns the entries in file order (the order
 * the dynamic linker searches them); throws TargetError on a malformed file.
 */
export function parseLdCache(buf: Buffer, path = "/etc/ld.so.cache"): LdCacheEntry[] {
  const bad = (why: string): TargetError => new TargetError("malformed", `'${path}' is malformed: ${why}`);
  let base = 0;
  if (buf.toString("latin1", 0, OLD_MAGIC.length) === OLD_MAGIC) {
    // the old format (libc5-era entries, 12 bytes each) may be followed by the new one, 8-aligned
    if (buf.length < 16) throw bad("header cut short");
    const n = buf.readUInt32LE(12);
    base = (16 + n * 12 + 7) & ~7;
    if (base + NEW_MAGIC.length > buf.length || buf.toString("latin1", base, base + NEW_MAGIC.length) !== NEW_MAGIC) throw bad("old-format cache without the new format (glibc older than 2.32 wrote both; tstap reads the new one)");
  } else if (buf.toString("latin1", 0, NEW_MAGIC.length) !== NEW_MAGIC) {
    throw bad(`no '${NEW_MAGIC}' header`);
  }
  if (base + 48 > buf.length) throw bad("header cut short");
  const nlibs = buf.readUInt32LE(base + 20);
  const entriesEnd = base + 48 + nlibs * 24;
  if (entriesEnd > buf.length) throw bad(`${nlibs} entries do not fit in ${buf.length} bytes`);
  const str = (off: number): string => {
    // string offsets count from the start of the new-format header
    const at = base + off;
    const end = buf.indexOf(0, at);
    if (at >= buf.length || end < 0) throw bad(`string offset 0x${off.toString(16)} is outside the file`);
    return buf.toString("utf8", at, end);
  };
  const out: LdCacheEntry[] = [];
  for (let i = 0; i < nlibs; i++) {
    const o = base + 48 + i * 24;
    const flags = buf.readInt32LE(o);
    out.push({ flags, name: str(buf.readUInt32LE(o + 4)), path: str(buf.readUInt32LE(o + 8)), hwcap: buf.readBigUInt64LE(o + 16) });
  }
  return out;
}

/** Whether an entry is a 64-bit x86-64 glibc library (the only kind tstap probes). */
export function isX8664Entry(e: LdCacheEntry): boolean {
  return (e.flags & 0xff) === FLAG_ELF_LIBC6 && (e.flags & 0xff00) === FLAG_X8664_LIB64;
}

const cache = hostCache<string, { mtimeMs: number; size: number; entries: LdCacheEntry[] }>();

/**
 * The x86-64 entries of a system's ld.so.cache (`root` prefixes it, for a
 * process in another mount namespace: `/proc/PID/root`). Empty when there
 * is no cache, as on minimal containers; re-read when the file changes.
 */
export function readLdCache(root = ""): LdCacheEntry[] {
  const path = `${root}/etc/ld.so.cache`;
  let st;
  try {
    st = statSync(path);
  } catch {
    return [];
  }
  const hit = cache.get(path);
  if (hit !== undefined && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.entries;
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return [];
  }
  const entries = parseLdCache(buf, path).filter(isX8664Entry);
  cache.set(path, { mtimeMs: st.mtimeMs, size: st.size, entries });
  return entries;
}
