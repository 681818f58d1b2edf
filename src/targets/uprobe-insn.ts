// Function entries the kernel's x86-64 uprobes refuse: uprobe_register
// answers ENOTSUPP for an instruction it will not single-step out of line.
// Found when the point resolves, because one refused probe makes the whole
// event that holds it fail to enable (runtime/armed-events.ts puts a glob's
// functions in one event). Measured on this kernel (6.18) over libc's 3566
// entry points: the refused ones are exactly the 23 that start with a VEX
// prefix (c4/c5, AVX: libc's string functions) or a lock prefix (f0); the
// kernel's prefix check also refuses the ES/CS/SS/DS segment prefixes
// (26/2e/36/3e, `notrack` is 3e). EVEX (62) entries were accepted.

import { withFile } from "./elf/file.js";
import { reopen, type Elf } from "./elf/elf.js";

const LEGACY_PREFIXES = new Set([0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]);
const REFUSED_PREFIXES: ReadonlyMap<number, string> = new Map([
  [0xf0, "a lock prefix"],
  [0x26, "an ES segment prefix"],
  [0x2e, "a CS segment prefix"],
  [0x36, "an SS segment prefix"],
  [0x3e, "a DS segment (notrack) prefix"],
]);

/** Why the kernel's uprobes refuse the instruction starting with `bytes`, or undefined. */
export function refusedInstruction(bytes: Uint8Array): string | undefined {
  let i = 0;
  for (; i < bytes.length && LEGACY_PREFIXES.has(bytes[i]!); i++) {
    const why = REFUSED_PREFIXES.get(bytes[i]!);
    if (why !== undefined) return why;
  }
  if (i < bytes.length && bytes[i]! >= 0x40 && bytes[i]! <= 0x4f) i++; // REX
  if (bytes[i] === 0xc4 || bytes[i] === 0xc5) return "a VEX prefix (an AVX instruction)";
  return undefined;
}

/** For each file offset, why a uprobe there is refused (only the refused ones are in the map). */
export function refusedEntries(elf: Elf, offsets: readonly number[]): Map<number, string> {
  const out = new Map<number, string>();
  if (offsets.length === 0 || elf.header.machine !== 62) return out; // EM_X86_64
  withFile(reopen(elf), (f) => {
    for (const off of offsets) {
      const n = Math.min(15, f.size - off);
      if (n <= 0) continue;
      const why = refusedInstruction(f.read(off, n, "an instruction"));
      if (why !== undefined) out.set(off, why);
    }
  });
  return out;
}
