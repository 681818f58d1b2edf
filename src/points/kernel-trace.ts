// kernel.trace("SYSTEM:EVENT") / kernel.trace("EVENT"), wildcards * ? [..]
// in both parts: this kernel's static tracepoints. Variables are the
// fields of the event's `format` (see src/targets/tracepoints.ts for how
// each C type reads); `$$vars`/`$$parms` list them all. Conditions on
// fields are pushed into the event's tracefs filter.

import { error } from "../diagnostic.js";
import type { ProbeComponent } from "../parse/ast.js";
import { semErr } from "../elaborate/tokens.js";
import { levenshtein } from "../elaborate/similar.js";
import type { FilterField } from "../translate/filter-pushdown.js";
import { listTracepoints, matchTracepoints, readTracepointFormat, tracepointsProblem, type TracepointField, type TracepointFormat } from "../targets/tracepoints.js";
import { family, type Lowering, type PointMatch, type PointResult, type PrettyKind, type ResolvedPoint, type TargetVariable } from "./family.js";

export interface TracepointPoint {
  kind: "tracepoint";
  system: string;
  event: string;
}

declare module "./family.js" {
  interface PointKinds {
    tracepoint: TracepointPoint;
  }
}

const q = (s: string): string => `"${s}"`;

function resolve(components: readonly ProbeComponent[]): PointResult | undefined {
  const head = components[0];
  if (head?.name !== "kernel" || components[1]?.name !== "trace") return undefined;
  const problem = tracepointsProblem();
  if (problem !== undefined) return { diagnostics: [semErr(`cannot probe the kernel here: ${problem}`, `identifier '${head.name}'`, head.pos)] };
  if (components.length !== 2) return undefined;
  const arg = components[1].arg;
  if (arg?.kind !== "string") return { diagnostics: [error("semantic error", "kernel.trace needs a string argument: kernel.trace(\"SYSTEM:EVENT\")", components[1].pos)] };
  const matches: PointMatch[] = matchTracepoints(arg.value).map((t) => ({
    point: { kind: "tracepoint", system: t.system, event: t.event },
    pp: `kernel.trace(${q(`${t.system}:${t.event}`)})`,
  }));
  if (matches.length > 0) return { matches };
  const similar = traceSuggestions(arg.value);
  const text = `kernel.trace(${JSON.stringify(arg.value)})`;
  const hint = similar.length ? ` (similar tracepoints: ${similar.join(", ")})` : "";
  return { matches, whyNone: semErr(`no match for probe point ${text}${hint}`, `string ${JSON.stringify(arg.value)}`, arg.pos) };
}

/** "did you mean" candidates for a kernel.trace pattern that matched nothing. */
export function traceSuggestions(pattern: string, limit = 5): string[] {
  const ev = pattern.includes(":") ? pattern.slice(pattern.indexOf(":") + 1) : pattern;
  const plain = ev.replace(/[*?[\]]/g, "");
  if (plain.length < 3) return [];
  return listTracepoints()
    .map((t) => ({ t, d: levenshtein(plain, t.event) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, limit)
    .filter((x) => x.d <= Math.max(2, plain.length / 3))
    .map((x) => `${x.t.system}:${x.t.event}`);
}

function prettyKind(f: TracepointField): PrettyKind {
  if (f.shape === "string" || f.shape === "bytes") return "s";
  if (f.shape === "int-array") return "a";
  return (f.narrow?.signed ?? f.signed) ? "i" : "u";
}

/** A format field as a script variable: integers (and int arrays' elements) are longs, the rest strings. */
export function fieldVariable(f: TracepointField): TargetVariable {
  return {
    name: f.name,
    type: f.shape === "int" || f.shape === "int-array" ? "long" : "string",
    display: f.cType,
    read: { kind: "field", field: f.name, shape: f.shape, pretty: prettyKind(f) },
  };
}

/** The fields a filter may test: integers read whole, and strings. */
export function filterFields(fmt: TracepointFormat): Map<string, FilterField> {
  const m = new Map<string, FilterField>();
  for (const f of fmt.fields) {
    // a narrowed field's upper bytes are whatever the register held: the kernel compares all of them
    if (f.shape === "int" && !f.narrow) m.set(f.name, { name: f.name, kind: "int", size: f.size, signed: f.signed });
    else if (f.shape === "string") m.set(f.name, { name: f.name, kind: "string", size: f.size, signed: false, arrayLen: f.arrayLen });
  }
  return m;
}

export const tracepoints = family<TracepointPoint>({
  name: "kernel.trace",
  heads: ["kernel"],
  shapes: ["kernel.trace(string)"],
  resolve,
  owns: (p: ResolvedPoint): p is TracepointPoint => p.kind === "tracepoint",
  variables: (p) => readTracepointFormat(p.system, p.event)?.fields.map(fieldVariable) ?? [],
  bundles: () => ["vars", "parms"],
  variableNoun: "tracepoint variable",
  lower(p, lp, planner): Lowering | undefined {
    const def = planner.tracepoint(p.system, p.event);
    const format = readTracepointFormat(p.system, p.event);
    if (!def || !format) {
      planner.fail(`tracepoint '${p.system}:${p.event}' does not exist on this kernel`, lp.probe.pos);
      return undefined;
    }
    const event = planner.listen(def, { how: "direct", probe: lp.id, pn: lp.pn }, planner.pushdown(lp.probe, filterFields(format)));
    return { trigger: { kind: "event", event } };
  },
});
