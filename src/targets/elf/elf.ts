// readElf: an ELF64 x86-64 object's headers, segments, sections, notes and dynamic-linking facts, read with bounded reads.

import { existsSync, statSync } from "node:fs";
import { TargetError } from "../errors.js";
import type { ProbedObject } from "../../../runtime/event-def.js";
import { BoundedFile, cstring, u64, withFile, type FileIdentity } from "./file.js";

export type ElfType = "REL" | "EXEC" | "DYN" | "CORE";

export interface ElfHeader {
  type: ElfType;
  machine: number;
  entry: number;
  phoff: number;
  shoff: number;
  phnum: number;
  shnum: number;
  shstrndx: number;
  osabi: number;
}

/** PT_* values this library looks at. */
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export interface Segment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

/** SHT_* values this library looks at. */
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
export const SHT_GNU_verdef = 0x6ffffffd;
export const SHT_GNU_verneed = 0x6ffffffe;
export const SHT_GNU_versym = 0x6fffffff;

export interface Section {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  align: number;
  entsize: number;
}

export interface ElfNote {
  owner: string;
  type: number;
  desc: Buffer;
  /** where the note came from: a section name, or "PT_NOTE" when the file has no section headers */
  source: string;
  /** file offset of the descriptor (USDT notes locate their fields by it) */
  descOffset: number;
}

/** What library resolution needs from the dynamic section. */
export interface DynamicInfo {
  needed: string[];
  soname?: string;
  rpath: string[];
  runpath: string[];
  /** DT_FLAGS_1 (DF_1_PIE = 0x08000000) */
  flags1: number;
}

export interface Elf {
  /** the path as given (it was opened through it) */
  path: string;
  identity: FileIdentity;
  header: ElfHeader;
  segments: Segment[];
  sections: Section[];
  /** PT_INTERP: the dynamic linker the program asks for */
  interp?: string;
  dynamic?: DynamicInfo;
  /** NT_GNU_BUILD_ID as lowercase hex */
  buildId?: string;
  debuglink?: { file: string; crc: number };
  /**
   * A position-independent executable: ET_DYN with DF_1_PIE, or (older
   * linkers) ET_DYN with a PT_INTERP. Shared libraries are ET_DYN too.
   */
  pie: boolean;
}

const EM_X86_64 = 62;

/** e_machine names for the refusal message (the common ones; others by number). */
const MACHINES: Record<number, string> = {
  2: "SPARC",
  3: "Intel 80386",
  8: "MIPS",
  20: "PowerPC",
  21: "PowerPC64",
  22: "IBM S/390",
  40: "ARM",
  43: "SPARC v9",
  50: "Intel IA-64",
  62: "x86-64",
  183: "AArch64",
  243: "RISC-V",
  258: "LoongArch",
};

export function machineName(machine: number): string {
  return MACHINES[machine] ?? `machine ${machine}`;
}

const TYPES: Record<number, ElfType> = { 1: "REL", 2: "EXEC", 3: "DYN", 4: "CORE" };

/**
 * Read an object's headers. Refuses (TargetError) what is not ELF, not
 * ELF64 little-endian x86-64, or malformed; a truncated or hostile file
 * gets a message, never an out-of-range read.
 */
export function readElf(path: string): Elf {
  return withFile(BoundedFile.open(path), (f) => readOpenElf(f));
}

