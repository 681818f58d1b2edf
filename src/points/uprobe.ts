// User-space function probes without debug info, over the kernel's uprobe
// tracer (uprobe_events):
//   process("PATH").function("NAME")            entry of NAME (globs; C++ by demangled name)
//   process("PATH").function("NAME").call       the same (no inlined copies without DWARF)
//   process("PATH").function("NAME").return     return of NAME ($return, returnval())
//   process("PATH").library("LIB").function(...) a library the program loads
//   process(PID).function(...) / .library(...)   what process PID runs / maps
//   process("PATH").function(0xADDR)            the function starting at ADDR
//   process("PATH").statement(0xADDR).absolute  any instruction (-g: a wrong address corrupts the target)
// Objects are named and read by src/targets (objects.ts, functions.ts,
// proc.ts, elf/). Each point becomes one `p:`/`r:` line of the run's own
// group, at the function's file offset. What a handler reads at the event
// (returnval(), int_arg(N), register("rax"), user_string(...) of those) is
// turned into the event's fetch arguments by uprobe-fetch.ts.

import { basename } from "node:path";
import type { Diagnostic } from "../diagnostic.js";
import type { ProbeComponent } from "../parse/ast.js";
import { semErr } from "../elaborate/tokens.js";
import { TargetError } from "../targets/errors.js";
import { fileOffsetOf, isExecutableAddress, probedObject, readSection, type Elf } from "../targets/elf/elf.js";
import type { ProbedObject } from "../../runtime/event-def.js";
import { functionAt, matchFunctions, suggestFunctions, type FunctionSymbol } from "../targets/functions.js";
import { resolveIfunc } from "../targets/ifunc-target.js";
import { resolveLibrary, resolveObject } from "../targets/objects.js";
import { findMappedObject, processExecutable, processObjects } from "../targets/proc.js";
import { readElf } from "../targets/elf/elf.js";
import { isGlob } from "../targets/glob.js";
import { refusedEntries } from "../targets/uprobe-insn.js";
import { family, type Lowering, type PointResult, type ResolveContext, type ResolvedPoint, type TargetVariable } from "./family.js";
import { lowerUprobeReads } from "./uprobe-fetch.js";

export interface UprobePoint {
  kind: "uprobe";
  /** entry of a function, its return, or a raw instruction address */
  at: "function" | "return" | "statement";
  /** the file uprobe_events opens (symlinks resolved; /proc/PID/exe for a deleted binary) */
  path: string;
  /** probemod(): the object's file name */
  module: string;
  /** probefunc(): the function (demangled), empty for a statement outside any function */
  function: string;
  /** ELF virtual address of the probed instruction */
  address: number;
  /** its file offset: what the uprobe line names */
  offset: number;
  /** the object as it was read when the point was resolved (its build-id, its file's identity): checked when armed */
  object: ProbedObject;
  /** process(PID): only that process */
  pid?: number;
}

declare module "./family.js" {
  interface PointKinds {
    uprobe: UprobePoint;
  }
}

const q = (s: string): string => JSON.stringify(s);
const hex = (n: number): string => `0x${n.toString(16)}`;

export interface Target {
  elf: Elf;
  path: string;
  /** the pp() prefix: `process("PATH")` or `process("EXE").library("LIB")` */
  prefix: string;
  pid?: number;
}

function fail(message: string, c: ProbeComponent): PointResult {
  return { diagnostics: [semErr(message, c.arg ? `${c.arg.kind} ${c.arg.kind === "string" ? q(c.arg.value) : c.arg.text}` : `identifier '${c.name}'`, c.arg?.pos ?? c.pos)] };
}

function targetError(err: unknown, c: ProbeComponent): PointResult {
  if (err instanceof TargetError) return fail(err.message, c);
  throw err;
}

/** process(...) [.library(...)]: the object the rest of the point is in. */
/** process(...) [.library(...)]: the object the rest of the point is in (the USDT family names objects the same way). */
export function objectOf(head: ProbeComponent, lib: ProbeComponent | undefined): Target | PointResult {
  const arg = head.arg!;
  try {
    if (arg.kind === "number") {
      const pid = Number(arg.value);
      const exe = processExecutable(pid);
      if (!lib) {
        const elf = readElf(exe.openPath);
        return { elf, path: exe.openPath, prefix: `process(${pid})`, pid };
      }
      const spec = (lib.arg as { value: string }).value;
      const found = findMappedObject(processObjects(pid), spec);
      if (found.length === 0) return fail(`process ${pid} maps no library '${spec}'`, lib);
      const o = found[0]!;
      return { elf: readElf(o.openPath), path: o.openPath, prefix: `process(${pid}).library(${q(o.path)})`, pid };
    }
    const obj = resolveObject(arg.value);
    if (!lib) return { elf: obj.elf, path: obj.path, prefix: `process(${q(obj.path)})` };
    const spec = (lib.arg as { value: string }).value;
    const l = resolveLibrary(spec, { from: obj.elf });
    return { elf: l.elf, path: l.path, prefix: `process(${q(obj.path)}).library(${q(l.path)})` };
  } catch (err) {
    return targetError(err, lib && !(err instanceof TargetError && /no process|process \d+/.test(err.message)) ? lib : head);
  }
}

