// The ELF reader against readelf/nm on real objects of this machine and on gcc-built fixtures.

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { changedSince, fileOffsetOf, isExecutableAddress, probeOffset, PT_LOAD, readElf, readNotes, vaddrOfFileOffset } from "../../src/targets/elf/elf.js";
import { readSymbols, versionedName } from "../../src/targets/elf/symbols.js";
import { TargetError } from "../../src/targets/errors.js";
import { functionSymbols } from "../../src/targets/functions.js";
import { readStapsdt } from "../../src/targets/usdt/stapsdt.js";
import { elfFixtures } from "../support/build-fixture.js";

const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const LIBSTDCXX = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
const BASH = "/usr/bin/bash";
const POSTGRES = "/usr/lib/postgresql/15/bin/postgres";

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20, env: { ...process.env, LC_ALL: "C" } });
}

/** readelf -lW's LOAD lines as [offset, vaddr, filesz, memsz, flags]. */
function readelfLoads(path: string): [number, number, number, number, string][] {
  return run("readelf", ["-lW", path])
    .split("\n")
    .filter((l) => /^\s+LOAD\s/.test(l))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return [parseInt(f[1]!, 16), parseInt(f[2]!, 16), parseInt(f[4]!, 16), parseInt(f[5]!, 16), f.slice(6, -1).join("")];
    });
}

/**
 * readelf's defined FUNC/IFUNC symbols (nonzero value) as "ADDR NAME SIZE TYPE BIND" lines, sorted;
 * .dynsym first, then .symtab entries not already listed (what readSymbols merges).
 */
function readelfFunctions(path: string, dynamicOnly: boolean): string[] {
  const parse = (text: string): [string, string][] =>
    text
      .split("\n")
      .map((l) => /^\s+\d+: ([0-9a-f]+)\s+(\d+|0x[0-9a-f]+)\s+(FUNC|IFUNC)\s+(\w+)\s+\w+\s+(\w+)\s+(\S+)/.exec(l))
      .filter((m) => m !== null && m[5] !== "UND" && parseInt(m[1]!, 16) !== 0)
      .map((m) => [`${parseInt(m![1]!, 16).toString(16)} ${m![6]!.replace(/@.*/, "")}`, `${parseInt(m![1]!, 16).toString(16)} ${m![6]} ${Number(m![2])} ${m![3] === "IFUNC" ? "GNU_IFUNC" : "FUNC"} ${m![4]}`]);
  const dyn = parse(run("readelf", ["--dyn-syms", "-W", path]));
  const seen = new Set(dyn.map((d) => d[0]));
  const all = dyn.map((d) => d[1]);
  if (!dynamicOnly) for (const [k, v] of parse(run("readelf", ["--syms", "-W", path]).split("Symbol table '.symtab'")[1] ?? "")) if (!seen.has(k)) all.push(v);
  return [...new Set(all)].sort();
}

const objects = [BASH, LIBC, LIBSTDCXX, POSTGRES];

