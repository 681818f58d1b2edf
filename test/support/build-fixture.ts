// Build C/C++ test programs once per content: fixtures for the ELF, symbol and USDT tests (and anyone's kernel tests).

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const fixturesDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

export interface FixtureSpec {
  /** source files, relative to test/fixtures/ (or absolute) */
  sources: string[];
  /** compiler flags besides the sources and -o (e.g. ["-O2", "-no-pie", "-gdwarf-5"]) */
  flags?: string[];
  /** run `strip` on the result (only .dynsym stays) */
  strip?: boolean;
  /** g++ instead of gcc (default: g++ when a source ends in .cc/.cpp) */
  cxx?: boolean;
  /** a readable part of the output's name */
  name?: string;
}

const cacheRoot = join("/tmp", `tstap-fixtures-${process.getuid?.() ?? 0}`);

/**
 * The path of the program built from `spec`, compiling it only when no
 * build of the same sources, flags and compiler exists yet (parallel test
 * files share the cache: the output is renamed into place).
 */
export function buildFixture(spec: FixtureSpec): string {
  const sources = spec.sources.map((s) => (s.startsWith("/") ? s : join(fixturesDir, s)));
  const cxx = spec.cxx ?? sources.some((s) => /\.(cc|cpp|cxx)$/.test(s));
  const compiler = cxx ? "g++" : "gcc";
  const flags = spec.flags ?? ["-O2"];
  const h = createHash("sha256");
  h.update(compiler + "\0" + compilerVersion(compiler) + "\0" + flags.join("\0") + "\0" + String(spec.strip ?? false));
  for (const s of sources) h.update("\0" + readFileSync(s, "utf8"));
  const name = spec.name ?? sources[0]!.replace(/.*\//, "").replace(/\.\w+$/, "");
  const out = join(cacheRoot, `${name}-${h.digest("hex").slice(0, 16)}`);
  if (existsSync(out)) return out;
  mkdirSync(cacheRoot, { recursive: true });
  const tmp = `${out}.tmp${process.pid}`;
  execFileSync(compiler, [...flags, "-o", tmp, ...sources], { stdio: "pipe" });
  if (spec.strip) execFileSync("strip", [tmp], { stdio: "pipe" });
  renameSync(tmp, out);
  return out;
}

/** Build a program from generated source text (written next to the cache, named by its hash). */
export function buildGeneratedFixture(name: string, ext: "c" | "cc" | "s", text: string, flags: string[] = ["-O0"]): string {
  mkdirSync(cacheRoot, { recursive: true });
  const src = join(cacheRoot, `${name}-${createHash("sha256").update(text).digest("hex").slice(0, 16)}.${ext}`);
  if (!existsSync(src)) {
    writeFileSync(`${src}.tmp${process.pid}`, text);
    renameSync(`${src}.tmp${process.pid}`, src);
  }
  return buildFixture({ sources: [src], flags, name, cxx: ext === "cc" });
}

/**
 * Assembly for a program with `n` C++ functions (`ns<i>::C<i>::m<j>(int)` and
 * `(std::string const&)` overloads, mangled by hand), each a bare `ret`:
 * a big symbol table that assembles in a second where g++ would take minutes.
 */
export function manySymbolsAssembly(n: number): string {
  const lines = ["\t.text"];
  for (let k = 0; k < n; k++) {
    const i = Math.floor(k / 100);
    const j = Math.floor((k % 100) / 2);
    const ns = `ns${i}`;
    const cls = `C${i}`;
    const m = `m${j}`;
    const params = k % 2 === 0 ? "i" : "RKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE";
    const sym = `_ZN${ns.length}${ns}${cls.length}${cls}${m.length}${m}E${params}`;
    lines.push(`\t.globl ${sym}`, `\t.type ${sym}, @function`, `${sym}:`, "\tret", `\t.size ${sym}, .-${sym}`);
  }
  lines.push("\t.globl main", "\t.type main, @function", "main:", "\txorl %eax, %eax", "\tret", "\t.size main, .-main", '\t.section .note.GNU-stack,"",@progbits', "");
  return lines.join("\n");
}

const versions = new Map<string, string>();
function compilerVersion(c: string): string {
  let v = versions.get(c);
  if (v === undefined) {
    v = execFileSync(c, ["--version"], { encoding: "utf8" }).split("\n")[0]!;
    versions.set(c, v);
  }
  return v;
}

/** The ELF test programs of test/fixtures/elf/, by what each one is for. */
export const elfFixtures = {
  /** C, PIE (the default), with symbols and DWARF 5 */
  pie: (): string => buildFixture({ sources: ["elf/plain.c"], flags: ["-O2", "-g"], name: "plain-pie" }),
  nopie: (): string => buildFixture({ sources: ["elf/plain.c"], flags: ["-O2", "-no-pie", "-fno-pie"], name: "plain-nopie" }),
  stripped: (): string => buildFixture({ sources: ["elf/plain.c"], flags: ["-O2", "-rdynamic"], strip: true, name: "plain-stripped" }),
  dwarf4: (): string => buildFixture({ sources: ["elf/plain.c"], flags: ["-O0", "-gdwarf-4"], name: "plain-dwarf4" }),
  dwarf5: (): string => buildFixture({ sources: ["elf/plain.c"], flags: ["-O0", "-gdwarf-5"], name: "plain-dwarf5" }),
  ifunc: (): string => buildFixture({ sources: ["elf/ifunc.c"], flags: ["-O2"], name: "ifunc" }),
  ifuncStripped: (): string => buildFixture({ sources: ["elf/ifunc.c"], flags: ["-O2", "-rdynamic"], strip: true, name: "ifunc-stripped" }),
  cxx: (): string => buildFixture({ sources: ["elf/cxx.cc"], flags: ["-O1", "-g"], name: "cxx" }),
  /** prints `&probe_me &puts` then waits for stdin to close */
  selfaddr: (): string => buildFixture({ sources: ["elf/selfaddr.c"], flags: ["-O2"], name: "selfaddr" }),
  selfaddrNopie: (): string => buildFixture({ sources: ["elf/selfaddr.c"], flags: ["-O2", "-no-pie", "-fno-pie"], name: "selfaddr-nopie" }),
  /** marker `vars`: rip-relative .data/.bss variables and a constant, three hits */
  usdtVars: (): string => buildFixture({ sources: ["elf/usdt_vars.c"], flags: ["-O2"], name: "usdt-vars" }),
  usdtVarsNopie: (): string => buildFixture({ sources: ["elf/usdt_vars.c"], flags: ["-O2", "-no-pie", "-fno-pie"], name: "usdt-vars-nopie" }),
  /** usdt_sem.c as a shared library: markers with semaphores in a .so, whose data is mapped above its file offset */
  usdtLib: (): string => buildFixture({ sources: ["elf/usdt_sem.c"], flags: ["-O2", "-shared", "-fPIC"], name: "libusdtsem.so" }),
  /** a program calling libusdtsem.so's markers (DT_NEEDED is the library's absolute path) */
  usdtLibMain: (): string => buildFixture({ sources: ["elf/usdt_main.c", elfFixtures.usdtLib()], flags: ["-O2"], name: "usdt-lib-main" }),
  usdt: (): string => buildFixture({ sources: ["elf/usdt.c", "elf/usdt_sem.c"], flags: ["-O2"], name: "usdt" }),
  usdtNopie: (): string => buildFixture({ sources: ["elf/usdt.c", "elf/usdt_sem.c"], flags: ["-O2", "-no-pie", "-fno-pie"], name: "usdt-nopie" }),
};