function readOpenElf(f: BoundedFile): Elf {
  const path = f.path;
  if (f.size < 16) throw new TargetError("not-elf", `'${path}' is not an ELF object (${f.size} bytes)`);
  const ident = f.read(0, 16, "ELF identification");
  if (ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46) {
    const what = ident[0] === 0x23 && ident[1] === 0x21 ? "a script" : "not an ELF object";
    throw new TargetError("not-elf", `'${path}' is ${what}${what === "a script" ? ", not an ELF object" : ""}`);
  }
  const cls = ident[4];
  const data = ident[5];
  if (data !== 1 && data !== 2) throw new TargetError("malformed", `'${path}' is malformed: unknown ELF byte order ${data}`);
  if (cls !== 1 && cls !== 2) throw new TargetError("malformed", `'${path}' is malformed: unknown ELF class ${cls}`);
  // the machine field sits at the same place for both classes; read it in the file's byte order to name it
  const hdr0 = f.read(0, Math.min(f.size, 20), "ELF header");
  const machine = hdr0.length >= 20 ? (data === 1 ? hdr0.readUInt16LE(18) : hdr0.readUInt16BE(18)) : -1;
  if (cls !== 2 || data !== 1 || machine !== EM_X86_64) {
    const desc = `${cls === 1 ? "ELF32" : "ELF64"} ${data === 1 ? "little-endian" : "big-endian"} ${machine >= 0 ? machineName(machine) : "unknown machine"}`;
    throw new TargetError("unsupported", `'${path}' is an ${desc} object; tstap probes x86-64 (ELF64 little-endian) objects only`);
  }
  const h = f.read(0, 64, "ELF header");
  const typeNum = h.readUInt16LE(16);
  const type = TYPES[typeNum];
  if (type === undefined) throw new TargetError("unsupported", `'${path}' is an ELF object of unknown type ${typeNum}`);
  const header: ElfHeader = {
    type,
    machine,
    entry: u64(h, 24, path, "entry point"),
    phoff: u64(h, 32, path, "program header offset"),
    shoff: u64(h, 40, path, "section header offset"),
    phnum: h.readUInt16LE(56),
    shnum: h.readUInt16LE(60),
    shstrndx: h.readUInt16LE(62),
    osabi: ident[7]!,
  };
  const phentsize = h.readUInt16LE(54);
  const shentsize = h.readUInt16LE(58);

  // extended numbering: counts that do not fit 16 bits live in section 0
  let sect0: Buffer | undefined;
  if (header.shoff !== 0) {
    if (shentsize !== 64) throw new TargetError("malformed", `'${path}' is malformed: section header size ${shentsize}, expected 64`);
    sect0 = f.read(header.shoff, 64, "section header 0");
    if (header.shnum === 0) header.shnum = checkCount(u64(sect0, 32, path, "section count"), path, "section");
    if (header.shstrndx === 0xffff) header.shstrndx = sect0.readUInt32LE(40);
    if (header.phnum === 0xffff) header.phnum = sect0.readUInt32LE(44);
  }

  const segments: Segment[] = [];
  if (header.phnum > 0) {
    if (phentsize !== 56) throw new TargetError("malformed", `'${path}' is malformed: program header size ${phentsize}, expected 56`);
    const ph = f.read(header.phoff, checkCount(header.phnum, path, "program header") * 56, "program header table");
    for (let i = 0; i < header.phnum; i++) {
      const o = i * 56;
      const what = `program header ${i}`;
      const seg: Segment = {
        type: ph.readUInt32LE(o),
        flags: ph.readUInt32LE(o + 4),
        offset: u64(ph, o + 8, path, what),
        vaddr: u64(ph, o + 16, path, what),
        filesz: u64(ph, o + 32, path, what),
        memsz: u64(ph, o + 40, path, what),
        align: u64(ph, o + 48, path, what),
      };
      segments.push(seg);
    }
  }

  const sections: Section[] = [];
  if (header.shoff !== 0 && header.shnum > 0) {
    const sh = f.read(header.shoff, header.shnum * 64, "section header table");
    const nameOffs: number[] = [];
    for (let i = 0; i < header.shnum; i++) {
      const o = i * 64;
      const what = `section header ${i}`;
      sections.push({
        index: i,
        name: "",
        type: sh.readUInt32LE(o + 4),
        flags: u64(sh, o + 8, path, what),
        addr: u64(sh, o + 16, path, what),
        offset: u64(sh, o + 24, path, what),
        size: u64(sh, o + 32, path, what),
        link: sh.readUInt32LE(o + 40),
        info: sh.readUInt32LE(o + 44),
        align: u64(sh, o + 48, path, what),
        entsize: u64(sh, o + 56, path, what),
      });
      nameOffs.push(sh.readUInt32LE(o));
    }
    if (header.shstrndx !== 0) {
      const strsec = sections[header.shstrndx];
      if (strsec === undefined) throw new TargetError("malformed", `'${path}' is malformed: section name table index ${header.shstrndx} is out of range (${sections.length} sections)`);
      const names = sectionData(f, strsec);
      for (const s of sections) s.name = cstring(names, nameOffs[s.index]!) ?? "";
    }
  }

  const elf: Elf = { path, identity: f.identity, header, segments, sections, pie: false };

  const interpSeg = segments.find((s) => s.type === PT_INTERP);
  if (interpSeg) {
    const b = f.read(interpSeg.offset, Math.min(interpSeg.filesz, 4096), "PT_INTERP segment");
    const end = b.indexOf(0);
    elf.interp = b.toString("utf8", 0, end < 0 ? b.length : end);
  }
  elf.dynamic = readDynamic(f, elf);
  elf.buildId = readBuildId(f, elf);
  const dl = sections.find((s) => s.name === ".gnu_debuglink" && s.type !== SHT_NOBITS);
  if (dl) {
    const b = sectionData(f, dl);
    const end = b.indexOf(0);
    if (end >= 0) {
      const crcOff = (end + 4) & ~3;
      elf.debuglink = { file: b.toString("utf8", 0, end), crc: crcOff + 4 <= b.length ? b.readUInt32LE(crcOff) : 0 };
    }
  }
  const DF_1_PIE = 0x08000000;
  elf.pie = header.type === "DYN" && ((elf.dynamic !== undefined && (elf.dynamic.flags1 & DF_1_PIE) !== 0) || (elf.interp !== undefined && elf.dynamic?.soname === undefined));
  return elf;
}

