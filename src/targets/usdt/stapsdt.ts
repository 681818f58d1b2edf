// USDT markers: the `.note.stapsdt` notes of an object, with .stapsdt.base (prelink) adjustment, semaphore offsets and parsed arguments.

import { elfCacheKey, fileOffsetOf, isExecutableAddress, readNotes, type Elf } from "../elf/elf.js";
import { readSymbols } from "../elf/symbols.js";
import { TargetError } from "../errors.js";
import { globToRegExp, isGlob } from "../glob.js";
import { parseUsdtArg, splitUsdtArgs, type UsdtArg } from "./args.js";
import { hostCache } from "../../../runtime/host-state.js";

/** One call site of a marker (a marker used in several places has one per place). */
export interface UsdtMarker {
  provider: string;
  name: string;
  /** the call site's address (vaddr), adjusted for prelink through .stapsdt.base */
  pc: number;
  /** its file offset: the uprobe goes at `PATH:0x<fileOffset>` */
  fileOffset: number;
  /** the semaphore's address, adjusted like pc; undefined when the marker has none */
  semaphore?: number;
  /** the semaphore's file offset: uprobe_events' `(REF_CTR_OFFSET)` */
  semaphoreOffset?: number;
  /** the note's argument string */
  argsText: string;
  args: UsdtArg[];
  /** the note's own pc, base and semaphore before adjustment (for -L and debugging) */
  raw: { pc: number; base: number; semaphore: number };
}

const NT_STAPSDT = 3;

const cache = hostCache<string, UsdtMarker[]>();

/**
 * Every marker call site of an object, in note order (cached per file
 * version). Objects without markers give []. A note whose address is not
 * in executable code, or whose semaphore has no file offset, is an error
 * naming the marker (the object is damaged or not what it claims).
 */
export function readStapsdt(elf: Elf): UsdtMarker[] {
  const key = elfCacheKey(elf);
  let list = cache.get(key);
  if (list === undefined) {
    list = parseStapsdt(elf);
    if (cache.size > 32) cache.clear();
    cache.set(key, list);
  }
  return list;
}

function parseStapsdt(elf: Elf): UsdtMarker[] {
  const notes = readNotes(elf).filter((n) => n.owner === "stapsdt" && n.type === NT_STAPSDT);
  if (notes.length === 0) return [];
  const baseSec = elf.sections.find((s) => s.name === ".stapsdt.base");
  let symbols: Map<string, number> | undefined;
  const symbolAddress = (name: string): number | undefined => {
    if (symbols === undefined) {
      symbols = new Map();
      for (const s of readSymbols(elf).symbols) if (s.defined && s.value !== 0 && !symbols.has(s.name)) symbols.set(s.name, s.value);
    }
    return symbols.get(name);
  };
  const out: UsdtMarker[] = [];
  for (const n of notes) {
    const d = n.desc;
    const bad = (why: string): TargetError => new TargetError("malformed", `'${elf.path}' has a malformed stapsdt note at file offset 0x${n.descOffset.toString(16)}: ${why}`);
    if (d.length < 24 + 3) throw bad("too short");
    const u64 = (o: number): number => {
      const v = d.readBigUInt64LE(o);
      if (v >= 1n << 53n) throw bad(`address 0x${v.toString(16)} is out of range`);
      return Number(v);
    };
    const rawPc = u64(0);
    const rawBase = u64(8);
    const rawSem = u64(16);
    const strs: string[] = [];
    let o = 24;
    for (let k = 0; k < 3; k++) {
      const end = d.indexOf(0, o);
      if (end < 0) throw bad("its strings are not NUL-terminated");
      strs.push(d.toString("utf8", o, end));
      o = end + 1;
    }
    const [provider, name, argsText] = strs as [string, string, string];
    // prelink moves sections after the note was written; .stapsdt.base's current address says by how much
    const delta = baseSec !== undefined && rawBase !== 0 ? baseSec.addr - rawBase : 0;
    const pc = rawPc + delta;
    const where = `marker ${provider}:${name} at 0x${pc.toString(16)}`;
    const fileOffset = fileOffsetOf(elf, pc);
    if (fileOffset === undefined || !isExecutableAddress(elf, pc)) throw new TargetError("malformed", `'${elf.path}': ${where} is not in executable code`);
    const m: UsdtMarker = { provider, name, pc, fileOffset, argsText, args: [], raw: { pc: rawPc, base: rawBase, semaphore: rawSem } };
    if (rawSem !== 0) {
      m.semaphore = rawSem + delta;
      m.semaphoreOffset = fileOffsetOf(elf, m.semaphore);
      if (m.semaphoreOffset === undefined) throw new TargetError("malformed", `'${elf.path}': the semaphore of ${where} (0x${m.semaphore.toString(16)}) is not in the file's data`);
    }
    m.args = splitUsdtArgs(argsText).map((a) => parseUsdtArg(a, { pc, pcFileOffset: fileOffset, symbolAddress }));
    out.push(m);
  }
  return out;
}

/** stap writes markers with `__` or with `-` (as dtrace .d files do): `query-start` means `query__start`. */
function normalizeMarkName(pattern: string): string {
  return pattern.replace(/-/g, "__");
}

/**
 * The call sites `.provider(PROVIDER).mark(NAME)` selects (both may be
 * globs; provider undefined = any), in note order.
 */
export function matchMarkers(elf: Elf, name: string, provider?: string): UsdtMarker[] {
  const nameRe = isGlob(name) ? globToRegExp(normalizeMarkName(name)) : undefined;
  const wanted = normalizeMarkName(name);
  const provRe = provider !== undefined && isGlob(provider) ? globToRegExp(provider) : undefined;
  return readStapsdt(elf).filter(
    (m) => (nameRe ? nameRe.test(m.name) : m.name === wanted) && (provider === undefined || (provRe ? provRe.test(m.provider) : m.provider === provider)),
  );
}

/** Markers grouped by provider and name (one entry per marker, its call sites in note order): what -l lists. */
export function markerNames(markers: readonly UsdtMarker[]): { provider: string; name: string; sites: UsdtMarker[] }[] {
  const groups = new Map<string, { provider: string; name: string; sites: UsdtMarker[] }>();
  for (const m of markers) {
    const k = `${m.provider}\0${m.name}`;
    const g = groups.get(k);
    if (g) g.sites.push(m);
    else groups.set(k, { provider: m.provider, name: m.name, sites: [m] });
  }
  return [...groups.values()];
}
