// The tapset search path: tstap's own tapsets/ folder, then every `-I DIR`,
// each with stap's runtime/arch subfolders. Files are indexed by a cheap
// scan of their text (which names they might define) and parsed only when a
// script needs one of those names, once per run.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Diagnostic } from "../diagnostic.js";
import type { AliasDecl, FunctionDecl, GlobalVar, ScriptFile } from "../parse/ast.js";
import { parse, tapsetSearchDirs, type ParseOptions } from "../parse/index.js";

/**
 * tstap's tapsets/ folder. This module runs as src/elaborate/library.ts
 * under vitest and as dist/src/elaborate/library.js after a build (in the
 * snapshot's bundle, import.meta.dirname is the path bin/tstap gave).
 */
export function builtinTapsetDir(): string | undefined {
  for (const rel of ["../../tapsets", "../../../tapsets"]) {
    const dir = join(import.meta.dirname, rel);
    if (existsSync(dir) && statSync(dir).isDirectory()) return dir;
  }
  return undefined;
}

/** The tapset roots of a run, in search order: the built-in folder, then each -I DIR. */
export function tapsetRoots(includeDirs: readonly string[], builtin = builtinTapsetDir()): string[] {
  return [...(builtin ? [builtin] : []), ...includeDirs];
}

interface TapsetFile {
  path: string;
  text: string;
  /** names the text mentions as words: a superset of what it defines */
  words: Set<string>;
  /** first components of the alias names it seems to declare */
  aliasHeads: string[];
  parsed?: ScriptFile | null;
  /** its parse, prepared before the run (prepareTapsets) */
  ready?: ReturnType<typeof parse>;
}

export interface Defined<T> {
  decl: T;
  file: ScriptFile;
}

const WORD = /[A-Za-z_][A-Za-z0-9_]*/g;
const ALIAS = /\bprobe\s+([^{};]*?)\s*\+?=/g;

/** The tapset files (`*.stp`) under these roots, in search order, each once. */
export function tapsetFiles(roots: readonly string[], opts: Pick<ParseOptions, "runtime" | "arch">): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const root of roots) {
    for (const dir of tapsetSearchDirs(root, opts.runtime, opts.arch)) {
      let names: string[];
      try {
        names = readdirSync(dir).sort();
      } catch {
        continue;
      }
      for (const name of names) {
        const path = join(dir, name);
        if (!name.endsWith(".stp") || seen.has(path)) continue;
        seen.add(path);
        out.push(path);
      }
    }
  }
  return out;
}

/** A tapset file read, indexed and parsed while the startup snapshot was built (src/cli/warm.ts). */
interface PreparedTapset {
  text: string;
  words: Set<string>;
  aliasHeads: string[];
  /** handed out once: elaboration may change the tree it is given */
  parsed?: ReturnType<typeof parse>;
}

const prepared = new Map<string, PreparedTapset>();

/**
 * Whether a tapset parses the same in every run: no `%( %)` conditional
 * (kernel version, config, architecture...), script argument or macro
 * definition in its text (library macros are checked where it is used).
 */
function parsesAlone(text: string): boolean {
  return !/%\(|[$@][0-9#]|@define/.test(text);
}

function aliasHeadsOf(text: string): string[] {
  const heads: string[] = [];
  for (const m of text.matchAll(ALIAS)) for (const n of m[1]!.split(",")) heads.push(n.trim().split(".")[0]!);
  return heads;
}

/**
 * Reads, indexes and parses the tapsets under these roots ahead of any run
 * (at the snapshot's build). A run uses what was prepared of a file only
 * when the file's text is still what was read here, and the parse only for
 * files that parse alone, without library macros, once.
 */
export function prepareTapsets(roots: readonly string[], parseOptions: ParseOptions): void {
  prepared.clear();
  for (const path of tapsetFiles(roots, parseOptions)) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      continue;
    }
    const alone = parsesAlone(text) && parseOptions.macros.size === 0;
    prepared.set(path, {
      text,
      words: new Set(text.match(WORD) ?? []),
      aliasHeads: aliasHeadsOf(text),
      ...(alone ? { parsed: parse({ file: path, text, isTapset: true }, parseOptions) } : {}),
    });
  }
}

export class TapsetLibrary {
  private readonly files: TapsetFile[] = [];
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    roots: readonly string[],
    private readonly parseOptions: ParseOptions,
    private readonly sources?: Map<string, string>,
    /** files pass 1 found broken (stap skips them, with a warning) */
    skip: ReadonlySet<string> = new Set(),
  ) {
    for (const path of tapsetFiles(roots, parseOptions)) {
      if (skip.has(path)) continue;
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch {
        continue;
      }
      const ready = prepared.get(path);
      if (ready?.text === text) {
        const parsed = this.parseOptions.macros.size === 0 ? ready.parsed : undefined;
        if (parsed) ready.parsed = undefined;
        this.files.push({ path, text, words: ready.words, aliasHeads: ready.aliasHeads, ...(parsed ? { ready: parsed } : {}) });
        continue;
      }
      this.files.push({ path, text, words: new Set(text.match(WORD) ?? []), aliasHeads: aliasHeadsOf(text) });
    }
  }

  /** Every file of the library, parsed (for --dump-functions and --dump-probe-aliases). */
  all(): ScriptFile[] {
    return this.files.flatMap((f) => this.load(f) ?? []);
  }

  private load(f: TapsetFile): ScriptFile | undefined {
    if (f.parsed !== undefined) return f.parsed ?? undefined;
    const r = f.ready ?? parse({ file: f.path, text: f.text, isTapset: true }, this.parseOptions);
    f.ready = undefined;
    this.sources?.set(f.path, f.text);
    this.diagnostics.push(...r.diagnostics);
    f.parsed = r.file ?? null;
    return r.file;
  }

  private candidates(name: string): ScriptFile[] {
    const out: ScriptFile[] = [];
    for (const f of this.files) {
      if (!f.words.has(name)) continue;
      const p = this.load(f);
      if (p) out.push(p);
    }
    return out;
  }

  functions(name: string): Defined<FunctionDecl>[] {
    const out: Defined<FunctionDecl>[] = [];
    for (const file of this.candidates(name)) for (const d of file.decls) if (d.kind === "function" && d.name === name) out.push({ decl: d, file });
    return out;
  }

  globals(name: string): Defined<GlobalVar>[] {
    const out: Defined<GlobalVar>[] = [];
    for (const file of this.candidates(name))
      for (const d of file.decls) if (d.kind === "global") for (const v of d.vars) if (v.name === name) out.push({ decl: v, file });
    return out;
  }

  /** Files that may declare aliases whose first component matches `head` (a glob). */
  aliasFiles(head: RegExp): ScriptFile[] {
    const out: ScriptFile[] = [];
    for (const f of this.files) {
      if (!f.aliasHeads.some((h) => head.test(h))) continue;
      const p = this.load(f);
      if (p) out.push(p);
    }
    return out;
  }

  aliasesIn(file: ScriptFile): AliasDecl[] {
    return file.decls.filter((d): d is AliasDecl => d.kind === "alias");
  }

  /** Every function name the library seems to define (for "similar:" suggestions). */
  functionNames(): string[] {
    const names = new Set<string>();
    for (const f of this.files) for (const m of f.text.matchAll(/^\s*(?:private\s+)?function\s+([A-Za-z_]\w*)/gm)) names.add(m[1]!);
    return [...names];
  }

  /** Every alias first component the library seems to define (for "similar:" suggestions). */
  aliasHeadNames(): string[] {
    return [...new Set(this.files.flatMap((f) => f.aliasHeads))];
  }
}