/** Go moves goroutine stacks, which corrupts what a return probe saved: refuse. */
function isGoBinary(elf: Elf): boolean {
  return elf.sections.some((s) => s.name === ".go.buildinfo" || s.name === ".gopclntab") || readSection(elf, ".note.go.buildid") !== undefined;
}

function point(t: Target, at: UprobePoint["at"], fn: string, address: number, c: ProbeComponent): UprobePoint | PointResult {
  const offset = fileOffsetOf(t.elf, address);
  if (offset === undefined || !isExecutableAddress(t.elf, address)) return fail(`address ${hex(address)} is outside any executable segment of '${t.path}'`, c);
  return { kind: "uprobe", at, path: t.path, module: basename(t.path), function: fn, address, offset, object: probedObject(t.path, t.elf), ...(t.pid !== undefined ? { pid: t.pid } : {}) };
}

function isResult(x: UprobePoint | PointResult): x is PointResult {
  return "diagnostics" in x || "matches" in x;
}

function resolve(components: readonly ProbeComponent[], _pos: unknown, ctx: ResolveContext): PointResult | undefined {
  const head = components[0];
  if (head?.name !== "process" || head.arg === undefined) return undefined;
  let i = 1;
  const lib = components[i]?.name === "library" ? components[i++] : undefined;
  const what = components[i];
  if (what?.name !== "function" && what?.name !== "statement") return undefined;
  const rest = components.slice(i + 1).map((c) => c.name);
  if (lib && lib.arg?.kind !== "string") return fail("library needs a string argument: .library(\"LIB\")", lib);
  if (what.arg === undefined) return fail(`${what.name} needs an argument: .${what.name}("NAME") or .${what.name}(0xADDR)`, what);

  if (what.name === "statement") {
    if (rest.join(".") !== "absolute" || what.arg.kind !== "number") return fail(".statement needs a raw address and .absolute without debug information: .statement(0xADDR).absolute", what);
    if (!ctx.guru) return fail("probing a raw address (.statement(ADDR).absolute) needs guru mode (-g): a uprobe that is not on an instruction boundary corrupts the target", what);
    const t = objectOf(head, lib);
    if ("diagnostics" in t || "matches" in t) return t;
    const address = Number(what.arg.value);
    const p = point(t, "statement", "", address, what);
    if (isResult(p)) return p;
    return { matches: [{ point: p, pp: `${t.prefix}.statement(${hex(address)}).absolute` }] };
  }

  const suffix = rest.join(".");
  if (suffix !== "" && suffix !== "return" && suffix !== "call") return undefined;
  const at: UprobePoint["at"] = suffix === "return" ? "return" : "function";
  const t = objectOf(head, lib);
  if ("diagnostics" in t || "matches" in t) return t;
  if (at === "return" && isGoBinary(t.elf)) return fail(`'${t.path}' is a Go program: Go moves goroutine stacks, which breaks return probes (probe the function's entry instead)`, components[i + 1] ?? what);
  const tail = suffix === "" ? "" : `.${suffix}`;

  if (what.arg.kind === "number") {
    const address = Number(what.arg.value);
    const f = functionAt(t.elf, address);
    if (!f) return fail(`no function starts at ${hex(address)} in '${t.path}' (.function(ADDR) takes a function's entry; a raw address is .statement(ADDR).absolute with -g)`, what);
    const p = point(t, at, f.symbol.displayName, address, what);
    if (isResult(p)) return p;
    const why = refusedEntries(t.elf, [p.offset]).get(p.offset);
    if (why !== undefined) return fail(`cannot probe ${p.function} in '${t.path}': its first instruction has ${why}, which the kernel's uprobes cannot single-step`, what);
    return { matches: [{ point: p, pp: `${t.prefix}.function(${q(f.symbol.displayName)})${tail}` }] };
  }

  const pattern = what.arg.value;
  const matches: { point: UprobePoint; pp: string }[] = [];
  const problems: Diagnostic[] = [];
  const add = (s: FunctionSymbol, name: string): void => addAt(s.address, name);
  const addAt = (address: number, name: string): void => {
    const p = point(t, at, name, address, what);
    if (isResult(p)) {
      if ("diagnostics" in p) problems.push(...p.diagnostics);
      return;
    }
    matches.push({ point: p, pp: `${t.prefix}.function(${q(name)})${tail}` });
  };
  for (const m of matchFunctions(t.elf, pattern)) {
    const s = m.symbol;
    if (!s.ifunc) {
      add(s, s.displayName);
      continue;
    }
    // an IFUNC's address is its resolver: probe the implementation the calls
    // reach (as bound in the target process, or in tstap's own for a shared
    // library), else every implementation named after it (one runs per process)
    const r = resolveIfunc(t.elf, s, t.pid);
    if (r.kind === "bound") addAt(r.target.address, s.displayName);
    else if (r.kind === "candidates") for (const impl of r.implementations) add(impl, s.displayName);
    else if (!isGlob(pattern)) return fail(r.reason, what);
  }
  // the kernel would refuse to arm these (uprobe-insn.ts): a glob passes over them, as over an IFUNC it cannot place
  const refused = refusedEntries(t.elf, matches.map((m) => m.point.offset));
  if (refused.size > 0 && !isGlob(pattern)) {
    const p = matches.find((x) => refused.has(x.point.offset))!.point;
    return fail(`cannot probe ${p.function} in '${t.path}': its first instruction has ${refused.get(p.offset)}, which the kernel's uprobes cannot single-step`, what);
  }
  if (refused.size > 0) matches.splice(0, matches.length, ...matches.filter((x) => !refused.has(x.point.offset)));
  if (matches.length > 0) return { matches };
  if (problems.length > 0 && !isGlob(pattern)) return { diagnostics: problems };
  const similar = suggestFunctions(t.elf, pattern);
  const text = `${t.prefix}.function(${q(pattern)})${tail}`;
  return { matches: [], whyNone: semErr(`no match for probe point ${text}${similar.length ? ` (similar functions: ${similar.join(", ")})` : ""}`, `string ${q(pattern)}`, what.arg.pos) };
}

