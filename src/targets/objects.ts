// Naming the object a process probe is on, as stap does: a path, a program on PATH, a library by soname or short name.

import { accessSync, constants, readdirSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { readElf, type Elf } from "./elf/elf.js";
import { TargetError, codeOfSystemError, systemReason } from "./errors.js";
import { readLdCache } from "./ldcache.js";

/** How an object was found, for -v messages and errors. */
export type FoundBy = "path" | "PATH" | "rpath" | "LD_LIBRARY_PATH" | "runpath" | "ld.so.cache" | "default directory";

export interface ResolvedObject {
  /** the canonical path (symlinks resolved): what uprobe_events is given */
  path: string;
  elf: Elf;
  /** an executable (ET_EXEC, or a PIE) or a shared library (ET_DYN with a soname, or not a PIE) */
  kind: "executable" | "library";
  foundBy: FoundBy;
}

export interface ResolveOptions {
  /** for relative paths (default: process.cwd()) */
  cwd?: string;
  /** the PATH to search for bare program names (default: process.env.PATH) */
  pathEnv?: string;
  /** LD_LIBRARY_PATH to search before the cache (default: process.env.LD_LIBRARY_PATH) */
  ldLibraryPath?: string;
  /** the executable whose DT_RPATH/DT_RUNPATH (with $ORIGIN) are searched, for `.library(...)` */
  from?: Elf;
  /** a root to resolve every absolute path under (`/proc/PID/root` for a process in another mount namespace) */
  root?: string;
}

/** The directories ld.so searches last on Debian/Ubuntu x86-64 (multiarch first), and on other distributions. */
export const DEFAULT_LIBRARY_DIRS = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"];

/**
 * What `process("SPEC")` names: a path (absolute or relative, containing
 * `/`), else a program on PATH, else a shared library by soname
 * (`libc.so.6`) or short name (`libc`). The result is checked to be an
 * x86-64 ELF executable or shared object.
 */
export function resolveObject(spec: string, opts: ResolveOptions = {}): ResolvedObject {
  if (spec === "") throw new TargetError("not-found", "empty process path");
  if (spec.includes("/")) return fromPath(spec, "path", opts);
  const prog = searchPath(spec, opts);
  if (prog !== undefined) return fromPath(prog, "PATH", opts);
  const lib = findLibrary(spec, opts);
  if (lib !== undefined) return lib;
  const path = opts.pathEnv ?? process.env.PATH ?? "";
  throw new TargetError("not-found", `cannot find executable or library '${spec}' (searched PATH=${path}, the dynamic linker's cache and ${DEFAULT_LIBRARY_DIRS.join(":")})`);
}

/**
 * What `.library("SPEC")` names: a path, or a library found the way the
 * dynamic linker would for `opts.from`: DT_RPATH (when there is no
 * DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH, /etc/ld.so.cache, default dirs.
 * Short names (`libc`, `libstdc++`) match `libc.so` or `libc.so.N`.
 */
export function resolveLibrary(spec: string, opts: ResolveOptions = {}): ResolvedObject {
  if (spec.includes("/")) return fromPath(spec, "path", opts);
  const lib = findLibrary(spec, opts);
  if (lib !== undefined) return lib;
  throw new TargetError("not-found", `cannot find library '${spec}' (searched ${librarySearchDescription(opts)})`);
}

function librarySearchDescription(opts: ResolveOptions): string {
  const parts: string[] = [];
  const ld = opts.ldLibraryPath ?? process.env.LD_LIBRARY_PATH;
  if (opts.from?.dynamic?.rpath.length) parts.push(`RPATH ${opts.from.dynamic.rpath.join(":")}`);
  if (ld) parts.push(`LD_LIBRARY_PATH=${ld}`);
  if (opts.from?.dynamic?.runpath.length) parts.push(`RUNPATH ${opts.from.dynamic.runpath.join(":")}`);
  parts.push("the dynamic linker's cache", DEFAULT_LIBRARY_DIRS.join(":"));
  return parts.join(", ");
}

function rooted(p: string, opts: ResolveOptions): string {
  return opts.root !== undefined && isAbsolute(p) ? join(opts.root, p) : p;
}

/**
 * realpath inside another root (a container's `/proc/PID/root`): absolute
 * symlink targets restart at `root`, not at our `/`. Returns the rooted path.
 */
export function realpathUnder(root: string, path: string): string {
  const parts = path.split("/").filter((x) => x !== "" && x !== ".");
  const done: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const here = join(root, ...done, part);
    let target: string | undefined;
    try {
      target = readlinkSync(here);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EINVAL") throw err; // EINVAL: not a symlink
    }
    if (target === undefined) {
      done.push(part);
      continue;
    }
    if (++links > 40) throw Object.assign(new Error("too many links"), { code: "ELOOP" });
    if (target.startsWith("/")) done.length = 0;
    parts.unshift(...target.split("/").filter((x) => x !== "" && x !== "."));
  }
  return join(root, ...done);
}

