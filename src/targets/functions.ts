// Function symbols of an object: listing, stap-style glob matching over raw and demangled names, alias dedup, suggestions.

import { suggest } from "../elaborate/similar.js";
import { cxxNameParts, demangleAll, isMangled, withoutTemplateArgs } from "./demangle.js";
import { elfCacheKey, type Elf } from "./elf/elf.js";
import { findDebugFile } from "./elf/debugfile.js";
import { readSymbols, versionedName, type ElfSymbol, type SymbolBind } from "./elf/symbols.js";
import { globToRegExp, isGlob } from "./glob.js";
import { countAtOrBelow } from "./sorted.js";
import { hostCache } from "../../runtime/host-state.js";

export interface FunctionSymbol {
  /** the symbol's name as stored, without version (mangled for C++) */
  name: string;
  version?: string;
  defaultVersion?: boolean;
  /** `name@@VER` / `name@VER` / `name` */
  versionedName: string;
  /** c++filt's full name, for mangled names only: `net::Server::handle(int)` */
  demangled?: string;
  /** what to call the function in listings and probefunc(): the demangled name without parameters for C++ (`net::Server::handle`), else `name` */
  displayName: string;
  /** the demangled name without parameters (`net::Server::handle`), or `name` */
  qualified: string;
  /** the unqualified name (`handle`), or `name` */
  base: string;
  /** st_value: the function's entry (for an IFUNC, its resolver's entry) */
  address: number;
  size: number;
  /**
   * STT_GNU_IFUNC: `address` is the resolver, which runs once when the
   * dynamic linker binds the symbol and returns the implementation that
   * calls then reach. Which implementation it picks depends on the CPU and
   * cannot be known from the file alone: probing `address` traps the
   * resolver, not the calls. resolveIfunc (ifunc-target.ts) reads the
   * binding from a live process, or names the candidates.
   */
  ifunc: boolean;
  bind: SymbolBind;
  /** where the name comes from; "debug": the separate debug file's .symtab (a stripped object's local functions) */
  table: "symtab" | "dynsym" | "debug";
}

/** One probe location: a function entry address, under the name picked among its aliases. */
export interface FunctionMatch {
  symbol: FunctionSymbol;
  /** the other function names at this address (versioned), sorted; e.g. malloc's `__libc_malloc` */
  aliases: string[];
}

interface FunctionIndex {
  list: FunctionSymbol[];
  byAddress: Map<number, FunctionSymbol[]>;
  /** sorted by address, for address → function lookups */
  sorted: FunctionSymbol[];
}

const cache = hostCache<string, FunctionIndex>();

/**
 * Every defined function symbol (FUNC and GNU_IFUNC, nonzero address) of
 * both tables, demangled; cached per file version. Every name is listed
 * (aliases too); GCC's `.cold` fragments are left out (they are not entries).
 */
export function functionSymbols(elf: Elf): FunctionSymbol[] {
  return functionIndex(elf).list;
}

function functionIndex(elf: Elf): FunctionIndex {
  const key = elfCacheKey(elf);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const own = readSymbols(elf).symbols.filter(isFunctionEntry);
  const syms: (ElfSymbol | DebugSymbol)[] = own;
  // a stripped object's installed debug file names its local functions (libc6-dbg: __memcpy_avx_unaligned_erms...)
  const debug = readSymbols(elf).hasSymtab ? undefined : findDebugFile(elf);
  if (debug !== undefined) {
    const seen = new Set(own.map((s) => `${s.name}\0${s.value}`));
    for (const s of readSymbols(debug).symbols) {
      if (s.table === "symtab" && isFunctionEntry(s) && !seen.has(`${s.name}\0${s.value}`)) syms.push({ ...s, table: "debug" });
    }
  }
  const demangled = demangleAll(syms.map((s) => s.name));
  const list = syms.map((s, i): FunctionSymbol => {
    const d = isMangled(s.name) && demangled[i] !== s.name ? demangled[i] : undefined;
    const parts = d !== undefined ? cxxNameParts(d) : undefined;
    return {
      name: s.name,
      version: s.version,
      defaultVersion: s.defaultVersion,
      versionedName: versionedName(s),
      demangled: d,
      displayName: parts?.qualified ?? s.name,
      qualified: parts?.qualified ?? s.name,
      base: parts?.base ?? s.name,
      address: s.value,
      size: s.size,
      ifunc: s.type === "GNU_IFUNC",
      bind: s.bind,
      table: s.table,
    };
  });
  const byAddress = new Map<number, FunctionSymbol[]>();
  for (const f of list) {
    const l = byAddress.get(f.address);
    if (l) l.push(f);
    else byAddress.set(f.address, [f]);
  }
  const sorted = [...list].sort((a, b) => a.address - b.address || b.size - a.size);
  const index = { list, byAddress, sorted };
  if (cache.size > 32) cache.clear();
  cache.set(key, index);
  return index;
}

