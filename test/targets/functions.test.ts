// Function symbols: demangling against c++filt/nm -C, stap-style matching, alias dedup, suggestions, IFUNCs.

import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cxxNameParts, demangle, demangleAll, withoutTemplateArgs } from "../../src/targets/demangle.js";
import { readFileSync } from "node:fs";
import { fileOffsetOf, readElf } from "../../src/targets/elf/elf.js";
import { cloneOf, functionAt, functionContaining, functionMatches, functionSymbols, ifuncImplementations, matchFunctions, suggestFunctions } from "../../src/targets/functions.js";
import { findDebugFile } from "../../src/targets/elf/debugfile.js";
import { ifuncTarget, resolveIfunc } from "../../src/targets/ifunc-target.js";
import { findMappedObject, processObjects } from "../../src/targets/proc.js";
import { buildGeneratedFixture, elfFixtures, manySymbolsAssembly } from "../support/build-fixture.js";

const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const LIBSTDCXX = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";

const names = (ms: ReturnType<typeof matchFunctions>): string[] => ms.map((m) => m.symbol.displayName);

describe("demangling", () => {
  it("agrees with c++filt run on nm's names for every function of libstdc++", () => {
    const fns = functionSymbols(readElf(LIBSTDCXX)).filter((f) => f.table === "dynsym");
    // nm's own -C abbreviates (std::string); c++filt, like abi::__cxa_demangle, spells the template out
    const raw = execFileSync("nm", ["-D", "--defined-only", LIBSTDCXX], { encoding: "utf8", maxBuffer: 64 << 20 })
      .split("\n")
      .map((l) => /^[0-9a-f]+ [TtWi] (_Z\S*?)(@.*)?$/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined);
    const filtered = execFileSync("c++filt", { input: raw.join("\n") + "\n", encoding: "utf8", maxBuffer: 64 << 20 }).split("\n");
    const expected = new Map(raw.map((n, i) => [n, filtered[i]!]));
    let mangled = 0;
    for (const f of fns) {
      if (f.demangled === undefined) continue;
      mangled++;
      expect(f.demangled, f.name).toBe(expected.get(f.name));
    }
    expect(mangled).toBe(fns.filter((f) => f.name.startsWith("_Z")).length);
    expect(mangled).toBeGreaterThan(3000);
  });

  it("leaves plain names and non-names alone, batches duplicates", () => {
    expect(demangleAll(["main", "_Z3foov", "_Z3foov", "_Zfoo", "_ZN3BoxIiEcvbEv", ""])).toEqual(["main", "foo()", "foo()", "_Zfoo", "Box<int>::operator bool()", ""]);
    expect(demangle("_Z3foov.cold")).toBe("foo() [clone .cold]");
  });

  it("splits demangled names into qualified and base names", () => {
    const cases: [string, string, string][] = [
      ["net::Server::handle(int) [clone .isra.0]", "net::Server::handle", "handle"],
      ["void net::detail::twice<int>(int)", "net::detail::twice<int>", "twice<int>"],
      ["std::vector<int, std::allocator<int> >::push_back(int&&)", "std::vector<int, std::allocator<int> >::push_back", "push_back"],
      ["net::Server::operator==(net::Server const&) const", "net::Server::operator==", "operator=="],
      ["bool operator< <A>(A const&, A const&)", "operator< <A>", "operator< <A>"],
      ["Box<int>::operator bool()", "Box<int>::operator bool", "operator bool"],
      ["main::{lambda()#1}::operator()() const", "main::{lambda()#1}::operator()", "operator()"],
      ["(anonymous namespace)::hidden_helper(int)", "(anonymous namespace)::hidden_helper", "hidden_helper"],
      ["std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string[abi:cxx11]()", "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string", "basic_string"],
      [
        "std::basic_ostream<char, std::char_traits<char> >& std::endl<char, std::char_traits<char> >(std::basic_ostream<char, std::char_traits<char> >&)",
        "std::endl<char, std::char_traits<char> >",
        "endl<char, std::char_traits<char> >",
      ],
      ["operator new(unsigned long)", "operator new", "operator new"],
      ["std::operator<<(std::ostream&, char const*)", "std::operator<<", "operator<<"],
    ];
    for (const [d, q, b] of cases) expect(cxxNameParts(d), d).toEqual({ qualified: q, base: b });
    expect(withoutTemplateArgs("Box<long>::get")).toBe("Box::get");
    expect(withoutTemplateArgs("std::vector<int, std::allocator<int> >::push_back")).toBe("std::vector::push_back");
    expect(withoutTemplateArgs("operator< <A>")).toBe("operator<");
  });
});

