// Probe derivation: a written probe point becomes concrete probes by
// expanding aliases (`=` prologues, `+=` epilogues, aliases over aliases,
// wildcards over alias names) and matching the registered families
// (src/points). `?` makes no match silent, `!` stops at the first point that
// matches, and conditions on the way combine with `&&`.

import type { Diagnostic } from "../diagnostic.js";
import type { AliasDecl, Block, Expr, LogicalExpr, ProbeComponent, ProbePoint, ScriptFile } from "../parse/ast.js";
import { printExpr } from "../parse/print.js";
import type { ResolvedPoint } from "./program.js";
import type { TapsetLibrary } from "./library.js";
import { explainMismatch, pointText, resolvePoint, type ResolveContext } from "../points/index.js";
import { globToRegExp as globRegex } from "../targets/glob.js";
import { semErr } from "./tokens.js";
import { cloneTree, walk } from "./walk.js";
import { foldConstants } from "./fold.js";

/** One alias a derivation went through. */
export interface AliasLayer {
  alias: AliasDecl;
  file: ScriptFile;
}

export interface DerivedPoint {
  point: ResolvedPoint;
  /** pp(): the concrete point */
  pp: string;
  /** the concrete point as -p2 prints it (with `?`/`!` and the condition) */
  sig: string;
  /** aliases passed through, the user-facing one first */
  layers: AliasLayer[];
  /** conditions met on the way, outermost (the user's) first */
  conditions: Expr[];
  /** what -p2 prints after `<-`: alias signatures, innermost first */
  chain: string[];
}

const MAX_ALIAS_DEPTH = 32;

/** Says whether a name is a global (stap prints resolved globals under their internal name). */
export type IsGlobal = (name: string) => boolean;

/** A condition as stap prints it after resolution: globals as `__global_NAME`. */
export function conditionText(e: Expr, isGlobal: IsGlobal): string {
  const copy = cloneTree(e);
  walk(copy, (n) => {
    if (n.kind === "ident" && isGlobal(n.name)) n.name = `__global_${n.name}`;
  });
  return printExpr(copy);
}

/** A probe point as stap prints it in a signature: its condition included. */
export function pointSig(p: ProbePoint, isGlobal: IsGlobal = () => false): string {
  return pointText(p) + (p.condition ? ` if (${conditionText(p.condition, isGlobal)})` : "");
}

export function aliasSig(a: AliasDecl, isGlobal: IsGlobal = () => false): string {
  const sig = (p: ProbePoint): string => pointSig(p, isGlobal);
  return `${a.names.map(sig).join(", ")} ${a.epilogue ? "+=" : "="} ${a.targets.map(sig).join(", ")}`;
}

export class Deriver {
  private readonly aliases: AliasLayer[] = [];
  private readonly loadedAliasFiles = new Set<ScriptFile>();

  constructor(
    private readonly library: TapsetLibrary | undefined,
    private readonly ctx: ResolveContext,
    userAliases: AliasLayer[],
    private readonly isGlobal: IsGlobal = () => false,
  ) {
    this.aliases.push(...userAliases);
  }

  /** Alias heads known so far (for suggestions). */
  aliasHeads(): string[] {
    const heads = this.aliases.map((a) => a.alias.names.map((n) => n.components[0]?.name ?? "")).flat();
    return [...heads, ...(this.library?.aliasHeadNames() ?? [])];
  }

  private pullLibraryAliases(head: string): void {
    if (!this.library) return;
    for (const file of this.library.aliasFiles(globRegex(head))) {
      if (this.loadedAliasFiles.has(file)) continue;
      this.loadedAliasFiles.add(file);
      for (const a of this.library.aliasesIn(file)) this.aliases.push({ alias: a, file });
    }
  }

