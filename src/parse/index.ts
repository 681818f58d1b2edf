// Pass 1: script text to AST. Lex, preprocess (`$1`, `@define`, `%( %)`),
// parse with recovery at declaration boundaries, report diagnostics.

import { readFileSync, readdirSync, existsSync, statSync } from "node:fs";
import { machine, release } from "node:os";
import { join } from "node:path";
import type { IToken } from "chevrotain";
import { error, type Diagnostic } from "../diagnostic.js";
import type { ScriptFile } from "./ast.js";
import type { ConditionEnv } from "./conditions.js";
import { StapParser } from "./grammar.js";
import { NestingError, posOf } from "./grammar-base.js";
import { lex } from "./lexer.js";
import { describeToken } from "./parse-errors.js";
import { Preprocessor, tokPos, type MacroTable } from "./preprocess.js";
import type { Tok } from "./tokens.js";
import { hostCache } from "../../runtime/host-state.js";
import { kernelConfigText } from "../../runtime/kernel-config.js";

export type { MacroTable, MacroDecl } from "./preprocess.js";

export interface ParseOptions {
  /** script arguments, for `$1`/`@1`/`$#`/`@#` */
  args: string[];
  /** filled with the numbers of the script arguments ($N/@N) the user script uses (stap warns of the others) */
  usedArgs?: Set<number>;
  /** `-g`: embedded C allowed in the user script (tapsets always may) */
  guru: boolean;
  /** `uname -r`; `kernel_v` is its part before the first '-' */
  kernelRelease: string;
  /** SystemTap's architecture name: x86_64, i386, arm64, ... */
  arch: string;
  /** "kernel" (what `runtime` compares against; stap's other runtimes are "bpf", "dyninst") */
  runtime: string;
  /** the SystemTap version we claim, for `systemtap_v` */
  systemtapVersion: string;
  privilege: "stapdev" | "stapsys" | "stapusr";
  /** CONFIG_* of the running kernel (empty when no config could be read) */
  kernelConfig: ReadonlyMap<string, string>;
  /** library macros (from `.stpm` files), visible to every file parsed with these options */
  macros: MacroTable;
  /** `-D NAME=VALUE` (not used by pass 1; carried for the passes after) */
  defines: ReadonlyMap<string, string>;
}

/** stap's names for machines: uname's x86_64 stays, aarch64 is arm64, i686 is i386. */
export function stapArch(m: string = machine()): string {
  if (/^i[3-6]86$/.test(m)) return "i386";
  if (m === "aarch64") return "arm64";
  if (m.startsWith("arm")) return "arm";
  if (m === "ppc64le" || m === "ppc64") return "powerpc";
  if (m.startsWith("riscv")) return "riscv";
  return m;
}

const configCache = hostCache<string, Map<string, string>>();

/** CONFIG_* from /boot/config-RELEASE or /proc/config.gz; empty if neither is readable. */
export function readKernelConfig(kernelRelease: string = release()): Map<string, string> {
  const cached = configCache.get(kernelRelease);
  if (cached) return cached;
  const cfg = new Map<string, string>();
  for (const m of (kernelConfigText(kernelRelease) ?? "").matchAll(/^(CONFIG_\w+)=(.*)$/gm)) {
    let v = m[2]!;
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    cfg.set(m[1]!, v);
  }
  configCache.set(kernelRelease, cfg);
  return cfg;
}

/**
 * The kernel config, read at its first use: most scripts and every tapset
 * shipped never test a CONFIG_ value, and reading it (a gunzip of
 * /proc/config.gz) is a good part of a short script's pass 1.
 */
class KernelConfigOnDemand implements ReadonlyMap<string, string> {
  private loaded?: ReadonlyMap<string, string>;
  constructor(private readonly kernelRelease: string) {}
  private get map(): ReadonlyMap<string, string> {
    return (this.loaded ??= readKernelConfig(this.kernelRelease));
  }
  get size(): number {
    return this.map.size;
  }
  get(key: string): string | undefined {
    return this.map.get(key);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  forEach(fn: (value: string, key: string, map: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    this.map.forEach((v, k) => fn.call(thisArg, v, k, this));
  }
  entries(): MapIterator<[string, string]> {
    return this.map.entries();
  }
  keys(): MapIterator<string> {
    return this.map.keys();
  }
  values(): MapIterator<string> {
    return this.map.values();
  }
  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.map[Symbol.iterator]();
  }
}

export function defaultParseOptions(over: Partial<ParseOptions> = {}): ParseOptions {
  const kernelRelease = over.kernelRelease ?? release();
  return {
    args: [],
    guru: false,
    kernelRelease,
    arch: stapArch(),
    runtime: "kernel",
    systemtapVersion: "5.0",
    privilege: "stapdev",
    kernelConfig: over.kernelConfig ?? new KernelConfigOnDemand(kernelRelease),
    macros: new Map(),
    defines: new Map(),
    ...Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)),
  };
}