function fromPath(spec: string, foundBy: FoundBy, opts: ResolveOptions): ResolvedObject {
  const inRoot = opts.root !== undefined && isAbsolute(spec);
  const abs = isAbsolute(spec) ? spec : resolve(opts.cwd ?? process.cwd(), spec);
  // /proc/PID/root and /proc/PID/exe are magic links: realpath would follow them into *our* root
  const procRoot = /^(\/proc\/(?:\d+|self)\/root)(\/.*)?$/.exec(abs);
  const procMagic = /^\/proc\/(?:\d+|self)\/(?:exe$|map_files\/)/.test(abs);
  let real: string;
  try {
    if (procMagic) {
      statSync(abs);
      real = abs;
    } else if (procRoot) real = realpathUnder(procRoot[1]!, procRoot[2] ?? "/");
    else real = inRoot ? realpathUnder(opts.root!, abs) : realpathSync(abs);
  } catch (err) {
    throw new TargetError(codeOfSystemError(err), `cannot find '${spec}': ${systemReason(err)}`);
  }
  const elf = readElf(real);
  if (elf.header.type !== "EXEC" && elf.header.type !== "DYN") {
    const what = elf.header.type === "REL" ? "a relocatable object (.o), not an executable or shared library" : "a core dump, not an executable or shared library";
    throw new TargetError("unsupported", `'${real}' is ${what}`);
  }
  const kind = elf.header.type === "EXEC" || elf.pie ? "executable" : "library";
  return { path: real, elf, kind, foundBy };
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A bare program name on PATH, as execvp finds it (the first executable regular file). */
export function searchPath(name: string, opts: ResolveOptions = {}): string | undefined {
  const path = opts.pathEnv ?? process.env.PATH ?? "";
  for (const dir of path.split(":")) {
    // an empty PATH entry means the current directory
    const d = dir === "" ? (opts.cwd ?? process.cwd()) : dir;
    if (isExecutableFile(join(rooted(d, opts), name))) return join(d, name);
  }
  return undefined;
}

/** `$ORIGIN`/`${ORIGIN}` (the directory of the object) and `$LIB`/`$PLATFORM` in rpath entries. */
function expandRpath(entry: string, from: Elf): string {
  return entry
    .replace(/\$\{ORIGIN\}|\$ORIGIN/g, dirname(from.path))
    .replace(/\$\{LIB\}|\$LIB/g, "lib64")
    .replace(/\$\{PLATFORM\}|\$PLATFORM/g, "x86_64");
}

function isShortName(spec: string): boolean {
  return !/\.so(\.|$)/.test(spec);
}

/** File names in `dir` that a short name (`libc`) can mean: `libc.so`, then `libc.so.N...` highest version first. */
function shortNameCandidates(dir: string, spec: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const versioned = names.filter((n) => n.startsWith(`${spec}.so.`)).sort(compareVersionsDesc);
  return [...(names.includes(`${spec}.so`) ? [`${spec}.so`] : []), ...versioned].map((n) => join(dir, n));
}

function compareVersionsDesc(a: string, b: string): number {
  const pa = a.split(/[^0-9]+/).filter((x) => x !== "").map(Number);
  const pb = b.split(/[^0-9]+/).filter((x) => x !== "").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pb[i] ?? -1) - (pa[i] ?? -1);
    if (d !== 0) return d;
  }
  return a < b ? -1 : 1;
}

/** The first candidate that is an x86-64 ELF shared object (skipping linker scripts such as libc.so and other arches). */
function firstUsable(cands: string[], foundBy: FoundBy, opts: ResolveOptions): ResolvedObject | undefined {
  for (const c of cands) {
    try {
      return fromPath(c, foundBy, opts);
    } catch (err) {
      if (!(err instanceof TargetError)) throw err;
    }
  }
  return undefined;
}

function findLibrary(spec: string, opts: ResolveOptions): ResolvedObject | undefined {
  const short = isShortName(spec);
  // candidates are paths as the target sees them; `rooted` finds them from here
  const inDir = (dir: string): string[] => (short ? shortNameCandidates(rooted(dir, opts), spec).map((p) => join(dir, p.slice(p.lastIndexOf("/") + 1))) : [join(dir, spec)]);
  const dyn = opts.from?.dynamic;
  const expand = (l: string[]): string[] => (opts.from !== undefined ? l.map((e) => expandRpath(e, opts.from!)) : l);
  const ld = (opts.ldLibraryPath ?? process.env.LD_LIBRARY_PATH ?? "").split(/[:;]/).filter((x) => x !== "");
  const steps: [FoundBy, string[]][] = [
    ["rpath", dyn !== undefined && dyn.runpath.length === 0 ? expand(dyn.rpath) : []],
    ["LD_LIBRARY_PATH", ld],
    ["runpath", dyn !== undefined ? expand(dyn.runpath) : []],
  ];
  for (const [by, dirs] of steps) {
    for (const d of dirs) {
      const r = firstUsable(inDir(d), by, opts);
      if (r !== undefined) return r;
    }
  }
  const cache = readLdCache(opts.root ?? "");
  const hits = short ? cache.filter((e) => e.name === `${spec}.so` || e.name.startsWith(`${spec}.so.`)) : cache.filter((e) => e.name === spec);
  if (short) hits.sort((a, b) => (a.name === `${spec}.so` ? -1 : b.name === `${spec}.so` ? 1 : compareVersionsDesc(a.name, b.name)));
  const fromCache = firstUsable(
    hits.map((e) => e.path),
    "ld.so.cache",
    opts,
  );
  if (fromCache !== undefined) return fromCache;
  for (const d of DEFAULT_LIBRARY_DIRS) {
    const r = firstUsable(inDir(d), "default directory", opts);
    if (r !== undefined) return r;
  }
  return undefined;
}
