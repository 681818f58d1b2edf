// Pass 2: elaborate. The user's script and the tapset library become a
// resolved program: probe points derived (aliases expanded, wildcards
// matched), names bound, unused code elided (stap's pass-2 optimizations),
// types inferred. Diagnostics are stap's `semantic error:` / `WARNING:`.

import type { Diagnostic } from "../diagnostic.js";
import type { Expr, FunctionDecl, GlobalVar, Pos, ProbeDecl, ScriptFile } from "../parse/ast.js";
import { children, isStmt, walk, type Node } from "./walk.js";
import { replaceNode } from "./fold.js";
import { variableType } from "../points/index.js";
import { warn } from "./tokens.js";
import type { ResolvedPoint } from "./program.js";
import type { ParseOptions } from "../parse/index.js";
import type { FunctionSym, LibraryFunction, Program, ResolvedProbe } from "./program.js";
import { TapsetLibrary, tapsetRoots } from "./library.js";
import { aliasSig, combineConditions, conditionText, Deriver, pointSig, wrapBody, type AliasLayer, type DerivedPoint } from "./derive.js";
import { Resolver, type ResolverHost, type Scope } from "./resolve.js";
import { SymbolTables, type Tok } from "./symbols.js";
import { describeExpr, semErr, semErrPlain, SemanticFailure } from "./tokens.js";
import { TypeInference, type TypedBody } from "./types.js";
import { optimize, type ProbeUnit } from "./optimize.js";
import { lateChecks } from "./checks.js";

export { formatProgram } from "./format.js";
export { builtinTapsetDir, tapsetRoots } from "./library.js";
export { probeTypes, registerPointPattern } from "../points/index.js";

export interface ElaborateOptions {
  /** `-I DIR`, searched after the built-in tapsets */
  tapsetDirs: string[];
  /** `-u`: no elision */
  unoptimized: boolean;
  /** `-w` (the session drops warnings; kept so pass 2 can skip work) */
  suppressWarnings: boolean;
  /** `-g` */
  guru: boolean;
  args: string[];
  defines: ReadonlyMap<string, string>;
  /** how tapset files are parsed (same macros, kernel config...) */
  parseOptions: ParseOptions;
  /** source texts by file name: tapset files read here are added, for diagnostics */
  sources?: Map<string, string>;
  /** `-v` count (stap reports every type mismatch when verbose) */
  verbose?: number;
  /** `-l`/`-L`: listing probes */
  listing?: boolean;
  /** `--skip-badvars`: a context variable the probe point lacks reads as 0 (with a warning) */
  skipBadvars?: boolean;
  /** tapset files pass 1 found broken: left out, as stap leaves them */
  skipTapsets?: ReadonlySet<string>;
  /** tests: use this folder instead of the repository's tapsets/ (null: none) */
  builtinTapsets?: string | null;
}

/** stap's token for the name after `function` (FunctionDecl.pos is the keyword's). */
function nameAfter(text: string | undefined, from: Pos, name: string): Pos {
  if (text === undefined) return from;
  const re = new RegExp(`\\b${name.replace(/[$]/g, "\\$")}\\b`, "g");
  re.lastIndex = from.offset;
  const m = re.exec(text);
  if (!m) return from;
  const before = text.slice(0, m.index);
  const line = before.split("\n").length;
  const col = m.index - (before.lastIndexOf("\n") + 1) + 1;
  return { file: from.file, line, col, offset: m.index };
}

interface ProbeState {
  decl: ProbeDecl;
  derived: DerivedPoint;
  probe: ResolvedProbe;
  scope: Scope;
  failed: boolean;
}

/** The outermost expression that nests past what pass 2 walks (found without recursion). */
function tooDeep(user: ScriptFile): Node | undefined {
  const LIMIT = 5000;
  const stack: [Node, number, Node | undefined][] = [];
  for (const d of user.decls) {
    const o = d as unknown as { body?: Node; condition?: Node };
    if (o.body && typeof o.body === "object") stack.push([o.body, 0, undefined]);
    if (o.condition && typeof o.condition === "object") stack.push([o.condition, 0, undefined]);
  }
  while (stack.length > 0) {
    const [n, depth, top] = stack.pop()!;
    const outer = top ?? (isStmt(n) ? undefined : n);
    if (depth >= LIMIT) return outer ?? n;
    for (const c of children(n)) stack.push([c, depth + 1, outer]);
  }
  return undefined;
}

