// Where tracefs is, and the only code that writes to it.
//
// Every write takes a path relative to the tracefs root (checked by
// safeRelPath) and text that already went through safe-text.ts. A failed
// write is reported with the kernel's own explanation from `error_log` when
// the command left one there.

import { accessSync, closeSync, constants, existsSync, openSync, readdirSync, readFileSync, statSync, writeSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { printable, safeRelPath } from "./safe-text.js";
import { onForget } from "../host-state.js";

export const TRACEFS_CANDIDATES = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] as const;

/** A tracefs operation failed; the message says what and, when the kernel said why, its words. */
export class TraceFsError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly kernelLog?: string,
  ) {
    super(message);
    this.name = "TraceFsError";
  }
}

function isTracefsDir(dir: string): boolean {
  return existsSync(join(dir, "README")) && existsSync(join(dir, "events"));
}

function isMountPoint(dir: string): boolean {
  try {
    return readFileSync("/proc/self/mounts", "latin1")
      .split("\n")
      .some((l) => l.split(" ")[1] === dir);
  } catch {
    return false;
  }
}

let cachedRoot: string | undefined;
onForget(() => {
  cachedRoot = undefined;
});

/**
 * The tracefs root: /sys/kernel/tracing, else /sys/kernel/debug/tracing.
 * When neither is mounted and we are root, mounts tracefs on
 * /sys/kernel/tracing. Throws TraceFsError naming what is missing.
 */
export function findTracefs(opts: { mount?: boolean } = {}): string {
  if (cachedRoot !== undefined && isTracefsDir(cachedRoot)) return cachedRoot;
  for (const d of TRACEFS_CANDIDATES) {
    if (isTracefsDir(d)) return (cachedRoot = d);
  }
  const primary = TRACEFS_CANDIDATES[0];
  // mounted but closed to us: tracefs directories are root-only by default
  for (const d of TRACEFS_CANDIDATES) {
    if (isMountPoint(d)) {
      throw new TraceFsError(`tracefs is mounted on ${d} but not readable by uid ${process.getuid?.() ?? "?"}: tstap needs root (or a tracefs mounted with -o gid=GROUP for a group of yours)`, "EACCES");
    }
  }
  if (opts.mount !== false && process.getuid?.() === 0 && existsSync(primary) && !isMountPoint(primary)) {
    try {
      execFileSync("mount", ["-t", "tracefs", "nodev", primary], { stdio: "ignore" });
    } catch {
      // reported below as not found
    }
    if (isTracefsDir(primary)) return (cachedRoot = primary);
  }
  const why =
    process.getuid?.() === 0
      ? `tracefs is not mounted and could not be mounted on ${primary} (kernel built without CONFIG_TRACING?)`
      : `tracefs is not mounted on ${primary} or /sys/kernel/debug/tracing, and only root can mount it`;
  throw new TraceFsError(why, "ENOENT");
}

/** Throws a TraceFsError naming what is missing when tracefs cannot be written. */
export function assertWritable(root: string): void {
  try {
    accessSync(join(root, "instances"), constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!existsSync(join(root, "instances"))) throw new TraceFsError(`${root}/instances does not exist: this kernel's tracefs has no instances`, "ENOENT");
    throw new TraceFsError(
      `cannot write ${root} (${code ?? "error"}): tstap needs root (or write access to tracefs)` +
        (lockedDown() ? `; the kernel is locked down (${lockdownMode()})` : ""),
      code,
    );
  }
}

function lockdownMode(): string {
  try {
    return /\[(\w+)\]/.exec(readFileSync("/sys/kernel/security/lockdown", "latin1"))?.[1] ?? "none";
  } catch {
    return "none";
  }
}

function lockedDown(): boolean {
  const m = lockdownMode();
  return m === "integrity" || m === "confidentiality";
}

