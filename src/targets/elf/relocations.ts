// Dynamic relocations (.rela.dyn, .rela.plt): which GOT slot ends up holding which symbol's or IFUNC's address.

import { TargetError } from "../errors.js";
import { cstring, u64OrUndefined, withFile } from "./file.js";
import { reopen, sectionData, SHT_DYNSYM, type Elf } from "./elf.js";

const SHT_RELA = 4;
export const R_X86_64_64 = 1;
export const R_X86_64_GLOB_DAT = 6;
export const R_X86_64_JUMP_SLOT = 7;
export const R_X86_64_IRELATIVE = 37;

export interface Relocation {
  /** the vaddr of the slot the dynamic linker writes */
  offset: number;
  type: number;
  /** the .dynsym symbol it refers to (undefined for IRELATIVE and relative relocations) */
  symbol?: string;
  /** r_addend (for IRELATIVE: the resolver's address) */
  addend: number;
}

/** The RELA relocations of every section that relocates against .dynsym (or nothing), in file order. */
export function readDynamicRelocations(elf: Elf): Relocation[] {
  const dynsymIndex = elf.sections.findIndex((s) => s.type === SHT_DYNSYM);
  const relas = elf.sections.filter((s) => s.type === SHT_RELA && (s.link === 0 || s.link === dynsymIndex));
  if (relas.length === 0) return [];
  return withFile(reopen(elf), (f) => {
    let names: (i: number) => string | undefined = () => undefined;
    if (dynsymIndex >= 0) {
      const dynsym = sectionData(f, elf.sections[dynsymIndex]!);
      const strSec = elf.sections[elf.sections[dynsymIndex]!.link];
      const strtab = strSec !== undefined ? sectionData(f, strSec) : Buffer.alloc(0);
      names = (i) => (i > 0 && (i + 1) * 24 <= dynsym.length ? cstring(strtab, dynsym.readUInt32LE(i * 24)) : undefined);
    }
    const out: Relocation[] = [];
    for (const sec of relas) {
      if (sec.entsize !== 24 && sec.entsize !== 0) throw new TargetError("malformed", `'${elf.path}' is malformed: ${sec.name} entries are ${sec.entsize} bytes, expected 24`);
      const d = sectionData(f, sec);
      for (let o = 0; o + 24 <= d.length; o += 24) {
        const offset = u64OrUndefined(d, o);
        const type = d.readUInt32LE(o + 8);
        const sym = d.readUInt32LE(o + 12);
        const addend = Number(d.readBigInt64LE(o + 16));
        if (offset === undefined) continue;
        out.push({ offset, type, symbol: names(sym), addend });
      }
    }
    return out;
  });
}
