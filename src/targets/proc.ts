// Running processes as probe targets: /proc/PID/maps, the executable and libraries a process maps, their load bias.

import { readFileSync, readlinkSync, statSync } from "node:fs";
import { PT_LOAD, readElf, type Elf } from "./elf/elf.js";
import { TargetError, codeOfSystemError, systemReason } from "./errors.js";

export interface Mapping {
  start: number;
  end: number;
  /** `r-xp` as the kernel prints it */
  perms: string;
  /** file offset of `start` */
  offset: number;
  /** `fd:01` */
  dev: string;
  inode: number;
  /** the file's path as the process sees it (in its mount namespace), `[heap]`/`[vdso]`..., or undefined for anonymous memory */
  path?: string;
  /** the kernel marked the file ` (deleted)`: removed or replaced since it was mapped */
  deleted: boolean;
}

/**
 * Parse /proc/PID/maps text. Paths may hold spaces; a trailing
 * " (deleted)" is taken off and reported.
 */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (!m) throw new TargetError("malformed", `unexpected line in a process's maps: '${line.slice(0, 120)}'`);
    let path: string | undefined = m[7] !== "" ? m[7] : undefined;
    let deleted = false;
    if (path !== undefined && path.endsWith(" (deleted)")) {
      path = path.slice(0, -" (deleted)".length);
      deleted = true;
    }
    out.push({ start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), perms: m[3]!, offset: parseInt(m[4]!, 16), dev: m[5]!, inode: Number(m[6]), path, deleted });
  }
  return out;
}

/** A process's mappings now. Throws TargetError (not-found) for a process that does not exist. */
export function processMaps(pid: number): Mapping[] {
  return parseMaps(readProc(pid, "maps"));
}

function readProc(pid: number, what: string): string {
  checkPid(pid);
  try {
    return readFileSync(`/proc/${pid}/${what}`, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") throw new TargetError("not-found", `no process with pid ${pid}`);
    throw new TargetError(codeOfSystemError(err), `cannot read /proc/${pid}/${what}: ${systemReason(err)}`);
  }
}

function checkPid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0 || pid > 0x3fffffff) throw new TargetError("not-found", `invalid process id ${pid}`);
}

/** One file a process maps (its executable or a library), with where tstap can open it. */
export interface MappedObject {
  /** the path as the process sees it (for messages, umodname()) */
  path: string;
  /**
   * A path that reaches the very file the process runs, from tstap's own
   * mount namespace: the path itself when it is the same file here,
   * `/proc/PID/root/PATH` for a process in another mount namespace (a
   * container), `/proc/PID/map_files/START-END` when the file was deleted
   * or replaced since it was mapped (root only).
   */
  openPath: string;
  deleted: boolean;
  dev: string;
  inode: number;
  /** its mappings, lowest address first */
  mappings: Mapping[];
}

