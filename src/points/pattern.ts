// Fixed-shape probe points (stap's match_node tree): "timer.ms(number)",
// "begin(number?)". A pattern is parsed once; a written point matches it
// component by component, names by glob, arguments by kind.

import type { ProbeComponent, ProbePoint } from "../parse/ast.js";
import type { PointBuilder, PointPattern } from "./family.js";
import { globToRegExp } from "../targets/glob.js";

export type ArgKind = "none" | "number" | "string" | "number?";

export interface PatternComponent {
  name: string;
  arg: ArgKind;
}

export interface ParsedPattern {
  components: PatternComponent[];
  build: PointBuilder;
}

export function parsePattern(p: PointPattern): ParsedPattern {
  const components = p.pattern.split(".").map((c): PatternComponent => {
    const m = /^([^(]+)(?:\((number\??|string)\))?$/.exec(c);
    if (!m) throw new Error(`bad probe point pattern '${p.pattern}'`);
    return { name: m[1]!, arg: (m[2] as ArgKind | undefined) ?? "none" };
  });
  return { components, build: p.build };
}

export function argOk(kind: ArgKind, c: ProbeComponent): boolean {
  if (kind === "none") return c.arg === undefined;
  if (kind === "number?") return c.arg === undefined || c.arg.kind === "number";
  return c.arg !== undefined && c.arg.kind === kind;
}

/** Does the written component match the pattern's? */
export function componentMatches(w: ProbeComponent, pc: PatternComponent): boolean {
  return globToRegExp(w.name).test(pc.name) && argOk(pc.arg, w);
}

export function componentText(name: string, arg: ProbeComponent["arg"]): string {
  if (!arg) return name;
  return arg.kind === "number" ? `${name}(${arg.value})` : `${name}("${arg.value}")`;
}

/** stap's probe_point::print: components, `!`/`?` (the condition is printed by the caller). */
export function pointText(p: ProbePoint): string {
  return p.components.map((c) => componentText(c.name, c.arg)).join(".") + (p.sufficient ? "!" : p.optional ? "?" : "");
}

export function hasWildcard(p: { components: readonly ProbeComponent[] }): boolean {
  return p.components.some((c) => c.name.includes("*"));
}

/** pn(): the point as the script wrote it, e.g. `kernel.trace("*getppid*")`. */
export function writtenText(p: { components: readonly ProbeComponent[] }): string {
  return p.components
    .map((c) => {
      if (!c.arg) return c.name;
      const a = c.arg.kind === "string" ? JSON.stringify(c.arg.value) : c.arg.text;
      return `${c.name}(${a})`;
    })
    .join(".");
}
