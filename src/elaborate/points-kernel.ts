// The kernel probe points pass 2 resolves: `kernel.trace("PATTERN")` against
// this kernel's tracepoints, and the `process` family. Registered into the
// elaborator's probe-point table (see registerKernelPoints); everything here
// is plain functions so the table's shape is the only coupling.
//
//   kernel.trace("SYSTEM:EVENT") / ("EVENT"), wildcards * ? [..] in both parts
//   process.begin / .end / .thread.begin / .thread.end
//   process("PATH").begin / .end / .thread.begin / .thread.end / .syscall / .syscall.return
//   process(PID).begin / .end / .thread.begin / .thread.end / .syscall / .syscall.return

import { accessSync, constants, realpathSync, statSync } from "node:fs";
import type { Diagnostic } from "../diagnostic.js";
import { error } from "../diagnostic.js";
import { semErr } from "./tokens.js";
import { levenshtein } from "./similar.js";
import type { Pos, ProbeComponent } from "../parse/ast.js";
import type { ResolvedPoint } from "./program.js";
import { listTracepoints, listVars, tracepointsProblem, matchTracepoints, readTracepointFormat, type TracepointName } from "../targets/tracepoints.js";

export interface KernelPointMatch {
  point: ResolvedPoint;
  /** pp(): the expanded probe point */
  pp: string;
}

/** `whyNone`: when a well-formed point matched nothing, the error to give unless the point is optional */
export type KernelPointResult = { matches: KernelPointMatch[]; whyNone?: Diagnostic } | { diagnostics: Diagnostic[] } | undefined;

const q = (s: string): string => `"${s}"`;

/**
 * Resolve one written probe point if it is a kernel one; undefined when it is
 * not ours (the elaborator tries its other kinds). `matches` is empty when a
 * well-formed point matched nothing (the elaborator decides between `?` and
 * stap's "no match" error).
 */
export function resolveKernelPoint(components: readonly ProbeComponent[], pos: Pos): KernelPointResult {
  const head = components[0];
  if (!head) return undefined;
  const kernelPoint = (head.name === "kernel" && components[1]?.name === "trace") || head.name === "process";
  if (kernelPoint) {
    const problem = tracepointsProblem();
    if (problem !== undefined) return { diagnostics: [semErr(`cannot probe the kernel here: ${problem}`, `identifier '${head.name}'`, head.pos)] };
  }
  if (head.name === "kernel" && components[1]?.name === "trace" && components.length === 2) {
    const arg = components[1].arg;
    if (arg?.kind !== "string") return { diagnostics: [error("semantic error", "kernel.trace needs a string argument: kernel.trace(\"SYSTEM:EVENT\")", components[1].pos)] };
    const matches = traceMatches(arg.value);
    if (matches.length > 0) return { matches };
    const similar = traceSuggestions(arg.value);
    const text = `kernel.trace(${JSON.stringify(arg.value)})`;
    const hint = similar.length ? ` (similar tracepoints: ${similar.join(", ")})` : "";
    return { matches, whyNone: semErr(`no match for probe point ${text}${hint}`, `string ${JSON.stringify(arg.value)}`, arg.pos) };
  }
  if (head.name === "process") return resolveProcess(components, pos);
  return undefined;
}

function traceMatches(pattern: string, all?: readonly TracepointName[]): KernelPointMatch[] {
  return matchTracepoints(pattern, all ?? listTracepoints()).map((t) => ({
    point: { kind: "tracepoint", system: t.system, event: t.event },
    pp: `kernel.trace(${q(`${t.system}:${t.event}`)})`,
  }));
}

const PROCESS_WHATS: Record<string, "begin" | "end" | "thread.begin" | "thread.end" | "syscall" | "syscall.return"> = {
  begin: "begin",
  end: "end",
  "thread.begin": "thread.begin",
  "thread.end": "thread.end",
  syscall: "syscall",
  "syscall.return": "syscall.return",
};

function resolveProcess(components: readonly ProbeComponent[], _pos: Pos): KernelPointResult {
  const head = components[0]!;
  const rest = components.slice(1).map((c) => c.name).join(".");
  const what = PROCESS_WHATS[rest];
  if (what === undefined) return undefined; // process("x").function(...) etc: not ours
  if (components.slice(1).some((c) => c.arg !== undefined)) return undefined;
  const arg = head.arg;
  if (arg === undefined) return { matches: [{ point: { kind: "process", what }, pp: `process.${what}` }] };
  if (arg.kind === "number") {
    const pid = Number(arg.value);
    return { matches: [{ point: { kind: "process", what, pid }, pp: `process(${pid}).${what}` }] };
  }
  const path = resolveExecutable(arg.value);
  if (path === undefined) {
    return {
      diagnostics: [error("semantic error", `cannot find executable '${arg.value}'`, head.pos)],
    };
  }
  return { matches: [{ point: { kind: "process", what, path }, pp: `process(${q(path)}).${what}` }] };
}

/** stap resolves process("NAME") like a shell: a path, or a name found in $PATH, of an executable regular file; symlinks resolved. */
export function resolveExecutable(name: string): string | undefined {
  if (name === "") return undefined;
  const candidates = name.includes("/") ? [name] : (process.env.PATH ?? "/usr/bin:/bin").split(":").map((d) => `${d}/${name}`);
  for (const c of candidates) {
    if (!isExecutableFile(c)) continue;
    try {
      return realpathSync(c);
    } catch {
      return c;
    }
  }
  return undefined;
}

/** `-L`: the variables a kernel point offers, as ` $name:type ...` (empty for others). */
export function kernelPointVars(point: ResolvedPoint): string {
  if (point.kind === "tracepoint") {
    const f = readTracepointFormat(point.system, point.event);
    return f ? listVars(f) : "";
  }
  if (point.kind === "process" && point.what === "syscall") return " $syscall:long $arg1:long $arg2:long $arg3:long $arg4:long $arg5:long $arg6:long";
  if (point.kind === "process" && point.what === "syscall.return") return " $syscall:long $return:long";
  return "";
}

/** The script type of `$name` at a kernel point; undefined when it has no such variable. */
export function kernelVarType(point: ResolvedPoint, name: string): "long" | "string" | undefined {
  if (point.kind === "tracepoint") {
    const f = readTracepointFormat(point.system, point.event)?.fields.find((x) => x.name === name);
    if (!f) return undefined;
    if (f.shape === "int" || f.shape === "int-array") return "long";
    return "string";
  }
  if (point.kind === "process") {
    if (point.what === "syscall" && (name === "syscall" || /^arg[1-6]$/.test(name))) return "long";
    if (point.what === "syscall.return" && (name === "syscall" || name === "return")) return "long";
  }
  return undefined;
}

/** "did you mean" candidates for a kernel.trace pattern that matched nothing. */
export function traceSuggestions(pattern: string, limit = 5): string[] {
  const ev = pattern.includes(":") ? pattern.slice(pattern.indexOf(":") + 1) : pattern;
  const plain = ev.replace(/[*?[\]]/g, "");
  if (plain.length < 3) return [];
  const all = listTracepoints();
  const scored = all
    .map((t) => ({ t, d: levenshtein(plain, t.event) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, limit)
    .filter((x) => x.d <= Math.max(2, plain.length / 3));
  return scored.map((x) => `${x.t.system}:${x.t.event}`);
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
