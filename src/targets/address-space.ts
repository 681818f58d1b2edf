// The runtime's AddressSpaceReader (runtime/user-stacks.ts) over
// UserSymbolizer (symbolize.ts): a process's maps captured now, its
// mapped files' ELF functions at their load bias, JIT names from its perf
// map. What the runtime formats is stap's: a function, or else the file
// and the offset in its mapping.

import type { AddressSpace, AddressSpaceReader, UserAddress } from "../../runtime/user-stacks.js";
import { UserSymbolizer } from "./symbolize.js";

class SymbolizedSpace implements AddressSpace {
  constructor(private readonly s: UserSymbolizer) {}

  resolve(addr: number): UserAddress | undefined {
    const m = this.s.mappingOf(addr);
    const f = this.s.symbolize(addr);
    if (m === undefined && f.symbol === undefined) return undefined;
    const out: UserAddress = {
      // a `[vdso]`-style mapping is no module to stap
      module: f.module !== undefined && !f.module.startsWith("[") ? f.module : undefined,
      modOffset: m !== undefined ? addr - m.start : 0,
      modSize: m !== undefined ? m.end - m.start : 0,
    };
    if (f.symbol !== undefined) out.symbol = { name: f.symbol, offset: f.offset ?? 0, size: f.size ?? 0 };
    return out;
  }

  resolveData(addr: number): UserAddress | undefined {
    const m = this.s.mappingOf(addr);
    const f = this.s.symbolizeData(addr);
    if (m === undefined || f.symbol === undefined) return undefined;
    return { module: f.module, modOffset: addr - m.start, modSize: m.end - m.start, symbol: { name: f.symbol, offset: f.offset ?? 0, size: f.size ?? 0 } };
  }

  /** Memory the capture could not name (not mapped then, or anonymous without a perf-map entry): a new capture may. */
  stale(addr: number): boolean {
    const m = this.s.mappingOf(addr);
    return m === undefined || ((m.path === undefined || m.inode === 0) && this.s.symbolize(addr).symbol === undefined);
  }
}

/** Captures processes' address spaces from /proc and their ELF files. */
export const procAddressSpaces: AddressSpaceReader = {
  capture(pid: number): AddressSpace | undefined {
    try {
      const s = UserSymbolizer.capture(pid);
      // a zombie or a kernel thread maps nothing
      return s.mappings.length > 0 ? new SymbolizedSpace(s) : undefined;
    } catch {
      return undefined;
    }
  },
};
