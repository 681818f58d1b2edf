// Which implementation an IFUNC resolved to in a live process: read from the GOT slot the dynamic linker filled.

import { closeSync, openSync, readSync } from "node:fs";
import { fileOffsetOf, isExecutableAddress, sectionOf, type Elf } from "./elf/elf.js";
import { readDynamicRelocations, R_X86_64_GLOB_DAT, R_X86_64_IRELATIVE, R_X86_64_JUMP_SLOT } from "./elf/relocations.js";
import { TargetError, systemReason } from "./errors.js";
import { functionContaining, type FunctionSymbol } from "./functions.js";
import { loadBias, type Mapping } from "./proc.js";

export interface IfuncTarget {
  /** the implementation's address in the object (vaddr) */
  address: number;
  /** its file offset: where a uprobe traps the calls */
  fileOffset: number;
  /** its name when a symbol table (or the debug file) has one: `__memcpy_avx_unaligned_erms` */
  name?: string;
}

/**
 * The implementation the dynamic linker bound an IFUNC to in process
 * `pid`, which maps `elf` with `mappings`: the object's own GOT slots for
 * it (IRELATIVE relocations whose resolver is the IFUNC, or GLOB_DAT /
 * JUMP_SLOT relocations naming it) are read from /proc/PID/mem. The
 * choice depends on the CPU (and GLIBC_TUNABLES), so any process on this
 * machine that maps the object answers for the others started the same
 * way — tstap's own process maps libc, for instance.
 *
 * Undefined when the object has no slot for it (nothing inside the
 * object calls it; only other objects' PLTs do, lazily) or the slot is not
 * bound yet. Throws TargetError when the process's memory cannot be read.
 */
export function ifuncTarget(elf: Elf, ifunc: FunctionSymbol, pid: number, mappings: readonly Mapping[]): IfuncTarget | undefined {
  if (!ifunc.ifunc) throw new TargetError("not-found", `'${ifunc.name}' in '${elf.path}' is not an IFUNC`);
  const bias = loadBias(elf, mappings);
  if (bias === undefined) return undefined;
  const slots = readDynamicRelocations(elf).filter(
    (r) => (r.type === R_X86_64_IRELATIVE && r.addend === ifunc.address) || ((r.type === R_X86_64_GLOB_DAT || r.type === R_X86_64_JUMP_SLOT) && r.symbol === ifunc.name),
  );
  if (slots.length === 0) return undefined;
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/mem`, "r");
  } catch (err) {
    throw new TargetError("io", `cannot read the memory of process ${pid}: ${systemReason(err)}`);
  }
  try {
    for (const slot of slots) {
      const buf = Buffer.alloc(8);
      let n = 0;
      try {
        n = readSync(fd, buf, 0, 8, slot.offset + bias);
      } catch {
        continue;
      }
      if (n !== 8) continue;
      const ptr = Number(buf.readBigUInt64LE(0));
      const address = ptr - bias;
      // a lazily bound slot still points at the object's PLT; a bound one at the implementation's code
      if (!isExecutableAddress(elf, address) || address === ifunc.address) continue;
      if (sectionOf(elf, address)?.name.startsWith(".plt")) continue;
      const fn = functionContaining(elf, address);
      if (fn !== undefined && fn.address !== address) continue;
      return { address, fileOffset: fileOffsetOf(elf, address)!, name: fn?.name };
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