type DebugSymbol = Omit<ElfSymbol, "table"> & { table: "debug" };

function isFunctionEntry(s: ElfSymbol): boolean {
  return s.defined && s.value !== 0 && (s.type === "FUNC" || s.type === "GNU_IFUNC") && !/\.cold(\.\d+)?$/.test(s.name);
}

/**
 * Which names of a symbol a pattern is tested against, by what the pattern
 * looks like (as stap users write them):
 *   `name@VER`, `name@@VER`     the versioned name
 *   `f(int)`, `*(char const*)`  the full demangled name (parameters included)
 *   `ns::Cls::f`, `Server::*`   the qualified name, with and without template arguments
 *   `dispatch_command`, `read*` the raw name, and for C++ the unqualified base name
 *                               (every overload, every namespace) with and without template arguments
 */
function namesFor(s: FunctionSymbol, kind: PatternKind): string[] {
  switch (kind) {
    case "versioned":
      return [s.versionedName];
    case "signature":
      return s.demangled !== undefined ? [s.demangled.replace(/ \[clone [^\]]*\]$/, "")] : [s.name];
    case "qualified":
      return s.demangled !== undefined ? [s.qualified, withoutTemplateArgs(s.qualified)] : [s.name];
    case "plain":
      return s.demangled !== undefined ? [s.name, s.base, withoutTemplateArgs(s.base)] : s.name !== cloneOf(s.name) ? [s.name, cloneOf(s.name)] : [s.name];
  }
}

type PatternKind = "versioned" | "signature" | "qualified" | "plain";

/**
 * The function a GCC clone was made from: `work.constprop.0.isra.0` → `work`.
 * The original often no longer exists, so a plain name matches its clones
 * (C++ names get the same from c++filt's ` [clone .isra.0]`).
 */
export function cloneOf(name: string): string {
  return name.replace(/(\.(isra|constprop|part|lto_priv|localalias|clone|specialized)\.\d+)+$/, "");
}

function patternKind(p: string): PatternKind {
  if (p.includes("@")) return "versioned";
  if (p.includes("(")) return "signature";
  if (p.includes("::")) return "qualified";
  return "plain";
}

/** Whether one symbol matches a pattern (a glob or a plain name). */
export function functionMatches(s: FunctionSymbol, pattern: string): boolean {
  const kind = patternKind(pattern);
  if (!isGlob(pattern)) return namesFor(s, kind).includes(pattern);
  const re = globToRegExp(pattern);
  return namesFor(s, kind).some((n) => re.test(n));
}

/**
 * The functions a `.function(PATTERN)` selects, one per entry address,
 * sorted by address. At an address several names match (aliases such as
 * `malloc`/`__libc_malloc`, `fopen`/`fopen64`, or a C++ constructor's C1/C2
 * copies) one probe is made, named by preferring the name written exactly,
 * then fewer leading underscores, global over weak over local, the default
 * version, the shorter name. Empty when nothing matches (see suggestFunctions).
 */
export function matchFunctions(elf: Elf, pattern: string): FunctionMatch[] {
  const index = functionIndex(elf);
  const all = index.list;
  const kind = patternKind(pattern);
  const glob = isGlob(pattern);
  const re = glob ? globToRegExp(pattern) : undefined;
  const byAddr = new Map<number, FunctionSymbol[]>();
  for (const s of all) {
    const names = namesFor(s, kind);
    if (re !== undefined ? names.some((n) => re.test(n)) : names.includes(pattern)) {
      const l = byAddr.get(s.address);
      if (l) l.push(s);
      else byAddr.set(s.address, [s]);
    }
  }
  const out: FunctionMatch[] = [];
  for (const [addr, cands] of [...byAddr].sort((a, b) => a[0] - b[0])) {
    cands.sort((a, b) => preference(a, b, pattern));
    const chosen = cands[0]!;
    // aliases: every other function name at the address, matched or not
    const aliases = new Set<string>();
    for (const s of index.byAddress.get(addr) ?? []) if (s.versionedName !== chosen.versionedName) aliases.add(s.versionedName);
    out.push({ symbol: chosen, aliases: [...aliases].sort() });
  }
  return out;
}