const RETURN_VAR: TargetVariable = {
  name: "return",
  type: "long",
  display: "long",
  read: { kind: "field", field: "retval", shape: "int", pretty: "i" },
  fetch: { name: "retval", fetch: "$retval", type: "s64", scriptType: "long" },
};

/**
 * -L: stap's ` $return:long` on a return, then (after `#`, as for USDT
 * markers) the context functions that read the point's values without debug
 * info, and the file offset tstap arms.
 */
function listing(p: UprobePoint): string {
  const values = p.at === "return" ? "returnval()" : "the *_arg(N) functions (x86-64 SysV)";
  return `${p.at === "return" ? " $return:long" : ""}  # ${values}, register(), uaddr(); ${p.at === "return" ? "uretprobe" : "uprobe"} at ${hex(p.offset)}`;
}

export const uprobes = family<UprobePoint>({
  name: "process function",
  heads: ["process"],
  shapes: ["process(number)", "process(string)"].flatMap((head) =>
    [head, `${head}.library(string)`].flatMap((obj) => [
      ...["", ".call", ".return"].flatMap((s) => [`${obj}.function(string)${s}`, `${obj}.function(number)${s}`]),
      `${obj}.statement(number).absolute`,
    ]),
  ),
  resolve,
  owns: (p: ResolvedPoint): p is UprobePoint => p.kind === "uprobe",
  variables: (p) => (p.at === "return" ? [RETURN_VAR] : []),
  bundles: () => [],
  offers: (p) => (p.at === "return" ? ["return-value", "registers", "user-address"] : ["arguments", "registers", "user-address"]),
  listing,
  variableNoun: "target variable",
  lower(p, lp, planner): Lowering | undefined {
    const reads = lowerUprobeReads(p, lp, planner);
    if (!reads) return undefined;
    const place = `${p.path}:${hex(p.offset)}`;
    const type = p.at === "return" ? "r" : "p";
    const args = reads.fetchArgs.map((a) => `${a.name}=${a.fetch}:${a.type}`);
    const def = planner.dynamic({
      probeType: p.at === "return" ? "uretprobe" : "uprobe",
      place,
      fetchArgs: reads.fetchArgs,
      object: p.object,
      ...(p.at === "function" ? { functionEntry: true } : {}),
      line: (event) => [`${type}:\${group}/${event}`, place, ...args].join(" "),
    });
    const own = planner.pushdown(lp.probe, reads.filterFields, reads.filterReads);
    // -c/-x: only the target's process tree; process(PID): that process; selected in the kernel (set_event_pid + event-fork)
    const filter = planner.processScope(own, p.pid);
    const event = planner.listen(def, { how: "direct", probe: lp.id, pn: lp.pn, ...(p.pid !== undefined ? { pid: p.pid } : {}) }, filter);
    return { trigger: { kind: "event", event }, reads: reads.reads, calls: reads.calls };
  },
});
