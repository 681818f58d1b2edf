// readSymbols: .symtab and .dynsym merged into one list, with GNU symbol versions (name@VER / name@@VER).

import { TargetError } from "../errors.js";
import { cstring, u64OrUndefined, withFile, type BoundedFile } from "./file.js";
import { SHT_DYNSYM, SHT_GNU_verdef, SHT_GNU_verneed, SHT_GNU_versym, SHT_SYMTAB, elfCacheKey, reopen, sectionData, type Elf, type Section } from "./elf.js";
import { countAtOrBelow } from "../sorted.js";
import { hostCache } from "../../../runtime/host-state.js";

export type SymbolType = "NOTYPE" | "OBJECT" | "FUNC" | "SECTION" | "FILE" | "COMMON" | "TLS" | "GNU_IFUNC" | "OTHER";
export type SymbolBind = "LOCAL" | "GLOBAL" | "WEAK" | "GNU_UNIQUE" | "OTHER";

export interface ElfSymbol {
  /** the name without any version */
  name: string;
  /** the symbol version (`GLIBC_2.2.5`), when the object versions this symbol */
  version?: string;
  /**
   * For a defined versioned symbol: whether this is the default version
   * (`name@@VER`, what new links bind to) rather than a hidden/compat one
   * (`name@VER`). Undefined when there is no version.
   */
  defaultVersion?: boolean;
  value: number;
  size: number;
  type: SymbolType;
  bind: SymbolBind;
  /** STV_DEFAULT 0, STV_INTERNAL 1, STV_HIDDEN 2, STV_PROTECTED 3 */
  visibility: number;
  /** section index; 0 is undefined (SHN_UNDEF), 0xfff1 absolute */
  shndx: number;
  defined: boolean;
  /** which table it came from; a symbol in both is listed once, from .dynsym */
  table: "symtab" | "dynsym";
}

export interface SymbolTables {
  symbols: ElfSymbol[];
  hasSymtab: boolean;
  hasDynsym: boolean;
}

const TYPE_NAMES: SymbolType[] = ["NOTYPE", "OBJECT", "FUNC", "SECTION", "FILE", "COMMON", "TLS"];
const BIND_NAMES: SymbolBind[] = ["LOCAL", "GLOBAL", "WEAK"];

function typeOf(t: number): SymbolType {
  return t === 10 ? "GNU_IFUNC" : (TYPE_NAMES[t] ?? "OTHER");
}
function bindOf(b: number): SymbolBind {
  return b === 10 ? "GNU_UNIQUE" : (BIND_NAMES[b] ?? "OTHER");
}

/** `name@VER` / `name@@VER` as nm and readelf print it; the bare name when unversioned. */
export function versionedName(s: Pick<ElfSymbol, "name" | "version" | "defaultVersion">): string {
  if (s.version === undefined) return s.name;
  return `${s.name}${s.defaultVersion ? "@@" : "@"}${s.version}`;
}

const cache = hostCache<string, SymbolTables>();

/** Every symbol of both tables (cached per file version). A stripped object gives its .dynsym alone. */
export function readSymbols(elf: Elf): SymbolTables {
  const key = elfCacheKey(elf);
  let t = cache.get(key);
  if (t === undefined) {
    t = withFile(reopen(elf), (f) => readTables(f, elf));
    if (cache.size > 64) cache.clear();
    cache.set(key, t);
  }
  return t;
}

function readTables(f: BoundedFile, elf: Elf): SymbolTables {
  const dynsymSec = elf.sections.find((s) => s.type === SHT_DYNSYM);
  const symtabSec = elf.sections.find((s) => s.type === SHT_SYMTAB);
  const symbols: ElfSymbol[] = [];
  const seen = new Set<string>();
  if (dynsymSec) {
    const versions = readVersions(f, elf, dynsymSec);
    for (const s of readTable(f, elf, dynsymSec, "dynsym", versions)) {
      symbols.push(s);
      seen.add(`${s.name}\0${s.value}`);
    }
  }
  if (symtabSec) {
    for (const s of readTable(f, elf, symtabSec, "symtab", undefined)) {
      if (s.defined && seen.has(`${s.name}\0${s.value}`)) continue;
      symbols.push(s);
    }
  }
  return { symbols, hasSymtab: symtabSec !== undefined, hasDynsym: dynsymSec !== undefined };
}

