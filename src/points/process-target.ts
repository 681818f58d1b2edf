// The `process` head shared by the process families: process.X,
// process("PATH").X, process(PID).X. PATH resolves as stap resolves it (a
// path, or a name found on $PATH, of an executable regular file, symlinks
// resolved), so that process("PATH") matches what the kernel runs.

import { accessSync, constants, realpathSync, statSync } from "node:fs";
import { error } from "../diagnostic.js";
import type { ProbeComponent } from "../parse/ast.js";
import { semErr } from "../elaborate/tokens.js";
import { tracepointsProblem } from "../targets/tracepoints.js";
import type { PointResult } from "./family.js";
import type { ProcessWhat } from "../../runtime/event-def.js";

export type { ProcessWhat } from "../../runtime/event-def.js";

/** process.begin/.end/.thread.*, .syscall/.syscall.return: over the task and syscall tracepoints. */
export interface ProcessPoint {
  kind: "process";
  what: ProcessWhat;
  /** process("PATH"), absent for bare `process.X` and process(PID) */
  path?: string;
  pid?: number;
}

declare module "./family.js" {
  interface PointKinds {
    process: ProcessPoint;
  }
}

const q = (s: string): string => `"${s}"`;

/**
 * A `process...` point whose components after the head spell one of
 * `whats` (and take no arguments): resolved, or undefined when it is not
 * the asking family's.
 */
export function resolveProcessPoint(components: readonly ProbeComponent[], whats: readonly ProcessWhat[]): PointResult | undefined {
  const head = components[0];
  if (head?.name !== "process") return undefined;
  const what = components.slice(1).map((c) => c.name).join(".") as ProcessWhat;
  if (!whats.includes(what) || components.slice(1).some((c) => c.arg !== undefined)) return undefined;
  const problem = tracepointsProblem();
  if (problem !== undefined) return { diagnostics: [semErr(`cannot probe the kernel here: ${problem}`, `identifier '${head.name}'`, head.pos)] };
  const arg = head.arg;
  if (arg === undefined) return { matches: [{ point: { kind: "process", what }, pp: `process.${what}` }] };
  if (arg.kind === "number") {
    const pid = Number(arg.value);
    return { matches: [{ point: { kind: "process", what, pid }, pp: `process(${pid}).${what}` }] };
  }
  const path = resolveExecutable(arg.value);
  if (path === undefined) return { diagnostics: [error("semantic error", `cannot find executable '${arg.value}'`, head.pos)] };
  return { matches: [{ point: { kind: "process", what, path }, pp: `process(${q(path)}).${what}` }] };
}

/** stap resolves process("NAME") like a shell: a path, or a name found in $PATH, of an executable regular file; symlinks resolved. */
export function resolveExecutable(name: string): string | undefined {
  if (name === "") return undefined;
  const candidates = name.includes("/") ? [name] : (process.env.PATH ?? "/usr/bin:/bin").split(":").map((d) => `${d}/${name}`);
  for (const c of candidates) {
    if (!isExecutableFile(c)) continue;
    return canonicalPath(c);
  }
  return undefined;
}

/** process("PATH") matches the executable the kernel runs: symlinks resolved, as stap does. */
export function canonicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
