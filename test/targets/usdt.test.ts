// USDT markers against readelf -n (postgres, libc, sys/sdt.h fixtures) and the x86-64 argument forms.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readElf } from "../../src/targets/elf/elf.js";
import { readSymbols } from "../../src/targets/elf/symbols.js";
import { TargetError } from "../../src/targets/errors.js";
import { parseUsdtArg, registerRef } from "../../src/targets/usdt/args.js";
import { markerNames, matchMarkers, readStapsdt } from "../../src/targets/usdt/stapsdt.js";
import { elfFixtures } from "../support/build-fixture.js";

const POSTGRES = "/usr/lib/postgresql/15/bin/postgres";
const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const LIBSTDCXX = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";

interface ReadelfNote {
  provider: string;
  name: string;
  pc: number;
  base: number;
  semaphore: number;
  args: string;
}

function readelfStapsdt(path: string): ReadelfNote[] {
  const out = execFileSync("readelf", ["-nW", path], { encoding: "utf8", maxBuffer: 64 << 20 });
  const re = /Provider: (.*)\n\s+Name: (.*)\n\s+Location: 0x([0-9a-f]+), Base: 0x([0-9a-f]+), Semaphore: 0x([0-9a-f]+)\n\s+Arguments: ?(.*)/g;
  return [...out.matchAll(re)].map((m) => ({ provider: m[1]!, name: m[2]!, pc: parseInt(m[3]!, 16), base: parseInt(m[4]!, 16), semaphore: parseInt(m[5]!, 16), args: m[6]!.trim() }));
}

