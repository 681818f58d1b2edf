// USDT markers (sys/sdt.h, `.note.stapsdt`) over the kernel's uprobe tracer:
//   process("PATH").mark("NAME")                     every provider's NAME (globs)
//   process("PATH").provider("P").mark("NAME")       P's NAME (globs on both)
//   process("PATH").library("LIB").mark(...)         a library the program loads
//   process(PID).mark(...)                           what process PID runs (only its events)
// PATH may be a program or a shared library (`process("libstdc++.so.6")`).
// One point per marker; each of its call sites becomes one `p:` line of the
// run's own group at the site's file offset, with the marker's semaphore as
// `(REF_CTR_OFFSET)`: the kernel increments it in every process that maps
// the object (those that start later and dlopen it later too), so
// `*_ENABLED()`-guarded markers fire, and nothing of ours writes the traced
// process's memory. `$argN` are the note's argument forms lowered to fetch
// arguments (src/targets/usdt/args.ts) with stap's sign/zero extension;
// `user_string($argN)` and friends become `+OFF(...)` fetches of the same.

import type { ProbeComponent } from "../parse/ast.js";
import { semErr } from "../elaborate/tokens.js";
import { suggest } from "../elaborate/similar.js";
import { TargetError } from "../targets/errors.js";
import { markerNames, matchMarkers, readStapsdt, type UsdtMarker } from "../targets/usdt/stapsdt.js";
import type { UsdtArg } from "../targets/usdt/args.js";
import type { FetchType, ProbedObject } from "../../runtime/event-def.js";
import { probedObject } from "../targets/elf/elf.js";
import { family, type Lowering, type PointMatch, type PointResult, type ResolvedPoint, type TargetVariable } from "./family.js";
import { lowerMarkerReads } from "./usdt-reads.js";
import { objectOf } from "./uprobe.js";

/** One marker of one object (every call site of provider:name). */
export interface UsdtPoint {
  kind: "usdt";
  /** the file uprobe_events opens (symlinks resolved) */
  path: string;
  provider: string;
  name: string;
  /** its call sites, in note order */
  sites: UsdtMarker[];
  /** `$argN` that exist: the fewest any call site has */
  argCount: number;
  /** process(PID): only that process */
  pid?: number;
  /** the object as it was read (checked when armed) */
  object: ProbedObject;
}

declare module "./family.js" {
  interface PointKinds {
    usdt: UsdtPoint;
  }
}

const q = (s: string): string => JSON.stringify(s);
const hex = (n: number): string => `0x${n.toString(16)}`;

function fail(message: string, c: ProbeComponent): PointResult {
  const what = c.arg ? `${c.arg.kind} ${c.arg.kind === "string" ? q(c.arg.value) : c.arg.text}` : `identifier '${c.name}'`;
  return { diagnostics: [semErr(message, what, c.arg?.pos ?? c.pos)] };
}

function resolve(components: readonly ProbeComponent[]): PointResult | undefined {
  const head = components[0];
  if (head?.name !== "process" || head.arg === undefined) return undefined;
  let i = 1;
  const lib = components[i]?.name === "library" ? components[i++] : undefined;
  const prov = components[i]?.name === "provider" ? components[i++] : undefined;
  const mark = components[i];
  if (mark?.name !== "mark" || components.length !== i + 1) return undefined;
  if (lib && lib.arg?.kind !== "string") return fail('library needs a string argument: .library("LIB")', lib);
  if (prov && prov.arg?.kind !== "string") return fail('provider needs a string argument: .provider("NAME")', prov);
  if (mark.arg?.kind !== "string") return fail('mark needs a string argument: .mark("NAME")', mark);
  const t = objectOf(head, lib);
  if ("diagnostics" in t || "matches" in t) return t;
  const provider = prov?.arg?.kind === "string" ? prov.arg.value : undefined;
  let sites: UsdtMarker[];
  try {
    sites = matchMarkers(t.elf, mark.arg.value, provider);
  } catch (err) {
    if (err instanceof TargetError) return fail(err.message, mark);
    throw err;
  }
  const matches: PointMatch[] = markerNames(sites).map((g) => ({
    point: { kind: "usdt", path: t.path, provider: g.provider, name: g.name, sites: g.sites, argCount: Math.min(...g.sites.map((s) => s.args.length)), object: probedObject(t.path, t.elf), ...(t.pid !== undefined ? { pid: t.pid } : {}) },
    pp: `${t.prefix}${prov ? `.provider(${q(g.provider)})` : ""}.mark(${q(g.name)})`,
  }));
  if (matches.length > 0) return { matches };
  const written = `${t.prefix}${provider !== undefined ? `.provider(${q(provider)})` : ""}.mark(${q(mark.arg.value)})`;
  const all = readStapsdt(t.elf);
  const why = all.length === 0 ? ` ('${t.path}' has no USDT markers: no .note.stapsdt)` : similarMarkers(all, mark.arg.value);
  return { matches: [], whyNone: semErr(`no match for probe point ${written}${why}`, `string ${q(mark.arg.value)}`, mark.arg.pos) };
}