function describeNode(n: Node): string {
  return isStmt(n) ? "keyword" : describeExpr(n);
}

export function elaborate(user: ScriptFile, opts: ElaborateOptions): { program?: Program; diagnostics: Diagnostic[] } {
  try {
    return new Elaboration(user, opts).run();
  } catch (e) {
    if (e instanceof SemanticFailure) return { diagnostics: e.diagnostics };
    if (e instanceof RangeError && /call stack/.test(e.message)) {
      const message = "the script nests too deeply: an expression thousands of operators long (tstap's stack holds about 10,000)";
      const deep = tooDeep(user);
      return { diagnostics: [deep ? semErr(message, describeNode(deep), deep.pos) : semErrPlain(message)] };
    }
    const message = e instanceof Error ? e.message : String(e);
    return { diagnostics: [semErrPlain(`internal error in pass 2: ${message}`)] };
  }
}

class Elaboration implements ResolverHost {
  readonly tables = new SymbolTables();
  readonly library: TapsetLibrary;
  readonly userFunctions = new Map<string, { decl: FunctionDecl; file: ScriptFile }[]>();
  readonly diags: Diagnostic[] = [];
  private readonly pending: FunctionSym[] = [];
  private readonly sources: Map<string, string>;

  constructor(
    private readonly user: ScriptFile,
    private readonly opts: ElaborateOptions,
  ) {
    this.sources = opts.sources ?? new Map();
    const builtin = opts.builtinTapsets === null ? [] : tapsetRoots(opts.tapsetDirs, opts.builtinTapsets);
    this.library = new TapsetLibrary(opts.builtinTapsets === null ? opts.tapsetDirs : builtin, opts.parseOptions, this.sources, opts.skipTapsets);
  }

  nameTok(_kind: "function", decl: FunctionDecl, file: ScriptFile): Tok {
    return { token: `identifier '${decl.name}'`, pos: nameAfter(this.sources.get(file.name), decl.pos, decl.name) };
  }

  globalTok(v: GlobalVar): Tok {
    return { token: `identifier '${v.name}'`, pos: v.pos };
  }

  queueFunction(f: FunctionSym): void {
    this.pending.push(f);
  }

  /** Resolve a body; errors are recorded (statement by statement, as stap goes on after one). */
  private resolveIn(scope: Scope, work: (r: Resolver) => void): boolean {
    try {
      const r = new Resolver(this, scope);
      work(r);
      return !r.failed;
    } catch (e) {
      if (e instanceof SemanticFailure) {
        this.diags.push(...e.diagnostics);
        return false;
      }
      throw e;
    }
  }

  private drainFunctions(): void {
    while (this.pending.length > 0) {
      const f = this.pending.shift()!;
      if (f.body.kind !== "block") continue;
      const scope: Scope = { kind: "function", locals: f.locals, params: f.params, fn: f };
      const body = f.body;
      this.resolveIn(scope, (r) => r.stmt(body));
    }
  }