const dir = mkdtempSync(join(tmpdir(), "tstap-usdt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("markers against readelf -n", () => {
  for (const p of [POSTGRES, LIBSTDCXX, "usdt", "usdtNopie", "usdtLib"]) {
    it(p, () => {
      const path = p.startsWith("/") ? p : elfFixtures[p as "usdt"]();
      const ours = readStapsdt(readElf(path));
      const theirs = readelfStapsdt(path);
      expect(theirs.length).toBeGreaterThanOrEqual(2);
      expect(ours.map((m) => ({ provider: m.provider, name: m.name, pc: m.raw.pc, base: m.raw.base, semaphore: m.raw.semaphore, args: m.argsText }))).toEqual(theirs);
    });
  }

  it("libc.so.6 of this machine has no markers (Debian builds glibc without sys/sdt.h): an empty list", () => {
    expect(readelfStapsdt(LIBC)).toEqual([]);
    expect(readStapsdt(readElf(LIBC))).toEqual([]);
  });

  it("postgres: the DESIGN worked example, 71 call sites, every argument fetchable", () => {
    const elf = readElf(POSTGRES);
    const all = readStapsdt(elf);
    // `readelf -n | grep -c stapsdt` says 72: that count includes the "notes found in: .note.stapsdt" heading
    expect(all.length).toBe(71);
    const [qs] = matchMarkers(elf, "query__start");
    expect(qs).toMatchObject({ provider: "postgresql", pc: 0x4722d3, fileOffset: 0x4722d3, semaphore: 0x88595e, semaphoreOffset: 0x88595e, argsText: "8@%rbx" });
    expect(qs!.args).toEqual([{ text: "8@%rbx", size: 8, signed: false, float: false, operand: { kind: "register", register: { reg: "bx", width: 8, high8: false } }, fetch: "%bx", type: "u64" }]);
    const [qd] = matchMarkers(elf, "query__done", "postgresql");
    expect(qd!.args.map((a) => [a.fetch, a.type])).toEqual([["-144(%bp)", "u64"]]);
    expect(all.filter((m) => m.args.some((a) => a.unsupported !== undefined))).toEqual([]);
    // rip-relative variables, one in .data and one in .bss: @+OFFSET relative to the probed file's load address
    const syms = readSymbols(elf).symbols;
    const nbuf = syms.find((s) => s.name === "NBuffers")!.value;
    const ckpt = syms.find((s) => s.name === "CheckpointStats")!.value;
    for (const m of all) {
      for (const a of m.args) {
        const r = /^-4@(?:(\d+)\+)?(NBuffers|CheckpointStats)\(%rip\)$/.exec(a.text);
        if (!r) continue;
        const addr = (r[2] === "NBuffers" ? nbuf : ckpt) + Number(r[1] ?? 0);
        expect([a.fetch, a.type]).toEqual([`@+0x${(addr - m.pc + m.fileOffset).toString(16)}`, "s32"]);
      }
    }
    expect(matchMarkers(elf, "query-start").length).toBe(1); // dtrace spelling
    expect(new Set(matchMarkers(elf, "query__*").map((m) => m.name))).toEqual(new Set(all.filter((m) => m.name.startsWith("query__")).map((m) => m.name)));
    expect(matchMarkers(elf, "query__*").length).toBeGreaterThan(8);
    expect(matchMarkers(elf, "query__start", "other")).toEqual([]);
    expect(matchMarkers(elf, "*", "postgre*").length).toBe(71);
    const groups = markerNames(all);
    expect(groups.length).toBe(new Set(all.map((m) => m.name)).size);
    expect(groups.reduce((n, g) => n + g.sites.length, 0)).toBe(71);
  });

  it("fixture: semaphores, every argument form the compiler emitted", () => {
    for (const p of [elfFixtures.usdt(), elfFixtures.usdtNopie()]) {
      const elf = readElf(p);
      const syms = readSymbols(elf).symbols;
      const sem = (n: string): number => syms.find((s) => s.name === `tstapfix_${n}_semaphore`)!.value;
      const [start] = matchMarkers(elf, "req__start", "tstapfix");
      expect(start!.semaphore).toBe(sem("req__start"));
      const data = elf.segments.find((s) => s.type === 1 && sem("req__start") >= s.vaddr && sem("req__start") < s.vaddr + s.filesz)!;
      expect(start!.semaphoreOffset).toBe(sem("req__start") - data.vaddr + data.offset);
      expect(matchMarkers(elf, "req__end")[0]!.semaphore).toBe(sem("req__end"));
      expect(matchMarkers(elf, "bare")[0]!.args).toEqual([]);
      expect(matchMarkers(elf, "bare")[0]!.semaphore).toBeUndefined();
      const c = matchMarkers(elf, "constant")[0]!.args[0]!;
      expect([c.text, c.fetch, c.type]).toEqual(["-4@$42", "\\42", "s32"]);
      // `table[i].id` with i in a register: base + index*8, which tracefs cannot add
      const idx = matchMarkers(elf, "indexed")[0]!.args[0]!;
      expect(idx.unsupported).toMatch(/^the address adds an index register \(%\w+\*8\): tracefs fetch arguments can only add a constant to one register$/);
      for (const m of readStapsdt(elf)) for (const a of m.args) if (a.unsupported === undefined) expect(a.fetch).toBeDefined();
    }
  });

  it("a shared library's markers: semaphore file offsets through its data segment (mapped above its offset)", () => {
    const elf = readElf(elfFixtures.usdtLib());
    const probes = elf.sections.find((s) => s.name === ".probes")!;
    expect(probes.addr).not.toBe(probes.offset);
    const syms = readSymbols(elf).symbols;
    for (const n of ["req__start", "req__end"]) {
      const [m] = matchMarkers(elf, n);
      const sem = syms.find((s) => s.name === `tstapfix_${n}_semaphore`)!.value;
      expect(m!.semaphore).toBe(sem);
      expect(m!.semaphoreOffset).toBe(sem - probes.addr + probes.offset);
    }
    const lib = readElf(LIBSTDCXX);
    expect(matchMarkers(lib, "throw", "libstdcxx").map((m) => m.args.map((a) => `${a.fetch}:${a.type}`))).toEqual([["%di:u64", "%si:u64"]]);
  });

  it("prelink: notes whose addresses moved are adjusted through .stapsdt.base", () => {
    const path = elfFixtures.usdt();
    const before = readStapsdt(readElf(path));
    const buf = Buffer.from(readFileSync(path));
    // make every note say pc, base and semaphore were 0x1000 lower at link time (what prelink leaves behind)
    for (const m of before) {
      const at = findNote(buf, m.raw.pc, m.raw.base);
      buf.writeBigUInt64LE(BigInt(m.raw.pc - 0x1000), at);
      buf.writeBigUInt64LE(BigInt(m.raw.base - 0x1000), at + 8);
      if (m.raw.semaphore !== 0) buf.writeBigUInt64LE(BigInt(m.raw.semaphore - 0x1000), at + 16);
    }
    const moved = join(dir, "prelinked");
    writeFileSync(moved, buf);
    const after = readStapsdt(readElf(moved));
    expect(after.map((m) => [m.pc, m.fileOffset, m.semaphore, m.semaphoreOffset])).toEqual(before.map((m) => [m.pc, m.fileOffset, m.semaphore, m.semaphoreOffset]));
    expect(after.map((m) => m.raw.pc)).toEqual(before.map((m) => m.raw.pc - 0x1000));
  });

  it("a note pointing outside the code is refused by name", () => {
    const path = elfFixtures.usdt();
    const m = readStapsdt(readElf(path))[0]!;
    const buf = Buffer.from(readFileSync(path));
    buf.writeBigUInt64LE(0x7fff0000n, findNote(buf, m.raw.pc, m.raw.base));
    const bad = join(dir, "badnote");
    writeFileSync(bad, buf);
    try {
      readStapsdt(readElf(bad));
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(TargetError);
      expect((e as Error).message).toBe(`'${bad}': marker ${m.provider}:${m.name} at 0x7fff0000 is not in executable code`);
    }
  });
});