function envOf(opts: ParseOptions): ConditionEnv {
  return {
    kernelRelease: opts.kernelRelease,
    arch: opts.arch,
    runtime: opts.runtime,
    systemtapVersion: opts.systemtapVersion,
    privilege: opts.privilege,
    guru: opts.guru,
    kernelConfig: opts.kernelConfig,
  };
}

let sharedParser: StapParser | undefined;
function parser(): StapParser {
  // building the parser analyses the whole grammar: do it once
  return (sharedParser ??= new StapParser());
}

const MAX_RECOVERIES = 1000;

function isDeclStart(t: Tok): boolean {
  if (t.kind === "embedded-code") return true;
  return t.kind === "keyword" && (t.image === "probe" || t.image === "private" || t.image === "global" || t.image === "function");
}

/** Parse one file (a user script or a tapset). Never throws on bad input. */
/** What pass 1 made of a file; `empty` when it held no declaration, said as stap says it. */
export interface ParseResult {
  file?: ScriptFile;
  diagnostics: Diagnostic[];
  empty?: "empty" | "empty after preprocessing";
}

export function parse(input: { file: string; text: string; isTapset: boolean }, opts: ParseOptions): ParseResult {
  try {
    return parseFile(input, opts);
  } catch (e) {
    // a bug of ours, not the script's: say so with a position, never a stack trace
    const message = e instanceof Error ? e.message : String(e);
    return { diagnostics: [error("parse error", `internal error in the parser: ${message}`, { file: input.file, line: 1, col: 1, offset: 0 })] };
  }
}

function parseFile(input: { file: string; text: string; isTapset: boolean }, opts: ParseOptions): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const raw = lex(input.text, { file: input.file, args: opts.args, usedArgs: opts.usedArgs });
  const pre = new Preprocessor(raw, envOf(opts), opts.macros, diagnostics);
  const toks = pre.run();

  const p = parser();
  p.begin(opts.guru || input.isTapset);
  for (let i = 0; i < toks.length; i++) toks[i]!.idx = i;
  const indexOf = (t: IToken): number | undefined => {
    const i = (t as Tok).idx;
    return i !== undefined && toks[i] === t ? i : undefined;
  };
  const lastPos = toks.length > 0 ? tokPos(toks[toks.length - 1]!) : { file: input.file, line: 1, col: 1, offset: 0 };

  let start = 0;
  for (let round = 0; round < MAX_RECOVERIES; round++) {
    p.input = start === 0 ? toks : toks.slice(start);
    let bad: IToken | undefined;
    try {
      p.script();
      const e = p.errors[0];
      if (e) {
        bad = e.token;
        diagnostics.push(syntaxError(e.message, e.token, lastPos));
      }
    } catch (e) {
      if (e instanceof NestingError) bad = e.tok;
      else if (e instanceof RangeError) bad = p.nextToken();
      else throw e;
      diagnostics.push(error("parse error", "too deeply nested", indexOf(bad) !== undefined ? posOf(bad) : lastPos));
    }
    if (!bad) break;
    const at = indexOf(bad);
    if (at === undefined) break; // end of file
    let j = Math.max(at, start + 1);
    while (j < toks.length && !isDeclStart(toks[j]!)) j++;
    if (j >= toks.length) break;
    start = j;
    p.depth = 0;
    p.inFunction = false;
  }
  diagnostics.push(...p.semantic, ...globalConflicts(p.decls));
  // report in source order, as one reading of the file would meet them
  const order = (d: Diagnostic): number => (d.pos && d.pos.file === input.file ? d.pos.offset : Number.MAX_SAFE_INTEGER);
  diagnostics.sort((a, b) => order(a) - order(b));
  // stap tells a file that held nothing from one its conditionals emptied
  const empty = p.decls.length === 0 && diagnostics.length === 0 && toks.length === 0 ? (raw.length === 0 ? "empty" : "empty after preprocessing") : undefined;
  return { file: { kind: "file", name: input.file, decls: p.decls, isTapset: input.isTapset }, diagnostics, ...(empty ? { empty } : {}) };
}