describe("C++ matching (stap's .function on mangled symbols)", () => {
  const elf = (): ReturnType<typeof readElf> => readElf(elfFixtures.cxx());

  it("a plain name selects every overload", () => {
    const ms = matchFunctions(elf(), "dispatch_command");
    expect(ms.map((m) => m.symbol.demangled).sort()).toEqual(["dispatch_command(enum_server_command, THD*, char*, unsigned int)", "dispatch_command(int)"]);
    expect(ms.map((m) => m.symbol.name).sort()).toEqual(["_Z16dispatch_command19enum_server_commandP3THDPcj", "_Z16dispatch_commandi"]);
    expect(names(ms)).toEqual(["dispatch_command", "dispatch_command"]);
  });

  it("Server::* globs the qualified name; methods by plain name across namespaces", () => {
    const ms = matchFunctions(elf(), "net::Server::*");
    expect([...new Set(ms.map((m) => m.symbol.demangled!.replace(/ \[clone.*/, "")))].sort()).toEqual(
      [
        "net::Server::handle(int)",
        "net::Server::handle(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)",
        "net::Server::make(int)",
        "net::Server::operator==(net::Server const&) const",
        "net::Server::~Server()",
      ].sort(),
    );
    expect(matchFunctions(elf(), "Server::*")).toEqual([]); // stap matches the whole qualified name
    expect(matchFunctions(elf(), "*::Server::handle").length).toBe(2);
    expect(matchFunctions(elf(), "handle").length).toBe(2);
    expect(matchFunctions(elf(), "handle(int)").length).toBe(0); // a signature is matched whole
    expect(matchFunctions(elf(), "net::Server::handle(int)").length).toBe(1);
    expect(matchFunctions(elf(), "*(int)").map((m) => m.symbol.base).sort()).toContain("hidden_helper");
  });

  it("templates match with or without their arguments", () => {
    expect(names(matchFunctions(elf(), "twice")).sort()).toEqual(["net::detail::twice<double>", "net::detail::twice<int>"]);
    expect(names(matchFunctions(elf(), "twice<int>"))).toEqual(["net::detail::twice<int>"]);
    expect(names(matchFunctions(elf(), "Box::get")).length).toBe(2);
    expect(names(matchFunctions(elf(), "Box<long>::get"))).toEqual(["Box<long>::get"]);
  });

  it("anonymous namespaces and raw mangled names", () => {
    expect(names(matchFunctions(elf(), "hidden_helper"))).toEqual(["(anonymous namespace)::hidden_helper"]);
    expect(matchFunctions(elf(), "_Z16dispatch_commandi").length).toBe(1);
    expect(matchFunctions(elf(), "_Z16dispatch*").length).toBe(2);
  });

  it("suggests demangled names for a missing one", () => {
    expect(suggestFunctions(elf(), "dispatch_comand")[0]).toBe("dispatch_command");
    expect(suggestFunctions(elf(), "net::Server::handel")[0]).toBe("net::Server::handle");
  });

  it("100,000 symbols: every one listed, demangled and matched", () => {
    const n = 100_000;
    const big = readElf(buildGeneratedFixture("many-symbols", "s", manySymbolsAssembly(n), ["-O0", "-no-pie"]));
    const fns = functionSymbols(big);
    expect(fns.length).toBeGreaterThanOrEqual(n);
    expect(fns.filter((f) => f.demangled !== undefined).length).toBe(n);
    expect(matchFunctions(big, "m7").length).toBe(1000 * 2);
    expect(matchFunctions(big, "ns999::C999::*").length).toBe(100);
    const ms = matchFunctions(big, "ns12::C12::m3(int)");
    expect(ms.map((m) => m.symbol.demangled)).toEqual(["ns12::C12::m3(int)"]);
    // each function is a single `ret`, one byte: every entry is its own probe location
    expect(matchFunctions(big, "*").length).toBe(fns.length);
    expect(suggestFunctions(big, "ns12::C12::m3x")[0]).toBe("ns12::C12::m3");
  });
});

describe("C matching: libc aliases and versions", () => {
  const libc = (): ReturnType<typeof readElf> => readElf(LIBC);

  it("one probe per address, the plain name preferred over __libc_ / hidden aliases", () => {
    const lock = matchFunctions(libc(), "pthread_mutex_lock");
    expect(lock.length).toBe(1);
    expect(lock[0]!.symbol.versionedName).toBe("pthread_mutex_lock@@GLIBC_2.2.5");
    // .dynsym's hidden alias, plus libc6-dbg's internal names for the same code
    expect(lock[0]!.aliases).toEqual(["__GI___pthread_mutex_lock", "___pthread_mutex_lock", "__pthread_mutex_lock@GLIBC_2.2.5"]);
    const fopen = matchFunctions(libc(), "fopen*");
    expect(fopen.map((m) => m.symbol.name).sort()).toEqual(["fopen", "fopencookie"]);
    expect(fopen.find((m) => m.symbol.name === "fopen")!.aliases).toEqual(expect.arrayContaining(["_IO_fopen@@GLIBC_2.2.5", "fopen64@@GLIBC_2.2.5"]));
    // asking for the alias by name gets that name
    expect(matchFunctions(libc(), "_IO_fopen")[0]!.symbol.name).toBe("_IO_fopen");
  });

  it("'*' gives one location per distinct function address", () => {
    const all = matchFunctions(libc(), "*");
    expect(all.length).toBe(new Set(functionSymbols(libc()).map((f) => f.address)).size);
    expect(new Set(all.map((m) => m.symbol.address)).size).toBe(all.length);
  });

  it("versions: each version of a symbol is its own function; @ selects one", () => {
    const cw = matchFunctions(libc(), "pthread_cond_wait");
    expect(cw.map((m) => m.symbol.versionedName).sort()).toEqual(["pthread_cond_wait@@GLIBC_2.3.2", "pthread_cond_wait@GLIBC_2.2.5"]);
    expect(matchFunctions(libc(), "pthread_cond_wait@@GLIBC_2.3.2").length).toBe(1);
    expect(matchFunctions(libc(), "pthread_cond_wait@*").length).toBe(2);
  });

  it("IFUNCs: flagged; implementations named from libc6-dbg's debug file; the one bound in a live process read from its GOT", () => {
    const m = matchFunctions(libc(), "memcpy@@GLIBC_2.14");
    expect(m.length).toBe(1);
    expect(m[0]!.symbol.ifunc).toBe(true);
    expect(matchFunctions(libc(), "memcpy@GLIBC_2.2.5")[0]!.symbol.ifunc).toBe(false);
    const impls = ifuncImplementations(libc(), m[0]!.symbol).map((f) => f.name);
    expect(impls).toContain("__memcpy_avx_unaligned_erms");
    expect(impls).toContain("__memcpy_sse2_unaligned_erms");
    expect(impls.filter((n) => n.includes("_chk"))).toEqual([]); // those implement __memcpy_chk
    // tstap's own process maps libc: what memcpy's IRELATIVE slot holds is what every process here calls
    const libcObj = findMappedObject(processObjects(process.pid), "libc.so.6")[0]!;
    const t = ifuncTarget(libc(), m[0]!.symbol, process.pid, libcObj.mappings)!;
    expect(impls).toContain(t.name);
    expect(t.fileOffset).toBe(t.address); // libc's text is mapped at offset == vaddr
    expect(resolveIfunc(libc(), m[0]!.symbol)).toEqual({ kind: "bound", target: t, pid: process.pid });
    const strlen = matchFunctions(libc(), "strlen")[0]!.symbol;
    expect(strlen.ifunc).toBe(true);
    expect(ifuncTarget(libc(), strlen, process.pid, libcObj.mappings)!.name).toMatch(/^__strlen_/);
  });

  it("the debug file adds libc's local functions (table 'debug')", () => {
    const dbg = findDebugFile(libc())!;
    expect(dbg.path).toBe(`/usr/lib/debug/.build-id/${libc().buildId!.slice(0, 2)}/${libc().buildId!.slice(2)}.debug`);
    const f = matchFunctions(libc(), "_IO_new_file_overflow");
    expect(f.map((x) => [x.symbol.table, x.symbol.name])).toEqual([["debug", "_IO_new_file_overflow"]]);
    expect(findDebugFile(readElf(elfFixtures.stripped()))).toBeUndefined();
  });

  it("suggests the nearest names", () => {
    expect(suggestFunctions(libc(), "pthread_mutex_lok")[0]).toBe("pthread_mutex_lock");
    expect(matchFunctions(libc(), "no_such_function_here")).toEqual([]);
  });

  it("functionAt / functionContaining / functionMatches", () => {
    const lock = matchFunctions(libc(), "pthread_mutex_lock")[0]!.symbol;
    expect(functionAt(libc(), lock.address)!.symbol.name).toBe("pthread_mutex_lock");
    expect(functionAt(libc(), lock.address + 1)).toBeUndefined();
    expect(functionContaining(libc(), lock.address + 10)!.name).toBe("pthread_mutex_lock");
    expect(functionContaining(libc(), lock.address + lock.size)?.name).not.toBe("pthread_mutex_lock");
    expect(functionMatches(lock, "pthread_*")).toBe(true);
    expect(functionMatches(lock, "pthread_mutex_lock@@GLIBC_2.2.5")).toBe(true);
  });
});

describe("IFUNC fixture (__attribute__((ifunc)))", () => {
  it("names the resolver's possible implementations from .symtab", () => {
    const elf = readElf(elfFixtures.ifunc());
    const add = matchFunctions(elf, "add");
    expect(add.length).toBe(1);
    expect(add[0]!.symbol.ifunc).toBe(true);
    // st_value of an IFUNC is its resolver: resolve_add's address
    expect(add[0]!.aliases).toEqual(["resolve_add"]);
    expect(ifuncImplementations(elf, add[0]!.symbol).map((f) => f.name).sort()).toEqual(["add_fast", "add_generic"]);
  });

  it("reads which implementation a running process bound (IRELATIVE slot of the program itself)", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn(elfFixtures.ifunc(), ["wait"], { stdio: ["pipe", "pipe", "inherit"] });
    await new Promise<void>((res) => child.stdout!.once("data", () => res()));
    try {
      const elf = readElf(elfFixtures.ifunc());
      const add = matchFunctions(elf, "add")[0]!.symbol;
      const t = ifuncTarget(elf, add, child.pid!, processObjects(child.pid!)[0]!.mappings)!;
      const cpuHasAvx2 = /\bavx2\b/.test(readFileSync("/proc/cpuinfo", "utf8"));
      expect(t.name).toBe(cpuHasAvx2 ? "add_fast" : "add_generic");
      expect(t.fileOffset).toBe(fileOffsetOf(elf, t.address));
      expect(resolveIfunc(elf, add, child.pid!)).toEqual({ kind: "bound", target: t, pid: child.pid });
      // tstap does not map this program: without its pid, the implementations by name
      expect(resolveIfunc(elf, add)).toMatchObject({ kind: "candidates" });
      const stripped = readElf(elfFixtures.ifuncStripped());
      const sadd = matchFunctions(stripped, "add")[0]!.symbol;
      expect(resolveIfunc(stripped, sadd)).toEqual({
        kind: "unknown",
        reason: `'add' in '${stripped.path}' is an IFUNC: its address is the resolver the dynamic linker calls once; no running process here has bound it where tstap can read, and no symbol table names its implementations`,
      });
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("C fixtures", () => {
  it("PIE, non-PIE, stripped: the same functions where the tables have them", () => {
    for (const p of [elfFixtures.pie(), elfFixtures.nopie()]) {
      const elf = readElf(p);
      expect(names(matchFunctions(elf, "add_numbers"))).toEqual(["add_numbers"]);
      expect(names(matchFunctions(elf, "helper_static"))).toEqual(["helper_static"]);
      const re = matchFunctions(elf, "*real_entry");
      expect(re.length).toBe(1);
      expect(re[0]!.symbol.name).toBe("real_entry");
      expect(re[0]!.aliases).toEqual(["__real_entry"]);
    }
    // GCC's clone of a static function: the plain name finds it, listed under its real name
    const pie = readElf(elfFixtures.pie());
    const clone = matchFunctions(pie, "scale_value");
    expect(clone.map((m) => m.symbol.name)).toEqual([functionSymbols(pie).find((f) => f.name.startsWith("scale_value."))!.name]);
    expect(clone[0]!.symbol.name).toMatch(/^scale_value(\.(constprop|isra)\.0)+$/);
    expect(suggestFunctions(pie, "scale_valu")[0]).toBe("scale_value");
    expect(cloneOf("work.constprop.0.isra.0")).toBe("work");
    expect(cloneOf("foo.cold")).toBe("foo.cold");
    const stripped = readElf(elfFixtures.stripped());
    expect(names(matchFunctions(stripped, "add_numbers"))).toEqual(["add_numbers"]);
    expect(matchFunctions(stripped, "helper_static")).toEqual([]);
    expect(suggestFunctions(stripped, "helper_static")).not.toContain("helper_static");
  });
});