function checkCount(n: number, path: string, what: string): number {
  if (n > 0x1000000) throw new TargetError("malformed", `'${path}' is malformed: ${n} ${what}s`);
  return n;
}

/** A section's bytes (empty for SHT_NOBITS), bounded by the file. */
export function sectionData(f: BoundedFile, s: Section): Buffer {
  if (s.type === SHT_NOBITS) return Buffer.alloc(0);
  return f.read(s.offset, s.size, `section ${s.name !== "" ? s.name : `#${s.index}`}`);
}

/** Read a named section's bytes (reopening the file, checked to be the one read). */
export function readSection(elf: Elf, name: string): Buffer | undefined {
  const s = elf.sections.find((x) => x.name === name);
  if (s === undefined) return undefined;
  return withFile(BoundedFile.reopen(elf.path, elf.identity), (f) => sectionData(f, s));
}

/**
 * The key under which what is read from this object is cached: the file's
 * identity (a rewrite within one timestamp tick keeps mtime; the build-id
 * tells such builds apart) and its build-id.
 */
export function elfCacheKey(elf: Elf): string {
  const id = elf.identity;
  return `${id.dev}:${id.ino}:${id.size}:${id.mtimeMs}:${elf.buildId ?? ""}`;
}

/**
 * Why the file at `elf.path` is no longer the object that was read (a
 * rebuilt or reinstalled binary: uprobes placed by file offset would now
 * land elsewhere), or undefined when it is the same. A file rewritten with
 * the same identity is told apart by its build-id.
 */
export function changedSince(elf: Pick<Elf, "path" | "identity" | "buildId">): string | undefined {
  let now: Elf;
  try {
    now = readElf(elf.path);
  } catch (err) {
    if (err instanceof TargetError) return `'${elf.path}' changed since tstap read it: ${err.message}`;
    throw err;
  }
  const a = elf.identity;
  const b = now.identity;
  const sameFile = a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
  if (sameFile && now.buildId === elf.buildId) return undefined;
  if (elf.buildId !== undefined && now.buildId !== undefined && elf.buildId !== now.buildId) return `'${elf.path}' changed since tstap read it (build-id ${elf.buildId} is now ${now.buildId})`;
  if (!sameFile && elf.buildId !== undefined && now.buildId === elf.buildId) return undefined; // copied or touched, same build
  return `'${elf.path}' changed since tstap read it`;
}

/** What arming and the end of a run check a probed file against: the object as read now. */
export function probedObject(path: string, elf: Elf): ProbedObject {
  return { path, identity: { ...elf.identity }, ...(elf.buildId !== undefined ? { buildId: elf.buildId } : {}) };
}

/**
 * changedSince for a probed file (runtime/kernel-source.ts asks it when
 * arming and at the end of the run): a file whose stat identity did not
 * change is taken as the same without reading it again.
 */
export function probedObjectChange(o: ProbedObject): string | undefined {
  // /proc/PID/exe, /proc/PID/root/...: once PID is gone, nothing can be told
  const pid = /^\/proc\/(\d+)\//.exec(o.path)?.[1];
  if (pid !== undefined && !existsSync(`/proc/${pid}`)) return undefined;
  try {
    const st = statSync(o.path);
    const id = o.identity;
    if (st.dev === id.dev && st.ino === id.ino && st.size === id.size && st.mtimeMs === id.mtimeMs) return undefined;
  } catch {
    // gone or unreadable: changedSince says how
  }
  return changedSince(o);
}

/** Open the object again for more reads, checked to be the same file readElf saw. */
export function reopen(elf: Elf): BoundedFile {
  return BoundedFile.reopen(elf.path, elf.identity);
}

function readDynamic(f: BoundedFile, elf: Elf): DynamicInfo | undefined {
  const dynSec = elf.sections.find((s) => s.type === SHT_DYNAMIC);
  const dynSeg = elf.segments.find((s) => s.type === PT_DYNAMIC);
  let raw: Buffer;
  if (dynSec) raw = sectionData(f, dynSec);
  else if (dynSeg) raw = f.read(dynSeg.offset, dynSeg.filesz, "PT_DYNAMIC segment");
  else return undefined;
  const entries: [number, number][] = [];
  for (let o = 0; o + 16 <= raw.length; o += 16) {
    const tagLo = raw.readUInt32LE(o);
    const tagHi = raw.readUInt32LE(o + 4);
    const tag = tagHi === 0 ? tagLo : -1;
    if (tag === 0 && tagHi === 0) break; // DT_NULL
    const vlo = raw.readUInt32LE(o + 8);
    const vhi = raw.readUInt32LE(o + 12);
    entries.push([tag, vhi >= 0x200000 ? -1 : vhi * 0x100000000 + vlo]);
  }
  // the string table: the section .dynamic links to, else DT_STRTAB through the segments
  let strtab: Buffer | undefined;
  const linked = dynSec !== undefined ? elf.sections[dynSec.link] : undefined;
  if (linked !== undefined && linked.type === SHT_STRTAB) strtab = sectionData(f, linked);
  else {
    const addr = entries.find((e) => e[0] === 5)?.[1];
    const size = entries.find((e) => e[0] === 10)?.[1];
    const off = addr !== undefined && addr >= 0 ? fileOffsetOf(elf, addr) : undefined;
    if (off !== undefined && size !== undefined && size >= 0) strtab = f.read(off, Math.min(size, f.size - off), "dynamic string table");
  }
  const str = (v: number): string | undefined => (strtab !== undefined ? cstring(strtab, v) : undefined);
  const info: DynamicInfo = { needed: [], rpath: [], runpath: [], flags1: 0 };
  for (const [tag, v] of entries) {
    if (tag === 1) {
      const s = str(v);
      if (s !== undefined) info.needed.push(s);
    } else if (tag === 14) info.soname = str(v);
    else if (tag === 15) info.rpath.push(...(str(v) ?? "").split(":").filter((x) => x !== ""));
    else if (tag === 29) info.runpath.push(...(str(v) ?? "").split(":").filter((x) => x !== ""));
    else if (tag === 0x6ffffffb) info.flags1 = v;
  }
  return info;
}

/** Where notes live: SHT_NOTE sections, or PT_NOTE segments in a file without section headers. */
function noteRegions(elf: Elf): { source: string; offset: number; size: number; align: number }[] {
  const secs = elf.sections.filter((s) => s.type === SHT_NOTE);
  if (secs.length > 0 || elf.sections.length > 0) return secs.map((s) => ({ source: s.name, offset: s.offset, size: s.size, align: s.align }));
  return elf.segments.filter((s) => s.type === PT_NOTE).map((s) => ({ source: "PT_NOTE", offset: s.offset, size: s.filesz, align: s.align }));
}

function parseNotes(buf: Buffer, base: number, source: string, align: number, path: string): ElfNote[] {
  const a = align === 8 ? 8 : 4;
  const pad = (n: number): number => (n + a - 1) & ~(a - 1);
  const out: ElfNote[] = [];
  let o = 0;
  while (o + 12 <= buf.length) {
    const namesz = buf.readUInt32LE(o);
    const descsz = buf.readUInt32LE(o + 4);
    const type = buf.readUInt32LE(o + 8);
    const nameOff = o + 12;
    // padding aligns offsets within the (aligned) note region, so an 8-aligned note's 4-byte name needs none
    const descOff = pad(nameOff + namesz);
    const next = pad(descOff + descsz);
    if (descOff + descsz > buf.length) throw new TargetError("malformed", `'${path}' is malformed: a note in ${source} runs past its end`);
    const owner = buf.toString("utf8", nameOff, nameOff + Math.max(0, namesz - 1));
    out.push({ owner, type, desc: buf.subarray(descOff, descOff + descsz), source, descOffset: base + descOff });
    o = Math.max(next, o + 12); // always advances
  }
  return out;
}

/** Every note of the object, in file order (`source` filters by section name). */
export function readNotes(elf: Elf, source?: string): ElfNote[] {
  const regions = noteRegions(elf).filter((r) => source === undefined || r.source === source);
  if (regions.length === 0) return [];
  return withFile(reopen(elf), (f) => regions.flatMap((r) => parseNotes(f.read(r.offset, r.size, `notes ${r.source}`), r.offset, r.source, r.align, elf.path)));
}

function readBuildId(f: BoundedFile, elf: Elf): string | undefined {
  const regions = noteRegions(elf);
  // the build-id note is usually alone in its section: look there before reading any other note region
  regions.sort((x, y) => Number(y.source === ".note.gnu.build-id") - Number(x.source === ".note.gnu.build-id"));
  for (const r of regions) {
    if (r.source === ".note.stapsdt" || r.size > 1 << 20) continue;
    for (const n of parseNotes(f.read(r.offset, r.size, `notes ${r.source}`), r.offset, r.source, r.align, elf.path)) {
      if (n.owner === "GNU" && n.type === 3) return n.desc.toString("hex");
    }
  }
  return undefined;
}

/** The PT_LOAD segment whose file image holds `vaddr`. */
export function loadSegmentOf(elf: Elf, vaddr: number): Segment | undefined {
  return elf.segments.find((s) => s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
}

/**
 * The file offset of a virtual address (what uprobe_events wants after
 * `PATH:0x`), through the PT_LOAD segments; undefined when no segment's
 * file image holds it (.bss, or outside every segment).
 */
export function fileOffsetOf(elf: Elf, vaddr: number): number | undefined {
  const s = loadSegmentOf(elf, vaddr);
  return s === undefined ? undefined : s.offset + (vaddr - s.vaddr);
}

/** The virtual address a file offset is loaded at; undefined outside every PT_LOAD's file image. */
export function vaddrOfFileOffset(elf: Elf, offset: number): number | undefined {
  const s = elf.segments.find((x) => x.type === PT_LOAD && offset >= x.offset && offset < x.offset + x.filesz);
  return s === undefined ? undefined : s.vaddr + (offset - s.offset);
}

/** Whether `vaddr` lies in an executable PT_LOAD segment's file image (a uprobe can go there). */
export function isExecutableAddress(elf: Elf, vaddr: number): boolean {
  const s = loadSegmentOf(elf, vaddr);
  return s !== undefined && (s.flags & PF_X) !== 0;
}

/**
 * The file offset a uprobe at `vaddr` goes at (`PATH:0x<offset>`), or a
 * TargetError when the address is not in an executable segment's file
 * image (data, .bss, outside the object).
 */
export function probeOffset(elf: Elf, vaddr: number): number {
  const s = loadSegmentOf(elf, vaddr);
  if (s === undefined || (s.flags & PF_X) === 0) {
    const where = s === undefined ? "outside every loadable segment" : "in a segment that is not executable";
    throw new TargetError("not-found", `address 0x${vaddr.toString(16)} is ${where} of '${elf.path}'`);
  }
  return s.offset + (vaddr - s.vaddr);
}

/** The section holding `vaddr` (by sh_addr/sh_size, allocated sections only). */
export function sectionOf(elf: Elf, vaddr: number): Section | undefined {
  const SHF_ALLOC = 2;
  return elf.sections.find((s) => (s.flags & SHF_ALLOC) !== 0 && vaddr >= s.addr && vaddr < s.addr + s.size);
}
