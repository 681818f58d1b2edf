// -p2 output: the resolved program in stap's layout (main.cxx printscript):
//
//   # global embedded code / # globals / # functions (sorted by name,
//   locals indented) / # probes (each derived probe with its derivation
//   chain in a comment, locals indented), and the `end` probes stap adds
//   to print globals that are written but never read.

import type { Type } from "../parse/ast.js";
import type { FunctionSym, GlobalSym, LocalSym, Program, ResolvedProbe } from "./program.js";

function typeName(t: Type): string {
  return t;
}

/** stap's vardecl::printsig: `name[size]:type [keytypes]`. */
export function globalSig(g: GlobalSym): string {
  let s = g.name + (g.size !== undefined ? `[${g.size}]` : "") + (g.wrap ? "%" : "") + ":" + typeName(g.type);
  if (g.keyTypes && g.keyTypes.length > 0) s += ` [${g.keyTypes.map(typeName).join(", ")}]`;
  return s;
}

function localLines(locals: readonly { name: string; type: Type }[]): string[] {
  if (locals.length === 0) return [];
  return ["  # locals", ...locals.map((l) => `  ${l.name}:${typeName(l.type)}`)];
}

export interface PrintedFunction {
  name: string;
  returnType: Type;
  params: { name: string; type: Type }[];
  locals: { name: string; type: Type }[];
}

function fromSym(f: FunctionSym): PrintedFunction {
  return { name: f.name, returnType: f.returnType, params: f.params.map((p: LocalSym) => ({ name: p.name, type: p.type })), locals: [...f.locals, ...(f.stableLocals ?? [])] };
}

/** The synthetic `end` probes stap adds for globals written and never read (with their locals). */
function autoprintProbes(p: Program): string[] {
  const out: string[] = [];
  for (const g of p.globals) {
    if (!g.written || g.read) continue;
    out.push("end /* <- end */");
    if (g.keyTypes && g.keyTypes.length > 0) {
      const locals = g.keyTypes.map((t, i) => ({ name: `__idx${i}`, type: t }));
      if (g.type !== "stats") locals.push({ name: "__val", type: g.type });
      out.push(...localLines(locals));
    }
  }
  return out;
}

function probeLines(pr: ResolvedProbe): string[] {
  const sig = pr.sig ?? pr.pp;
  const chain = pr.derivation ?? pr.pp;
  return [`${sig} /* <- ${chain} */`, ...localLines([...pr.locals, ...(pr.stableLocals ?? [])])];
}

export function formatProgram(p: Program): string {
  const lines: string[] = [];
  const embeds = p.embeds ?? [];
  if (embeds.length > 0) {
    lines.push("# global embedded code");
    for (const e of embeds) lines.push(`%{${e}%}`);
  }
  if (p.globals.length > 0) {
    lines.push("# globals");
    for (const g of p.globals) lines.push(globalSig(g));
  }
  const fns: PrintedFunction[] = [...p.functions.map(fromSym), ...(p.libraryFunctions ?? [])];
  // stap's map is keyed by the internal name `NAME__overload_N`
  const key = (f: PrintedFunction): string => `${f.name}__`;
  fns.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.params.length - b.params.length));
  if (fns.length > 0) {
    lines.push("# functions");
    for (const f of fns) {
      lines.push(`${f.name}:${typeName(f.returnType)} (${f.params.map((x) => `${x.name}:${typeName(x.type)}`).join(", ")})`);
      lines.push(...localLines(f.locals));
    }
  }
  const probes = [...p.probes.flatMap(probeLines), ...(p.conditionBegin ? ["begin /* <- begin */"] : []), ...autoprintProbes(p)];
  if (probes.length > 0) {
    lines.push("# probes");
    lines.push(...probes);
  }
  return lines.map((l) => l + "\n").join("");
}