interface Versions {
  /** per symbol index: the raw .gnu.version entry */
  versym: Uint16Array;
  /** version index → name, from .gnu.version_d (definitions) */
  defs: Map<number, string>;
  /** version index → name, from .gnu.version_r (requirements) */
  needs: Map<number, string>;
}

function readTable(f: BoundedFile, elf: Elf, sec: Section, table: "symtab" | "dynsym", versions: Versions | undefined): ElfSymbol[] {
  if (sec.entsize !== 24 && sec.entsize !== 0) throw new TargetError("malformed", `'${elf.path}' is malformed: ${sec.name} entries are ${sec.entsize} bytes, expected 24`);
  const data = sectionData(f, sec);
  const strSec = elf.sections[sec.link];
  if (strSec === undefined) throw new TargetError("malformed", `'${elf.path}' is malformed: ${sec.name} links to missing string table ${sec.link}`);
  const strtab = sectionData(f, strSec);
  const n = Math.floor(data.length / 24);
  const out: ElfSymbol[] = [];
  // entry 0 is the reserved null symbol
  for (let i = 1; i < n; i++) {
    const o = i * 24;
    const info = data[o + 4]!;
    const t = info & 0xf;
    if (t === 3 || t === 4) continue; // SECTION and FILE symbols name no code or data
    const rawName = cstring(strtab, data.readUInt32LE(o));
    if (rawName === undefined || rawName === "") continue;
    const value = u64OrUndefined(data, o + 8);
    const size = u64OrUndefined(data, o + 16);
    if (value === undefined || size === undefined) continue; // not a user-space address: a hostile or foreign table
    const shndx = data.readUInt16LE(o + 6);
    const sym: ElfSymbol = {
      name: rawName,
      value,
      size,
      type: typeOf(t),
      bind: bindOf(info >> 4),
      visibility: data[o + 5]! & 3,
      shndx,
      defined: shndx !== 0,
      table,
    };
    if (versions !== undefined && i < versions.versym.length) {
      const v = versions.versym[i]!;
      const idx = v & 0x7fff;
      if (idx > 1) {
        // a defined symbol can carry a needed version too (a copy-relocated variable): that one is never the default
        const def = sym.defined ? versions.defs.get(idx) : undefined;
        const name = def ?? versions.needs.get(idx) ?? versions.defs.get(idx);
        if (name !== undefined) {
          sym.version = name;
          sym.defaultVersion = def !== undefined && (v & 0x8000) === 0;
        }
      }
    } else if (table === "symtab") {
      // the static linker keeps `name@VER` / `name@@VER` spelled out in .symtab
      const at = rawName.indexOf("@", 1);
      if (at > 0) {
        const dbl = rawName[at + 1] === "@";
        const ver = rawName.slice(at + (dbl ? 2 : 1));
        if (ver !== "" && !ver.includes("@")) {
          sym.name = rawName.slice(0, at);
          sym.version = ver;
          sym.defaultVersion = dbl;
        }
      }
    }
    out.push(sym);
  }
  return out;
}