  /**
   * Aliases whose name matches the written components: the name may be a
   * prefix, the rest being suffixes appended to each target.
   */
  private matchingAliases(components: readonly ProbeComponent[]): { layer: AliasLayer; suffix: ProbeComponent[] }[] {
    this.pullLibraryAliases(components[0]!.name);
    const out: { layer: AliasLayer; suffix: ProbeComponent[] }[] = [];
    const seen = new Set<AliasDecl>();
    for (const layer of this.aliases) {
      if (seen.has(layer.alias)) continue;
      for (const name of layer.alias.names) {
        const n = name.components;
        if (n.length > components.length) continue;
        let ok = true;
        for (let i = 0; i < n.length && ok; i++) {
          const w = components[i]!;
          ok = globRegex(w.name).test(n[i]!.name) && w.arg === undefined && n[i]!.arg === undefined;
        }
        // a wildcard only expands over whole names, never into suffixes
        if (ok && n.length < components.length && components.slice(n.length).some((c) => c.name.includes("*"))) ok = false;
        if (ok) {
          seen.add(layer.alias);
          out.push({ layer, suffix: components.slice(n.length) });
          break;
        }
      }
    }
    return out;
  }

  /**
   * The concrete probes of one written point, or the diagnostics of a point
   * that cannot resolve. An empty list is a silent no-match (`?`).
   */
  derive(p: ProbePoint, depth = 0): { points: DerivedPoint[] } | { diagnostics: Diagnostic[] } {
    if (depth > MAX_ALIAS_DEPTH) return { diagnostics: [semErr("recursive loop in alias expansion", `identifier '${p.components[0]!.name}'`, p.pos)] };
    const out: DerivedPoint[] = [];
    const wild = p.components.some((c) => c.name.includes("*"));
    let firstError: Diagnostic[] | undefined;

    for (const { layer, suffix } of this.matchingAliases(p.components)) {
      const a = layer.alias;
      for (const target of a.targets) {
        const t: ProbePoint = suffix.length ? { ...target, components: [...target.components, ...suffix] } : target;
        const r = this.derive(t, depth + 1);
        if ("diagnostics" in r) {
          if (!t.optional && !t.sufficient) firstError ??= r.diagnostics;
          continue;
        }
        for (const d of r.points) {
          out.push({ ...d, layers: [layer, ...d.layers], conditions: [...(p.condition ? [p.condition] : []), ...d.conditions], chain: [...d.chain, aliasSig(a, this.isGlobal)] });
        }
        if (t.sufficient && r.points.length > 0) break;
      }
    }

    const builtin = resolvePoint(p.components, p.pos, this.ctx);
    if (builtin && "diagnostics" in builtin) firstError ??= builtin.diagnostics;
    else if (builtin) {
      if (builtin.matches.length === 0 && builtin.whyNone && !p.optional && !p.sufficient) firstError ??= [builtin.whyNone];
      for (const m of builtin.matches) {
        const flags = p.sufficient ? "!" : p.optional ? "?" : "";
        out.push({ point: m.point, pp: m.pp, sig: m.pp + flags, layers: [], conditions: p.condition ? [p.condition] : [], chain: [] });
      }
    }

    if (out.length > 0) return { points: out };
    if (firstError && !wild) return { diagnostics: firstError };
    if (p.optional || p.sufficient) return { points: [] };
    if (firstError) return { diagnostics: firstError };
    return { diagnostics: [explainMismatch(p.components, this.aliasHeads())] };
  }
}

/** A derived probe's conditions as one expression, `&&`-ed in stap's order (alias's first). */
export function combineConditions(conds: Expr[]): Expr | undefined {
  if (conds.length === 0) return undefined;
  const copies = conds.map((c) => {
    const copy = cloneTree(c);
    foldConstants(copy);
    return copy;
  });
  // stap puts the alias target's condition first, the user's after
  copies.reverse();
  let acc = copies[0]!;
  for (const c of copies.slice(1)) {
    const l: LogicalExpr = { kind: "logical", op: "&&", left: acc, right: c, pos: acc.pos };
    acc = l;
  }
  return acc;
}

/** The body of a derived probe: each alias layer wraps what it derives from, innermost last. */
export function wrapBody(user: Block, layers: readonly AliasLayer[]): Block {
  let body = cloneTree(user);
  for (const { alias } of layers) {
    const own = cloneTree(alias.body);
    const stmts = alias.epilogue ? [body, own] : [own, body];
    if (alias.epilogueBody) stmts.push(cloneTree(alias.epilogueBody));
    body = { kind: "block", stmts, pos: body.pos };
  }
  return body;
}