/** stap's parser refuses a global declared twice in a file, or declared both private and not. */
function globalConflicts(decls: readonly ScriptFile["decls"][number][]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<string, boolean>();
  for (const d of decls) {
    if (d.kind !== "global") continue;
    for (const v of d.vars) {
      const before = seen.get(v.name);
      if (before === v.private) out.push(error("parse error", "duplicate global name", v.pos));
      else if (before !== undefined) out.push(error("parse error", "global versus private variable declaration conflict", v.pos));
      else seen.set(v.name, v.private);
    }
  }
  return out;
}

function syntaxError(message: string, t: IToken, eof: ScriptFile["decls"][number]["pos"]): Diagnostic {
  const tok = t as Tok;
  if (!tok.kind) return error("parse error", "unexpected end-of-file", eof);
  if (tok.kind === "junk" && tok.junk) return error("parse error", tok.junk, posOf(t));
  return error("parse error", `${message}, saw ${describeToken(t)}`, posOf(t));
}

/** Parse a tapset file (privileged: embedded C allowed) with the same options and macro table. */
export function parseTapset(file: string, text: string, opts: ParseOptions): { file?: ScriptFile; diagnostics: Diagnostic[] } {
  return parse({ file, text, isTapset: true }, opts);
}

/**
 * Read `.stpm` library macro files into a table (stap loads them before any
 * script). A file with anything but `@define`s, or a macro defined twice
 * across files, is an error; its macros are then left out.
 */
export function loadLibraryMacros(files: readonly { file: string; text: string }[], opts: ParseOptions, into: MacroTable = new Map()): { macros: MacroTable; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  for (const f of files) {
    const ds: Diagnostic[] = [];
    const pre = new Preprocessor(lex(f.text, { file: f.file, args: opts.args }), envOf(opts), into, ds, true);
    const rest = pre.run();
    if (rest.length > 0) ds.push(error("parse error", `unexpected token in library macro file '${f.file}'`, tokPos(rest[0]!)));
    for (const [name, decl] of pre.fileMacros) {
      const first = into.get(name);
      if (first && ds.length === 0)
        ds.push(error("parse error", `duplicate definition of library macro '@${name}'`, tokPos(decl.tok), [`macro '@${name}' first defined at ${first.tok.file}:${first.tok.startLine}:${first.tok.startColumn}`]));
    }
    diagnostics.push(...ds);
    if (ds.length === 0) for (const [name, decl] of pre.fileMacros) into.set(name, decl);
  }
  return { macros: into, diagnostics };
}

/** The tapset directories stap searches under ROOT for a runtime and architecture, most general first. */
export function tapsetSearchDirs(root: string, runtime = "kernel", arch = stapArch()): string[] {
  const rt = runtime === "kernel" ? "linux" : runtime;
  return [root, join(root, arch), join(root, rt), join(root, rt, arch)].filter((d) => existsSync(d) && statSync(d).isDirectory());
}

/** The `.stpm` files directly in these directories, sorted by path within each. */
export function macroFilesIn(dirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    for (const name of readdirSync(d).sort()) if (name.endsWith(".stpm")) out.push(join(d, name));
  }
  return out;
}

/** Load every `.stpm` file of these directories (see tapsetSearchDirs). */
export function loadMacroDirs(dirs: readonly string[], opts: ParseOptions): { macros: MacroTable; diagnostics: Diagnostic[] } {
  const files = macroFilesIn(dirs).map((file) => ({ file, text: readFileSync(file, "utf8") }));
  return loadLibraryMacros(files, opts);
}

/**
 * Make the `.stpm` macros of these tapset roots (tstap's tapsets/, each -I
 * DIR) visible to every file parsed with `opts`, as stap does before it
 * reads the user script. Searches each root's runtime and arch subdirectories.
 */
export function loadTapsetMacros(opts: ParseOptions, roots: readonly string[]): Diagnostic[] {
  const dirs = roots.flatMap((r) => tapsetSearchDirs(r, opts.runtime, opts.arch));
  const files = macroFilesIn(dirs).map((file) => ({ file, text: readFileSync(file, "utf8") }));
  return loadLibraryMacros(files, opts, opts.macros).diagnostics;
}