/** Reads a tracefs file as text ("" when it cannot be read). */
export function readText(root: string, rel: string): string {
  try {
    return readFileSync(join(root, safeRelPath(rel)), "latin1");
  } catch {
    return "";
  }
}

export function exists(root: string, rel: string): boolean {
  return existsSync(join(root, safeRelPath(rel)));
}

/** The names in a tracefs directory ([] when it cannot be read). */
export function listDir(root: string, rel: string): string[] {
  try {
    return readdirSync(join(root, safeRelPath(rel)));
  } catch {
    return [];
  }
}

export function isDir(root: string, rel: string): boolean {
  try {
    return statSync(join(root, safeRelPath(rel))).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The kernel's explanation for a failed `command`, from error_log: the last
 * entry whose `Command:` line is the command, with its caret line.
 */
export function kernelErrorFor(root: string, command: string, logRel = "error_log"): string | undefined {
  const log = readText(root, logRel);
  if (!log) return undefined;
  const lines = log.split("\n");
  const cmd = command.trim();
  for (let i = lines.length - 1; i >= 1; i--) {
    const m = /^\s*Command:\s?(.*)$/.exec(lines[i]!);
    if (!m || m[1]!.trim() !== cmd) continue;
    const head = lines[i - 1]!.replace(/^\[\s*[\d.]+\]\s*/, "").trim();
    const caret = lines[i + 1] ?? "";
    const col = caret.indexOf("^") - (lines[i]!.indexOf("Command:") + "Command: ".length);
    return col >= 0 ? `${head} (at column ${col + 1} of '${cmd}')` : head;
  }
  return undefined;
}

export type WriteMode = "truncate" | "append";

/**
 * Writes `text` to ROOT/REL in one write(2). `append` must be used for
 * dynamic_events/uprobe_events/kprobe_events: opening them with O_TRUNC
 * removes every dynamic event of the system, not only ours.
 */
export function writeControl(root: string, rel: string, text: string, mode: WriteMode = "truncate"): void {
  const path = join(root, safeRelPath(rel));
  if (/(^|\/)(dynamic_events|uprobe_events|kprobe_events|set_event)$/.test(rel) && mode !== "append") {
    throw new TraceFsError(`internal: ${rel} must be opened for append (truncating it would clear other tools' events)`);
  }
  let fd: number;
  try {
    fd = openSync(path, mode === "append" ? constants.O_WRONLY | constants.O_APPEND : constants.O_WRONLY | constants.O_TRUNC);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new TraceFsError(`cannot open ${path}: ${e.code ?? e.message}`, e.code);
  }
  try {
    const buf = Buffer.from(text, "latin1");
    const n = writeSync(fd, buf, 0, buf.length);
    if (n !== buf.length) throw new TraceFsError(`short write to ${path} (${n} of ${buf.length} bytes)`);
  } catch (err) {
    if (err instanceof TraceFsError) throw err;
    const e = err as NodeJS.ErrnoException;
    const logRel = rel.startsWith("instances/") && exists(root, rel.split("/").slice(0, 2).join("/") + "/error_log") ? rel.split("/").slice(0, 2).join("/") + "/error_log" : "error_log";
    const kernel = kernelErrorFor(root, text, logRel) ?? (logRel !== "error_log" ? kernelErrorFor(root, text) : undefined);
    throw new TraceFsError(
      `writing '${printable(text.trim())}' to ${path} failed: ${codeOf(e)}${kernel ? `: ${kernel}` : ""}`,
      e.errno === -524 ? "ENOTSUPP" : e.code,
      kernel,
    );
  } finally {
    closeSync(fd);
  }
}

/**
 * The error's name. The kernel's ENOTSUPP (524, what uprobe_register
 * answers for an instruction it cannot probe) is not a userspace errno:
 * Node calls it UNKNOWN.
 */
function codeOf(e: NodeJS.ErrnoException): string {
  if (e.errno === -524 || e.errno === 524) return "ENOTSUPP";
  return e.code ?? e.message;
}