/** dev_t as st_dev gives it → the `MAJOR:MINOR` hex form /proc/PID/maps prints. */
export function devString(dev: number): string {
  const d = BigInt(dev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

function sameFile(path: string, dev: string, inode: number): boolean {
  try {
    const st = statSync(path);
    return st.ino === inode && devString(st.dev) === dev;
  } catch {
    return false;
  }
}

/** Where tstap can read a mapped file (see MappedObject.openPath). */
function openPathFor(pid: number, m: Mapping): string {
  const path = m.path!;
  if (!m.deleted && sameFile(path, m.dev, m.inode)) return path;
  const viaRoot = `/proc/${pid}/root${path}`;
  if (!m.deleted && sameFile(viaRoot, m.dev, m.inode)) return viaRoot;
  return `/proc/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`;
}

/** The files a process maps (executable first, then libraries in address order); anonymous and `[special]` mappings are left out. */
export function processObjects(pid: number, maps: Mapping[] = processMaps(pid)): MappedObject[] {
  const byFile = new Map<string, MappedObject>();
  for (const m of maps) {
    if (m.path === undefined || m.path.startsWith("[") || m.inode === 0) continue;
    const key = `${m.dev}:${m.inode}:${m.path}`;
    const o = byFile.get(key);
    if (o) o.mappings.push(m);
    else byFile.set(key, { path: m.path, openPath: openPathFor(pid, m), deleted: m.deleted, dev: m.dev, inode: m.inode, mappings: [m] });
  }
  const objs = [...byFile.values()];
  const exe = processExecutable(pid);
  objs.sort((a, b) => Number(b.path === exe.path && b.inode === exe.inode) - Number(a.path === exe.path && a.inode === exe.inode) || a.mappings[0]!.start - b.mappings[0]!.start);
  return objs;
}

export interface ProcessExecutable {
  /** the path as the process sees it */
  path: string;
  /** a path tstap can open and uprobe_events can take (see MappedObject.openPath); `/proc/PID/exe` for a deleted or replaced binary */
  openPath: string;
  deleted: boolean;
  inode: number;
  dev: string;
}

/** The program a process runs, through /proc/PID/exe (which reaches it even when deleted or in another mount namespace). */
export function processExecutable(pid: number): ProcessExecutable {
  checkPid(pid);
  const exe = `/proc/${pid}/exe`;
  let link: string;
  let st;
  try {
    link = readlinkSync(exe);
    st = statSync(exe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") {
      try {
        statSync(`/proc/${pid}`);
      } catch {
        throw new TargetError("not-found", `no process with pid ${pid}`);
      }
      throw new TargetError("not-found", `process ${pid} has no executable (a kernel thread or a zombie)`);
    }
    throw new TargetError(codeOfSystemError(err), `cannot read ${exe}: ${systemReason(err)}`);
  }
  const deleted = link.endsWith(" (deleted)");
  const path = deleted ? link.slice(0, -" (deleted)".length) : link;
  const dev = devString(st.dev);
  const inode = st.ino;
  let openPath = exe;
  if (!deleted && sameFile(path, dev, inode)) openPath = path;
  else if (!deleted && sameFile(`/proc/${pid}/root${path}`, dev, inode)) openPath = `/proc/${pid}/root${path}`;
  return { path, openPath, deleted, inode, dev };
}

/** Whether a process lives in another mount namespace than tstap (a container): its paths must go through /proc/PID/root. */
export function inOtherMountNamespace(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`) !== readlinkSync("/proc/self/ns/mnt");
  } catch {
    return false;
  }
}

/**
 * The load bias of an object in a process: what to add to an ELF virtual
 * address to get the run-time address (0 for a non-PIE executable).
 * Found from a mapping of the file and the PT_LOAD segment holding that
 * mapping's file offset: bias = start − offset − (p_vaddr − p_offset),
 * segment and mapping taken down to their page. Undefined when no mapping
 * lines up with a segment.
 */
export function loadBias(elf: Elf, mappings: readonly Mapping[]): number | undefined {
  const PAGE = 4096;
  for (const m of mappings) {
    for (const s of elf.segments) {
      if (s.type !== PT_LOAD) continue;
      const segOff = s.offset - (s.offset % PAGE);
      if (m.offset >= segOff && m.offset < s.offset + Math.max(s.filesz, 1)) {
        const segVaddr = s.vaddr - (s.vaddr % PAGE);
        return m.start - (m.offset - segOff) - segVaddr;
      }
    }
  }
  return undefined;
}

/**
 * A library a process maps, named as `.library("...")` names it: a path
 * (as the process sees it, or its basename), a soname-like name
 * (`libc.so.6`), or a short name (`libc`, matching `libc.so.6` and
 * `libc-2.31.so`).
 */
export function findMappedObject(objects: readonly MappedObject[], name: string): MappedObject[] {
  if (name.includes("/")) return objects.filter((o) => o.path === name);
  const base = (p: string): string => p.slice(p.lastIndexOf("/") + 1);
  const exact = objects.filter((o) => base(o.path) === name);
  if (exact.length > 0) return exact;
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^${esc}(\\.so(\\.[0-9.]+)?|-[0-9][0-9.]*\\.so)$`);
  const byName = objects.filter((o) => re.test(base(o.path)));
  if (byName.length > 0) return byName;
  // a soname that is not the file's name (`libc.so.6` → libc-2.31.so on older systems)
  return objects.filter((o) => {
    try {
      return readElf(o.openPath).dynamic?.soname === name;
    } catch {
      return false;
    }
  });
}