function readVersions(f: BoundedFile, elf: Elf, dynsym: Section): Versions | undefined {
  const vs = elf.sections.find((s) => s.type === SHT_GNU_versym);
  if (vs === undefined) return undefined;
  const raw = sectionData(f, vs);
  const versym = new Uint16Array(Math.floor(raw.length / 2));
  for (let i = 0; i < versym.length; i++) versym[i] = raw.readUInt16LE(i * 2);
  const defs = new Map<number, string>();
  const needs = new Map<number, string>();
  const strFor = (s: Section): Buffer => {
    const st = elf.sections[s.link] ?? elf.sections[dynsym.link];
    if (st === undefined) throw new TargetError("malformed", `'${elf.path}' is malformed: ${s.name} has no string table`);
    return sectionData(f, st);
  };
  const bad = (s: Section): TargetError => new TargetError("malformed", `'${elf.path}' is malformed: ${s.name} has an entry outside the section`);

  const vd = elf.sections.find((s) => s.type === SHT_GNU_verdef);
  if (vd) {
    const d = sectionData(f, vd);
    const str = strFor(vd);
    let o = 0;
    // sh_info holds the entry count; the size bounds it too, so a cyclic chain ends
    for (let k = 0; k < Math.min(vd.info || 0xffff, d.length / 20); k++) {
      if (o + 20 > d.length) throw bad(vd);
      const flags = d.readUInt16LE(o + 2);
      const ndx = d.readUInt16LE(o + 4);
      const cnt = d.readUInt16LE(o + 6);
      const aux = d.readUInt32LE(o + 12);
      const next = d.readUInt32LE(o + 16);
      const VER_FLG_BASE = 1;
      if (cnt > 0 && (flags & VER_FLG_BASE) === 0) {
        if (o + aux + 8 > d.length) throw bad(vd);
        const name = cstring(str, d.readUInt32LE(o + aux));
        if (name !== undefined) defs.set(ndx & 0x7fff, name);
      }
      if (next === 0) break;
      o += next;
    }
  }
  const vn = elf.sections.find((s) => s.type === SHT_GNU_verneed);
  if (vn) {
    const d = sectionData(f, vn);
    const str = strFor(vn);
    let o = 0;
    let budget = Math.floor(d.length / 16) + 1;
    for (let k = 0; k < Math.min(vn.info || 0xffff, d.length / 16); k++) {
      if (o + 16 > d.length) throw bad(vn);
      const cnt = d.readUInt16LE(o + 2);
      const aux = d.readUInt32LE(o + 8);
      const next = d.readUInt32LE(o + 12);
      let a = o + aux;
      for (let j = 0; j < cnt && budget-- > 0; j++) {
        if (a + 16 > d.length) throw bad(vn);
        const other = d.readUInt16LE(a + 6);
        const name = cstring(str, d.readUInt32LE(a + 8));
        if (name !== undefined) needs.set(other & 0x7fff, name);
        const an = d.readUInt32LE(a + 12);
        if (an === 0) break;
        a += an;
      }
      if (next === 0) break;
      o += next;
    }
  }
  return { versym, defs, needs };
}

const dataIndex = hostCache<string, ElfSymbol[]>();

/**
 * The data symbol (OBJECT, TLS excluded, COMMON) whose [value, value+size)
 * holds `vaddr`, for usymdata(): the variable an address points into.
 */
export function dataSymbolContaining(elf: Elf, vaddr: number): ElfSymbol | undefined {
  const key = elfCacheKey(elf);
  let sorted = dataIndex.get(key);
  if (sorted === undefined) {
    sorted = readSymbols(elf)
      .symbols.filter((s) => s.defined && s.value !== 0 && (s.type === "OBJECT" || s.type === "COMMON"))
      .sort((a, b) => a.value - b.value || b.size - a.size);
    if (dataIndex.size > 32) dataIndex.clear();
    dataIndex.set(key, sorted);
  }
  const lo = countAtOrBelow(sorted, (s) => s.value, vaddr);
  // the nearest starts at or below; a few back in case an earlier, larger object covers it
  for (let i = lo - 1; i >= 0 && i >= lo - 16; i--) {
    const s = sorted[i]!;
    if (vaddr < s.value + Math.max(s.size, 1)) return s;
  }
  return undefined;
}