describe("readElf headers against readelf", () => {
  for (const path of [...objects, "pie", "nopie", "stripped", "dwarf4", "dwarf5"]) {
    it(path, () => {
      const p = path.startsWith("/") ? path : elfFixtures[path as "pie"]();
      const elf = readElf(p);
      const h = run("readelf", ["-hW", p]);
      expect(elf.header.type).toBe(/Type:\s+(\w+)/.exec(h)![1]);
      expect(elf.header.entry).toBe(parseInt(/Entry point address:\s+0x([0-9a-f]+)/.exec(h)![1]!, 16));
      const loads = elf.segments.filter((s) => s.type === PT_LOAD).map((s) => [s.offset, s.vaddr, s.filesz, s.memsz, (s.flags & 4 ? "R" : "") + (s.flags & 2 ? "W" : "") + (s.flags & 1 ? "E" : "")]);
      expect(loads).toEqual(readelfLoads(p));
      const secNames = run("readelf", ["-SW", p])
        .split("\n")
        .map((l) => /^\s+\[\s*(\d+)\]\s+(\S*)/.exec(l))
        .filter((m) => m !== null && m[1] !== "0")
        .map((m) => m![2]);
      expect(elf.sections.slice(1).map((s) => s.name)).toEqual(secNames);
      const bid = /Build ID: ([0-9a-f]+)/.exec(run("readelf", ["-n", p]));
      expect(elf.buildId).toBe(bid?.[1]);
      const d = run("readelf", ["-dW", p]);
      expect(elf.dynamic?.needed ?? []).toEqual([...d.matchAll(/\(NEEDED\)\s+Shared library: \[(.*)\]/g)].map((m) => m[1]));
      expect(elf.dynamic?.soname).toBe(/\(SONAME\)\s+Library soname: \[(.*)\]/.exec(d)?.[1]);
      const interp = /Requesting program interpreter: (.*)\]/.exec(run("readelf", ["-lW", p]));
      expect(elf.interp).toBe(interp?.[1]);
    });
  }

  it("tells PIE, non-PIE and shared library apart", () => {
    expect(readElf(elfFixtures.pie()).pie).toBe(true);
    expect(readElf(elfFixtures.pie()).header.type).toBe("DYN");
    const nopie = readElf(elfFixtures.nopie());
    expect([nopie.header.type, nopie.pie]).toEqual(["EXEC", false]);
    expect(readElf(LIBSTDCXX).pie).toBe(false);
    expect(readElf(LIBSTDCXX).dynamic?.soname).toBe("libstdc++.so.6");
    expect(readElf(BASH).pie).toBe(true);
  });

  it("reads .gnu_debuglink as readelf shows it", () => {
    const p = elfFixtures.stripped();
    const dir = mkdtempSync(join(tmpdir(), "tstap-elf-"));
    try {
      const dbg = join(dir, "plain.debug");
      const withLink = join(dir, "plain");
      copyFileSync(p, withLink);
      execFileSync("objcopy", ["--only-keep-debug", elfFixtures.pie(), dbg]);
      execFileSync("objcopy", [`--add-gnu-debuglink=${dbg}`, withLink], { cwd: dir });
      const elf = readElf(withLink);
      const text = run("readelf", ["--string-dump=.gnu_debuglink", withLink]);
      expect(elf.debuglink?.file).toBe("plain.debug");
      expect(text).toContain("plain.debug");
      // the CRC is the file's CRC-32 (zlib's), as gdb checks it
      expect(elf.debuglink?.crc).toBe(crc32(readFileSync(dbg)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function crc32(buf: Buffer): number {
  let c = ~0 >>> 0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

describe("changedSince", () => {
  it("tells a rebuilt binary from a touched one", () => {
    const dir = mkdtempSync(join(tmpdir(), "tstap-changed-"));
    try {
      const p = join(dir, "prog");
      copyFileSync(elfFixtures.pie(), p);
      const elf = readElf(p);
      expect(changedSince(elf)).toBeUndefined();
      copyFileSync(elfFixtures.pie(), join(dir, "tmp"));
      execFileSync("mv", [join(dir, "tmp"), p]); // same build, new inode
      expect(changedSince(elf)).toBeUndefined();
      copyFileSync(elfFixtures.dwarf4(), p);
      expect(changedSince(elf)).toBe(`'${p}' changed since tstap read it (build-id ${elf.buildId} is now ${readElf(elfFixtures.dwarf4()).buildId})`);
      rmSync(p);
      expect(changedSince(elf)).toBe(`'${p}' changed since tstap read it: cannot open '${p}': No such file or directory`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("addresses", () => {
  it("maps vaddr to file offset through PT_LOAD, both ways (postgres, the DESIGN example)", () => {
    const elf = readElf(POSTGRES);
    for (const [off, vaddr, filesz] of readelfLoads(POSTGRES)) {
      expect(fileOffsetOf(elf, vaddr)).toBe(off);
      expect(fileOffsetOf(elf, vaddr + filesz - 1)).toBe(off + filesz - 1);
      expect(vaddrOfFileOffset(elf, off + 1)).toBe(vaddr + 1);
    }
    expect(isExecutableAddress(elf, 0x4722d3)).toBe(true);
    expect(probeOffset(elf, 0x4722d3)).toBe(0x4722d3);
    expect(() => probeOffset(elf, 0x88595e)).toThrow(new TargetError("not-found", `address 0x88595e is in a segment that is not executable of '${POSTGRES}'`));
    expect(() => probeOffset(elf, 0x10000000)).toThrow(`address 0x10000000 is outside every loadable segment of '${POSTGRES}'`);
    expect(isExecutableAddress(elf, 0x88595e)).toBe(false); // the semaphore, in data
    // Debian's postgres maps every segment at offset == vaddr
    expect(fileOffsetOf(elf, 0x4722d3)).toBe(0x4722d3);
    expect(fileOffsetOf(elf, 0x88595e)).toBe(0x88595e);
    expect(fileOffsetOf(elf, 0x8508b0 + 0x67050 - 1)).toBeUndefined(); // .bss: in memory, not in the file
  });

  it("non-PIE: file offset = vaddr - 0x400000-ish base; .bss has none", () => {
    const p = elfFixtures.nopie();
    const elf = readElf(p);
    const main = readSymbols(elf).symbols.find((s) => s.name === "main")!;
    const text = readelfLoads(p).find((l) => l[4] === "RE")!;
    expect(fileOffsetOf(elf, main.value)).toBe(text[0] + main.value - text[1]);
    expect(isExecutableAddress(elf, main.value)).toBe(true);
    const scratch = readSymbols(elf).symbols.find((s) => s.name === "scratch")!;
    expect(fileOffsetOf(elf, scratch.value)).toBeUndefined();
    expect(isExecutableAddress(elf, scratch.value)).toBe(false);
  });
});

describe("symbols against readelf", () => {
  for (const [path, dynamic] of [
    [LIBC, true],
    [LIBSTDCXX, true],
    [BASH, true],
    [POSTGRES, true],
    ["pie", false],
    ["nopie", false],
    ["stripped", true],
    ["ifunc", false],
    ["cxx", false],
    ["dwarf4", false],
    ["dwarf5", false],
  ] as const) {
    it(`${path} (${dynamic ? ".dynsym" : ".symtab + .dynsym"})`, () => {
      const p = path.startsWith("/") ? path : elfFixtures[path as "pie"]();
      const t = readSymbols(readElf(p));
      const ours = t.symbols
        .filter((s) => s.defined && s.value !== 0 && (s.type === "FUNC" || s.type === "GNU_IFUNC") && (dynamic ? s.table === "dynsym" : true))
        .map((s) => `${s.value.toString(16)} ${versionedName(s)} ${s.size} ${s.type} ${s.bind}`);
      expect([...new Set(ours)].sort()).toEqual(readelfFunctions(p, dynamic));
    });
  }

  it("versions: default @@ and hidden @, the pthread_mutex_lock aliases", () => {
    const syms = readSymbols(readElf(LIBC)).symbols;
    const lock = syms.filter((s) => s.name === "pthread_mutex_lock" || s.name === "__pthread_mutex_lock").map(versionedName).sort();
    expect(lock).toEqual(["__pthread_mutex_lock@GLIBC_2.2.5", "pthread_mutex_lock@@GLIBC_2.2.5"]);
    const memcpy = syms.filter((s) => s.name === "memcpy").map((s) => [versionedName(s), s.type]);
    expect(memcpy.sort()).toEqual([
      ["memcpy@@GLIBC_2.14", "GNU_IFUNC"],
      ["memcpy@GLIBC_2.2.5", "FUNC"],
    ]);
  });

  it("a stripped binary keeps only .dynsym", () => {
    const t = readSymbols(readElf(elfFixtures.stripped()));
    expect([t.hasSymtab, t.hasDynsym]).toEqual([false, true]);
    expect(t.symbols.some((s) => s.name === "add_numbers")).toBe(true); // -rdynamic exported it
    expect(t.symbols.some((s) => s.name === "helper_static")).toBe(false);
  });

  it("undefined references carry the version they need", () => {
    const t = readSymbols(readElf(BASH));
    const u = t.symbols.find((s) => !s.defined && s.name === "fopen")!;
    expect(versionedName(u)).toBe("fopen@GLIBC_2.2.5");
  });
});

describe("bad input gets a clear error", () => {
  const dir = mkdtempSync(join(tmpdir(), "tstap-elf-bad-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const err = (path: string): TargetError => {
    try {
      const elf = readElf(path);
      readSymbols(elf);
      readNotes(elf);
      readStapsdt(elf);
      functionSymbols(elf);
    } catch (e) {
      expect(e).toBeInstanceOf(TargetError);
      return e as TargetError;
    }
    throw new Error(`no error for ${path}`);
  };

  it("missing, directory, script, data", () => {
    expect(err(join(dir, "nope")).message).toBe(`cannot open '${join(dir, "nope")}': No such file or directory`);
    expect(err(join(dir, "nope")).code).toBe("not-found");
    expect(err(dir).message).toBe(`'${dir}' is a directory, not an ELF object`);
    writeFileSync(join(dir, "s.sh"), "#!/bin/sh\necho hi\n");
    expect(err(join(dir, "s.sh")).message).toBe(`'${join(dir, "s.sh")}' is a script, not an ELF object`);
    writeFileSync(join(dir, "empty"), "");
    expect(err(join(dir, "empty")).message).toBe(`'${join(dir, "empty")}' is not an ELF object (0 bytes)`);
    writeFileSync(join(dir, "data"), Buffer.alloc(100, 0x41));
    expect(err(join(dir, "data")).code).toBe("not-elf");
  });

  it("other machines and classes are named", () => {
    const base = readFileSync(elfFixtures.pie());
    const arm = Buffer.from(base);
    arm.writeUInt16LE(183, 18);
    writeFileSync(join(dir, "arm"), arm);
    expect(err(join(dir, "arm")).message).toBe(`'${join(dir, "arm")}' is an ELF64 little-endian AArch64 object; tstap probes x86-64 (ELF64 little-endian) objects only`);
    const i386 = Buffer.from(base);
    i386[4] = 1;
    i386.writeUInt16LE(3, 18);
    writeFileSync(join(dir, "i386"), i386);
    expect(err(join(dir, "i386")).message).toContain("is an ELF32 little-endian Intel 80386 object");
    const be = Buffer.from(base);
    be[5] = 2;
    be.writeUInt16BE(22, 18);
    writeFileSync(join(dir, "s390"), be);
    expect(err(join(dir, "s390")).message).toContain("is an ELF64 big-endian IBM S/390 object");
  });

  it("every truncation of a real binary fails cleanly", () => {
    const base = readFileSync(elfFixtures.usdt());
    const cuts = [10, 40, 63, 64, 100, 500, 1000, 4096, 8000, base.length - 2000, base.length - 500, base.length - 64, base.length - 1];
    for (const n of cuts) {
      const p = join(dir, `cut${n}`);
      writeFileSync(p, base.subarray(0, n));
      const e = err(p);
      expect(["malformed", "not-elf"]).toContain(e.code);
      expect(e.message.startsWith(`'${p}'`)).toBe(true);
    }
  });

  it("random corruption never escapes as anything but a TargetError", () => {
    const base = readFileSync(elfFixtures.usdt());
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const stapsdt = readElf(elfFixtures.usdt()).sections.find((s) => s.name === ".note.stapsdt")!;
    const notesAt = stapsdt.offset;
    const notesLen = stapsdt.size;
    for (let round = 0; round < 300; round++) {
      const b = Buffer.from(base);
      // hit the headers and tables more often than the code
      for (let k = 0; k < 8; k++) {
        const r = rnd(4);
        const where = r === 0 ? rnd(b.length) : r === 1 ? rnd(64) : r === 2 ? notesAt + rnd(notesLen) : Number(readElfShoff(base)) + rnd(64 * 36);
        if (where < b.length) b[where] = rnd(256);
      }
      // a new file each round: nothing read from an earlier round is reused
      const p = join(dir, `fuzz${round}`);
      writeFileSync(p, b);
      try {
        const elf = readElf(p);
        readSymbols(elf);
        readNotes(elf);
        readStapsdt(elf);
        functionSymbols(elf);
      } catch (e) {
        if (!(e instanceof TargetError)) throw e;
      }
    }
  });
});

function readElfShoff(b: Buffer): bigint {
  return b.readBigUInt64LE(40);
}