function findNote(buf: Buffer, pc: number, base: number): number {
  const pat = Buffer.alloc(16);
  pat.writeBigUInt64LE(BigInt(pc), 0);
  pat.writeBigUInt64LE(BigInt(base), 8);
  const at = buf.indexOf(pat);
  if (at < 0) throw new Error("note not found");
  return at;
}

describe("argument forms (x86-64)", () => {
  const ctx = { pc: 0x1200, pcFileOffset: 0x1200, symbolAddress: (n: string): number | undefined => ({ counter: 0x4010, table: 0x4040 })[n] };
  const f = (t: string): [string | undefined, string | undefined] | string => {
    const a = parseUsdtArg(t, ctx);
    return a.unsupported ?? [a.fetch, a.type];
  };

  it("registers of every width map to the tracefs names", () => {
    const regs: [string, string, number][] = [
      ["rax", "ax", 8], ["eax", "ax", 4], ["ax", "ax", 2], ["al", "ax", 1], ["ah", "ax", 1],
      ["rbx", "bx", 8], ["bl", "bx", 1], ["bh", "bx", 1], ["ecx", "cx", 4], ["cl", "cx", 1], ["dx", "dx", 2], ["dh", "dx", 1],
      ["rsi", "si", 8], ["esi", "si", 4], ["si", "si", 2], ["sil", "si", 1], ["rdi", "di", 8], ["dil", "di", 1],
      ["rbp", "bp", 8], ["ebp", "bp", 4], ["bpl", "bp", 1], ["rsp", "sp", 8], ["spl", "sp", 1],
      ["r8", "r8", 8], ["r8d", "r8", 4], ["r8w", "r8", 2], ["r8b", "r8", 1], ["r15", "r15", 8], ["r15d", "r15", 4], ["r12w", "r12", 2], ["r9b", "r9", 1], ["r10l", "r10", 1],
      ["rip", "ip", 8],
    ];
    for (const [name, reg, width] of regs) expect(registerRef(name), name).toEqual({ reg, width, high8: ["ah", "bh", "ch", "dh"].includes(name) });
    expect(registerRef("xmm0")).toBeUndefined();
  });

  it("sizes and signedness", () => {
    expect(f("8@%rbx")).toEqual(["%bx", "u64"]);
    expect(f("-8@%rbx")).toEqual(["%bx", "s64"]);
    expect(f("-4@%eax")).toEqual(["%ax", "s32"]);
    expect(f("4@%r14d")).toEqual(["%r14", "u32"]);
    expect(f("8@%eax")).toEqual(["%ax", "u64"]); // a 32-bit write zeroes the top half: the whole register is the value
    expect(f("-2@%ax")).toEqual(["%ax", "s16"]);
    expect(f("-1@%al")).toEqual(["%ax", "s8"]);
    expect(f("1@%sil")).toEqual(["%si", "u8"]);
    expect(f("1@%ah")).toEqual(["%ax", "b8@8/64"]);
    expect(f("%rdi")).toEqual(["%di", "s64"]); // v1/v2 notes: no size, a signed long
  });

  it("memory, constants, rip-relative variables", () => {
    expect(f("8@-144(%rbp)")).toEqual(["-144(%bp)", "u64"]);
    expect(f("-1@16(%rbx)")).toEqual(["+16(%bx)", "s8"]);
    expect(f("-8@(%rbx)")).toEqual(["+0(%bx)", "s64"]);
    expect(f("4@0x10(%r12)")).toEqual(["+16(%r12)", "u32"]);
    expect(f("-4@$42")).toEqual(["\\42", "s32"]);
    expect(f("-4@$-1")).toEqual(["\\-1", "s32"]);
    expect(f("8@$0x7fffffffffffffff")).toEqual(["\\9223372036854775807", "u64"]);
    expect(f("-4@counter(%rip)")).toEqual(["@+0x4010", "s32"]);
    expect(f("-4@8+counter(%rip)")).toEqual(["@+0x4018", "s32"]);
    expect(f("-4@counter+8(%rip)")).toEqual(["@+0x4018", "s32"]);
    expect(f("8@table")).toEqual(["@+0x4040", "u64"]); // absolute (non-PIE)
    expect(f("8@0x4048")).toEqual(["@+0x4048", "u64"]);
    expect(parseUsdtArg("-4@counter(%rip)", { ...ctx, pc: 0x401200, pcFileOffset: 0x1200, symbolAddress: () => 0x404010 }).fetch).toBe("@+0x4010");
  });

  it("what tracefs cannot fetch says why", () => {
    expect(f("8@(%rax,%rdx,8)")).toBe("the address adds an index register (%dx*8): tracefs fetch arguments can only add a constant to one register");
    expect(f("-8@8(%rax,%rbx)")).toBe("the address adds an index register (%bx*1): tracefs fetch arguments can only add a constant to one register");
    expect(f("8f@%xmm0")).toBe("a floating-point value in %xmm0: tracefs cannot read SSE/x87 registers");
    expect(f("4f@-8(%rbp)")).toBe("a floating-point value: tracefs fetch arguments read integers only");
    expect(f("8@%fs:0x28")).toBe("a %fs-relative (thread-local) address: tracefs cannot add a segment base");
    expect(f("-4@missing(%rip)")).toBe("symbol 'missing' is not in the object's symbol tables (stripped?)");
    expect(f("-4@16(%rip)")).toBe("a rip-relative address with a numeric displacement: the instruction it is relative to is unknown at the marker");
    expect(f("8@%foo")).toBe("unknown register '%foo'");
    expect(f("8@(%rax,%rbx,3)")).toBe("scale '3' in '(%rax,%rbx,3)' is not 1, 2, 4 or 8");
    expect(f("8@$abc")).toBe("constant '$abc' is not a number");
    expect(f("8@@@")).toBe("cannot parse operand '@@'");
    expect(parseUsdtArg("8@0x100", { pc: 0x401200, pcFileOffset: 0x1200 }).unsupported).toBe("address 0x100 lies below the probed code, which @+OFFSET cannot reach");
  });
});