function similarMarkers(all: readonly UsdtMarker[], pattern: string): string {
  const names = [...new Set(all.map((m) => m.name))];
  const plain = pattern.replace(/[*?[\]]/g, "").replace(/-/g, "__");
  const close = plain.length >= 3 ? suggest(plain, names, 5) : [];
  return close.length > 0 ? ` (similar markers: ${close.join(", ")})` : "";
}

/** Where a call site is, for messages: `marker P:N at 0xPC (call site K of M) in 'PATH'`. */
export function siteText(p: UsdtPoint, site: UsdtMarker): string {
  const k = p.sites.indexOf(site);
  const which = p.sites.length > 1 ? ` (call site ${k + 1} of ${p.sites.length})` : "";
  return `marker ${p.provider}:${p.name} at ${hex(site.pc)}${which} in '${p.path}'`;
}

/** The tracefs type of a fetchable argument: the note's size and sign (%ah-style registers are a bitfield). */
export function argFetchType(a: UsdtArg): FetchType {
  return (a.type ?? "s64") as FetchType;
}

/** Why `$argN` (1-based) cannot be read at some call site of `p`; undefined when every site can fetch it. */
export function argProblem(p: UsdtPoint, n: number): string | undefined {
  for (const site of p.sites) {
    const a = site.args[n - 1];
    if (a === undefined) return `$arg${n} does not exist at ${siteText(p, site)}: it has ${site.args.length} argument${site.args.length === 1 ? "" : "s"}`;
    // tracefs bitfields are unsigned: a signed %ah would read 0..255 where stap gives -128..127
    const why = a.unsupported ?? (a.type?.startsWith("b") && a.signed ? `a signed byte in bits 8-15 of a register: tracefs reads bitfields unsigned` : undefined);
    if (why !== undefined || a.fetch === undefined) return `cannot read $arg${n} of ${siteText(p, site)}: its form '${a.text}' cannot be fetched: ${why ?? "tracefs has no fetch argument for it"}`;
  }
  return undefined;
}

function argVariable(p: UsdtPoint, n: number): TargetVariable {
  // stap's $argN are longs whatever the note's sign: 8@ of -3 is -3
  const v: TargetVariable = { name: `arg${n}`, type: "long", display: "long", read: { kind: "field", field: `arg${n}`, shape: "int", pretty: "i" } };
  const problem = argProblem(p, n);
  if (problem !== undefined) v.problem = problem;
  return v;
}

function variables(p: UsdtPoint): TargetVariable[] {
  const out: TargetVariable[] = [];
  for (let n = 1; n <= p.argCount; n++) out.push(argVariable(p, n));
  // stap's $$name / $$provider: the marker's own names
  out.push({ name: "$name", type: "string", display: "string", read: { kind: "constant", value: p.name } });
  out.push({ name: "$provider", type: "string", display: "string", read: { kind: "constant", value: p.provider } });
  return out;
}

/** -L: stap's ` $arg1:long ...`, then what tstap arms: the semaphore and each call site's argument forms. */
function listing(p: UsdtPoint): string {
  let s = "";
  for (let n = 1; n <= p.argCount; n++) s += ` $arg${n}:long`;
  const sems = [...new Set(p.sites.map((x) => (x.semaphore === undefined ? "none" : hex(x.semaphore))))];
  const forms = p.sites.map((x) => `${hex(x.pc)}${x.argsText === "" ? "" : ` ${x.argsText}`}`);
  return `${s}  # semaphore ${sems.join(",")}; ${p.sites.length === 1 ? "site" : `${p.sites.length} sites`} ${forms.join(", ")}`;
}

export const usdtMarkers = family<UsdtPoint>({
  name: "process mark",
  heads: ["process"],
  resolve,
  owns: (p: ResolvedPoint): p is UsdtPoint => p.kind === "usdt",
  variables,
  bundles: () => ["vars", "parms"],
  offers: () => ["registers", "user-address"],
  listing,
  variableNoun: "marker argument",
  lower(p, lp, planner): Lowering | undefined {
    const lowered = lowerMarkerReads(p, lp, planner);
    if (!lowered) return undefined;
    let first: number | undefined;
    for (const [k, site] of p.sites.entries()) {
      const fetchArgs = lowered.fetchArgsAt(k);
      const place = `${p.path}:${hex(site.fileOffset)}${site.semaphoreOffset !== undefined ? `(${hex(site.semaphoreOffset)})` : ""}`;
      const args = fetchArgs.map((a) => `${a.name}=${a.fetch}:${a.type}`);
      const def = planner.dynamic({ probeType: "uprobe", place, fetchArgs, object: p.object, line: (event) => [`p:\${group}/${event}`, place, ...args].join(" ") });
      // -c/-x: only the target's process tree; process(PID): that process; selected in the kernel
      const filter = planner.processScope(planner.pushdown(lp.probe, lowered.filterFieldsAt(k), lowered.filterReadsAt(k)), p.pid);
      const event = planner.listen(def, { how: "direct", probe: lp.id, pn: lp.pn, ...(p.pid !== undefined ? { pid: p.pid } : {}) }, filter);
      first ??= event;
    }
    return { trigger: { kind: "event", event: first! }, reads: lowered.reads, calls: lowered.calls };
  },
});