  run(): { program?: Program; diagnostics: Diagnostic[] } {
    const user = this.user;
    // the script's own declarations
    for (const d of user.decls) {
      if (d.kind === "global") for (const v of d.vars) this.tables.addGlobal(v, user, this.diags, (x) => this.globalTok(x));
      if (d.kind === "function") {
        const list = this.userFunctions.get(d.name) ?? [];
        list.push({ decl: d, file: user });
        this.userFunctions.set(d.name, list);
      }
      if (d.kind === "embedded") this.diags.push(semErr("embedded C code cannot run on tstap: it needs a kernel module", "embedded-code", d.pos));
    }
    const userAliases: AliasLayer[] = user.decls.filter((d) => d.kind === "alias").map((alias) => ({ alias, file: user }));
    const isGlobal = (name: string): boolean => this.tables.globals.has(name) || this.library.globals(name).length > 0;
    const deriver = new Deriver(this.library, { kernelConfig: this.opts.parseOptions.kernelConfig, guru: this.opts.guru }, userAliases, isGlobal);

    // derive every probe point of the script
    const states: ProbeState[] = [];
    this.deriveProbes(user, deriver, isGlobal, states);
    void aliasSig;
    // -l/-L list what the points resolve to; bodies are not analysed
    if (this.opts.listing) {
      if (this.diags.some((d) => d.severity === "error")) return { diagnostics: this.diags };
      return { program: this.listingProgram(states), diagnostics: this.diags };
    }

    // bind names, probe by probe, then the functions they reach
    for (const st of states) this.bindProbe(st);
    // stap resolves every function of the script (used or not, in file order), then the tapset ones pulled in
    const order = new Map<FunctionDecl, number>();
    user.decls.forEach((d, i) => d.kind === "function" && order.set(d, i));
    for (const [name, list] of this.userFunctions) {
      for (const arity of new Set(list.map((x) => x.decl.params.length))) {
        const call = { kind: "call" as const, name, args: [], pos: list[0]!.decl.pos };
        this.resolveIn({ kind: "function", locals: [], params: [] }, (r) => r.ensureGroup(name, arity, call));
      }
    }
    const userFirst = (f: FunctionSym): number => {
      const info = this.tables.functions.get(f);
      return info && order.has(info.decl) ? order.get(info.decl)! : Number.MAX_SAFE_INTEGER;
    };
    this.pending.sort((a, b) => userFirst(a) - userFirst(b));
    this.drainFunctions();
    // stap adds the probes of every tapset file the program uses (argv.stp's
    // begin probe fills argv[]); they may use further files in turn
    const pulled = new Set<ScriptFile>([user]);
    for (;;) {
      const fresh = this.usedFiles().filter((f) => !pulled.has(f));
      if (fresh.length === 0) break;
      for (const f of fresh) {
        pulled.add(f);
        const before = states.length;
        this.deriveProbes(f, deriver, isGlobal, states);
        for (const st of states.slice(before)) this.bindProbe(st);
      }
      this.drainFunctions();
    }
    this.diags.push(...this.library.diagnostics);
    if (this.diags.some((d) => d.severity === "error")) return { diagnostics: this.diags };

    // stap's pass-2 optimizations
    const units: ProbeUnit[] = states.map((s) => ({ probe: s.probe, decl: s.decl }));
    const kept = optimize(
      {
        tables: this.tables,
        probes: units,
        unoptimized: this.opts.unoptimized,
        userFile: user,
      },
      this.diags,
    );
    if (kept.probes.length === 0) {
      this.diags.push(semErrPlain("no probes found"));
      return { diagnostics: this.diags };
    }

    // types
    const functions = kept.functions;
    const bodies: TypedBody[] = [
      ...functions.filter((f) => f.body.kind === "block").map((f) => ({ body: f.body as TypedBody["body"], locals: f.locals, fn: f })),
      ...kept.probes.map((u) => ({ body: u.probe.body, locals: u.probe.locals, point: u.probe.point, pp: u.probe.pp, ...(u.probe.condition ? { condition: u.probe.condition } : {}) })),
    ];
    if (this.opts.skipBadvars) for (const u of kept.probes) this.diags.push(...zeroBadTargets(u.probe.body, u.probe.point));
    const ti = new TypeInference(this.tables, (this.opts.verbose ?? 0) > 0);
    ti.run(bodies, kept.globals);
    this.diags.push(...ti.diags);
    if (this.diags.some((d) => d.severity === "error")) return { diagnostics: this.diags };
    const late = lateChecks({ probes: kept.probes.map((u) => u.probe), functions });
    if (late.length > 0) return { diagnostics: [...this.diags, ...late] };

    const libraryFunctions: LibraryFunction[] = [];
    for (const info of kept.natives) {
      libraryFunctions.push({
        name: info.decl.name,
        returnType: info.decl.returnType ?? "unknown",
        params: info.decl.params.map((p) => ({ name: p.name, type: p.type ?? "unknown" })),
        locals: [],
      });
    }
    const program: Program = {
      files: [user, ...kept.files],
      globals: kept.globals,
      functions,
      probes: kept.probes.map((u, i) => ({ ...u.probe, id: i })),
      args: this.opts.args,
      defines: new Map(this.opts.defines),
      libraryFunctions,
      embeds: [],
      conditionBegin: kept.probes.some((u) => u.probe.condition !== undefined && readsGlobal(u.probe.condition)),
    };
    return { program, diagnostics: this.diags };
  }

