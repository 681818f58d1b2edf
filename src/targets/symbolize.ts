// User-space addresses → module + symbol + offset for a process, from maps captured while it ran (ASLR-aware), ELF symbols and JIT perf maps.

import { readElf, type Elf } from "./elf/elf.js";
import { dataSymbolContaining } from "./elf/symbols.js";
import { TargetError } from "./errors.js";
import { functionContaining } from "./functions.js";
import { perfMapLookup, readPerfMap, type PerfMapEntry } from "./perf-map.js";
import { loadBias, processMaps, processObjects, type Mapping, type MappedObject } from "./proc.js";
import { countAtOrBelow } from "./sorted.js";

export interface UserFrame {
  address: number;
  /** the mapped file as the process sees it (umodname()), `[vdso]`-style names, or undefined for anonymous memory */
  module?: string;
  /** the function's name for people: demangled (without parameters) for C++, the JIT's name for perf-map frames */
  symbol?: string;
  /** the symbol table's own name (mangled for C++) */
  rawSymbol?: string;
  /** address − function start */
  offset?: number;
  /** the function's size (0 when the table does not say) */
  size?: number;
  /** the address in the object's own terms (ELF vaddr), for file-backed frames */
  objectAddress?: number;
  /** named from the process's perf map (JIT code) */
  jit: boolean;
}

interface LoadedObject {
  object: MappedObject;
  elf?: Elf;
  bias?: number;
  /** why this object cannot be symbolized (unreadable, not ELF...) */
  problem?: string;
}

/**
 * Symbolizes one process's user addresses. Capture it when the process is
 * first seen and again at each exec (the maps change); it keeps working
 * after the process exits for every object whose file is still there
 * (a deleted binary read through /proc/PID/map_files is lost with it).
 */
export class UserSymbolizer {
  private readonly maps: Mapping[];
  private readonly objects: MappedObject[];
  private readonly loaded = new Map<MappedObject, LoadedObject>();

  constructor(
    readonly pid: number,
    maps: readonly Mapping[],
    objects: readonly MappedObject[],
    private readonly perfMap?: readonly PerfMapEntry[],
  ) {
    this.maps = [...maps].sort((a, b) => a.start - b.start);
    this.objects = [...objects];
  }

  /** Snapshot a live process: its maps, the files they map, and its perf map if it writes one. */
  static capture(pid: number): UserSymbolizer {
    const maps = processMaps(pid);
    return new UserSymbolizer(pid, maps, processObjects(pid, maps), readPerfMap(pid));
  }

  /** The captured mappings, lowest address first. */
  get mappings(): readonly Mapping[] {
    return this.maps;
  }

  /** The mapping holding `address`, by binary search. */
  mappingOf(address: number): Mapping | undefined {
    const m = this.maps[countAtOrBelow(this.maps, (x) => x.start, address) - 1];
    return m !== undefined && address < m.end ? m : undefined;
  }

  symbolize(address: number): UserFrame {
    const m = this.mappingOf(address);
    const frame: UserFrame = { address, jit: false };
    if (m !== undefined && m.path !== undefined && !m.path.startsWith("[") && m.inode !== 0) {
      frame.module = m.path;
      const obj = this.objects.find((o) => o.inode === m.inode && o.dev === m.dev && o.path === m.path);
      const lo = obj !== undefined ? this.load(obj) : undefined;
      if (lo?.elf !== undefined && lo.bias !== undefined) {
        const vaddr = address - lo.bias;
        frame.objectAddress = vaddr;
        let fn;
        try {
          fn = functionContaining(lo.elf, vaddr);
        } catch (err) {
          if (!(err instanceof TargetError)) throw err;
          lo.problem = err.message;
        }
        if (fn !== undefined) {
          frame.symbol = fn.displayName;
          frame.rawSymbol = fn.name;
          frame.offset = vaddr - fn.address;
          frame.size = fn.size;
        }
      }
      return frame;
    }
    if (m?.path !== undefined) frame.module = m.path;
    const j = this.perfMap !== undefined ? perfMapLookup(this.perfMap, address) : undefined;
    if (j !== undefined) {
      frame.symbol = j.name;
      frame.rawSymbol = j.name;
      frame.offset = address - j.start;
      frame.size = j.size;
      frame.jit = true;
    }
    return frame;
  }

  /**
   * usymdata(): the variable an address lies in (data symbols of the
   * mapped object), with module and offset; symbol undefined when no data
   * symbol covers it.
   */
  symbolizeData(address: number): UserFrame {
    const m = this.mappingOf(address);
    const frame: UserFrame = { address, jit: false };
    if (m?.path !== undefined) frame.module = m.path;
    if (m === undefined || m.path === undefined || m.path.startsWith("[") || m.inode === 0) return frame;
    const obj = this.objects.find((o) => o.inode === m.inode && o.dev === m.dev && o.path === m.path);
    const lo = obj !== undefined ? this.load(obj) : undefined;
    if (lo?.elf === undefined || lo.bias === undefined) return frame;
    const vaddr = address - lo.bias;
    frame.objectAddress = vaddr;
    try {
      const s = dataSymbolContaining(lo.elf, vaddr);
      if (s !== undefined) Object.assign(frame, { symbol: s.name, rawSymbol: s.name, offset: vaddr - s.value, size: s.size });
    } catch (err) {
      if (!(err instanceof TargetError)) throw err;
    }
    return frame;
  }

  private load(object: MappedObject): LoadedObject {
    let lo = this.loaded.get(object);
    if (lo === undefined) {
      lo = { object };
      try {
        lo.elf = readElf(object.openPath);
        lo.bias = loadBias(lo.elf, object.mappings);
      } catch (err) {
        if (!(err instanceof TargetError)) throw err;
        lo.problem = err.message;
      }
      this.loaded.set(object, lo);
    }
    return lo;
  }
}
