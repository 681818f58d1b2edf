// Which implementation an IFUNC resolved to in a live process: read from the GOT slot the dynamic linker filled.

import { closeSync, openSync, readSync } from "node:fs";
import { fileOffsetOf, isExecutableAddress, sectionOf, type Elf } from "./elf/elf.js";
import { readDynamicRelocations, R_X86_64_GLOB_DAT, R_X86_64_IRELATIVE, R_X86_64_JUMP_SLOT } from "./elf/relocations.js";
import { TargetError, systemReason } from "./errors.js";
import { functionContaining, ifuncImplementations, type FunctionSymbol } from "./functions.js";
import { devString, loadBias, processObjects, type Mapping } from "./proc.js";

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

/** What can be said about where an IFUNC's calls go, best answer first. */
export type IfuncResolution =
  /** the implementation bound in a live process (the given one, or tstap's own when it maps the same file) */
  | { kind: "bound"; target: IfuncTarget; pid: number }
  /** no live binding to read; these implementations are named after the IFUNC (exactly one runs per process) */
  | { kind: "candidates"; implementations: FunctionSymbol[] }
  /** nothing known: only the resolver's address, which is not where calls go */
  | { kind: "unknown"; reason: string };

/**
 * Where an IFUNC's calls go: read from process `pid` when given and it maps
 * the object, else from tstap's own process when it maps the same file
 * (libc, libm...: the CPU makes the same choice for every process), else
 * the implementations named after it, else unknown with the reason.
 */
export function resolveIfunc(elf: Elf, ifunc: FunctionSymbol, pid?: number): IfuncResolution {
  for (const p of pid !== undefined ? [pid, process.pid] : [process.pid]) {
    let objs;
    try {
      objs = processObjects(p);
    } catch (err) {
      if (err instanceof TargetError) continue;
      throw err;
    }
    const o = objs.find((x) => x.inode === elf.identity.ino && x.dev === devString(elf.identity.dev));
    if (o === undefined) continue;
    try {
      const t = ifuncTarget(elf, ifunc, p, o.mappings);
      if (t !== undefined) return { kind: "bound", target: t, pid: p };
    } catch (err) {
      if (!(err instanceof TargetError)) throw err;
    }
  }
  const impls = ifuncImplementations(elf, ifunc);
  if (impls.length > 0) return { kind: "candidates", implementations: impls };
  return {
    kind: "unknown",
    reason: `'${ifunc.displayName}' in '${elf.path}' is an IFUNC: its address is the resolver the dynamic linker calls once; no running process here has bound it where tstap can read, and no symbol table names its implementations`,
  };
}