  /** Derive the probes a file declares (the script's, or a tapset's pulled in), appending to `states`. */
  private deriveProbes(file: ScriptFile, deriver: Deriver, isGlobal: (name: string) => boolean, states: ProbeState[]): void {
    for (const decl of file.decls) {
      if (decl.kind !== "probe") continue;
      const written = decl.points.map((p) => pointSig(p, isGlobal)).join(",");
      for (const point of decl.points) {
        const r = deriver.derive(point);
        if ("diagnostics" in r) {
          const head = point.components[0]!;
          this.diags.push(semErr("while resolving probe point", `identifier '${head.name}'`, head.pos), ...r.diagnostics);
          continue;
        }
        for (const d of r.points) {
          const condition = combineConditions(d.conditions);
          const sig = d.sig + (condition ? ` if (${conditionText(condition, isGlobal)})` : "");
          const probe: ResolvedProbe = {
            id: states.length,
            point: d.point,
            pp: d.pp,
            written: point,
            body: wrapBody(decl.body, d.layers),
            locals: [],
            ...(condition ? { condition } : {}),
            pos: decl.pos,
            sig,
            derivation: [...d.chain, written].join(" <- "),
          };
          states.push({ decl, derived: d, probe, scope: { kind: "probe", locals: probe.locals, params: [], point: d.point, pp: d.pp }, failed: false });
        }
        if (point.sufficient && r.points.length > 0) break;
      }
    }
  }

  private bindProbe(st: ProbeState): void {
    const body = st.probe.body;
    st.failed = !this.resolveIn(st.scope, (r) => r.stmt(body));
    if (st.probe.condition) {
      const cond = st.probe.condition;
      const ok = this.resolveIn({ kind: "condition", locals: [], params: [] }, (r) => r.expr(cond));
      st.failed ||= !ok;
    }
  }

  /** Tapset files whose functions or globals the program has bound so far. */
  private usedFiles(): ScriptFile[] {
    const out = new Set<ScriptFile>();
    for (const info of this.tables.functions.values()) out.add(info.file);
    for (const info of this.tables.vars.values()) if (info.file) out.add(info.file);
    return [...out];
  }

  private listingProgram(states: readonly ProbeState[]): Program {
    return {
      files: [this.user],
      globals: [],
      functions: [],
      probes: states.map((s, i) => ({ ...s.probe, id: i })),
      args: this.opts.args,
      defines: new Map(this.opts.defines),
    };
  }
}

/**
 * stap's --skip-badvars: each `$var` the probe point does not offer becomes
 * the literal 0, with a warning. `@defined($var)` is left alone: it already
 * says whether the variable exists.
 */
function zeroBadTargets(body: Node, point: ResolvedPoint): Diagnostic[] {
  const out: Diagnostic[] = [];
  const visit = (n: Node): void => {
    if ((n as Expr).kind === "defined") return;
    if ((n as Expr).kind === "target") {
      const t = n as Extract<Expr, { kind: "target" }>;
      if (variableType(point, t.name) === undefined) {
        out.push(warn("Bad $context variable being substituted with literal 0", `identifier '$${t.name}'`, t.pos));
        replaceNode(t, { kind: "number", value: 0n, text: "0", pos: t.pos });
        return;
      }
    }
    for (const c of children(n)) visit(c);
  };
  visit(body);
  return out;
}

function readsGlobal(e: Expr): boolean {
  let found = false;
  walk(e, (n) => {
    if (n.kind === "ident" && (n.sym as { kind?: string } | undefined)?.kind === "global") found = true;
  });
  return found;
}