const BIND_RANK: Record<SymbolBind, number> = { GLOBAL: 0, WEAK: 1, GNU_UNIQUE: 2, LOCAL: 3, OTHER: 4 };

function preference(a: FunctionSymbol, b: FunctionSymbol, pattern: string): number {
  const exact = (s: FunctionSymbol): number => (s.name === pattern || s.versionedName === pattern || s.qualified === pattern || s.base === pattern ? 0 : 1);
  const under = (s: FunctionSymbol): number => /^_*/.exec(s.name)![0].length;
  return (
    exact(a) - exact(b) ||
    under(a) - under(b) ||
    BIND_RANK[a.bind] - BIND_RANK[b.bind] ||
    Number(b.defaultVersion ?? true) - Number(a.defaultVersion ?? true) ||
    a.displayName.length - b.displayName.length ||
    (a.versionedName < b.versionedName ? -1 : a.versionedName > b.versionedName ? 1 : 0)
  );
}

/** The function whose entry is exactly `address` (for `.function(0xADDR)`), preferred name first; undefined when none starts there. */
export function functionAt(elf: Elf, address: number): FunctionMatch | undefined {
  const cands = [...(functionIndex(elf).byAddress.get(address) ?? [])];
  if (cands.length === 0) return undefined;
  cands.sort((a, b) => preference(a, b, ""));
  return { symbol: cands[0]!, aliases: [...new Set(cands.slice(1).map((s) => s.versionedName))].sort() };
}

/** The function containing `address` (entry ≤ address < entry + size), for symbolization and `.statement` checks. */
export function functionContaining(elf: Elf, address: number): FunctionSymbol | undefined {
  const sorted = functionIndex(elf).sorted;
  // the last entry at or below the address, then back over the entries at lower addresses whose size may still cover it
  const lo = countAtOrBelow(sorted, (s) => s.address, address);
  let best: FunctionSymbol | undefined;
  for (let i = lo - 1, steps = 0; i >= 0 && steps < 64; i--, steps++) {
    const s = sorted[i]!;
    const covers = address < s.address + s.size || (s.size === 0 && address === s.address);
    if (covers && (best === undefined || (s.address === best.address ? preference(s, best, "") < 0 : s.address > best.address))) best = s;
  }
  return best;
}

/**
 * Nearest names for a pattern that matched nothing (stap's "did you mean"):
 * plain names for plain patterns, qualified C++ names for `A::b` ones.
 */
export function suggestFunctions(elf: Elf, pattern: string, max = 5): string[] {
  const kind = patternKind(pattern);
  const names = new Set<string>();
  for (const s of functionSymbols(elf)) {
    if (kind === "versioned") names.add(s.versionedName);
    else if (kind === "qualified" || kind === "signature") names.add(s.demangled !== undefined ? s.qualified : s.name);
    else names.add(s.demangled !== undefined ? s.base : cloneOf(s.name));
  }
  return suggest(pattern.replace(/[*?]/g, ""), [...names], max);
}

/**
 * For an IFUNC, the implementations its resolver can return, when the
 * object's .symtab (or its installed debug file's) names them the way
 * glibc does (`memcpy` → `__memcpy_avx_unaligned_erms`,
 * `__memcpy_sse2_unaligned`, ...): local functions named `__NAME_*` or
 * `NAME_*` that no longer IFUNC name claims (`__memcpy_chk_avx512...`
 * belongs to `__memcpy_chk`). Exactly one of them runs in a given process,
 * so probing all of them traps every call once. A naming convention, not
 * a guarantee: ifuncTarget (ifunc-target.ts) reads what a live process
 * really bound. Empty when no symbol table names them.
 */
export function ifuncImplementations(elf: Elf, ifunc: FunctionSymbol): FunctionSymbol[] {
  const all = functionSymbols(elf);
  const stem = (n: string): string => n.replace(/^_+/, "");
  const mine = stem(ifunc.name);
  const longer = [...new Set(all.filter((s) => s.ifunc && stem(s.name).length > mine.length && stem(s.name).startsWith(`${mine}_`)).map((s) => stem(s.name)))];
  const re = new RegExp(`^_*${mine.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_\\w+$`);
  return all.filter(
    (s) => !s.ifunc && s.address !== ifunc.address && s.bind === "LOCAL" && re.test(s.name) && !longer.some((l) => stem(s.name).startsWith(`${l}_`)) && !/_ifunc$/.test(s.name),
  );
}
