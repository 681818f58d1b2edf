// Address → symbol for running processes (ASLR, PIE, non-PIE, libraries, exited processes) and JIT perf maps.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readElf } from "../../src/targets/elf/elf.js";
import { matchFunctions } from "../../src/targets/functions.js";
import { parsePerfMap, perfMapLookup, perfMapPath, readPerfMap } from "../../src/targets/perf-map.js";
import { UserSymbolizer } from "../../src/targets/symbolize.js";
import { elfFixtures } from "../support/build-fixture.js";

const children: ChildProcess[] = [];
const perfMaps: string[] = [];
const jitDir = mkdtempSync(join(tmpdir(), "tstap-jit-"));
afterAll(() => {
  rmSync(jitDir, { recursive: true, force: true });
  for (const c of children) c.kill("SIGKILL");
  for (const p of perfMaps) rmSync(p, { force: true });
});

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((res, rej) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      if (buf.includes("\n")) res(buf.split("\n")[0]!);
    });
    child.on("error", rej);
  });
}

const LIBC_REAL = realpathSync("/lib/x86_64-linux-gnu/libc.so.6");

describe("UserSymbolizer", () => {
  it("names the program's and libc's functions at their run-time addresses, also after exit", async () => {
    const exe = elfFixtures.selfaddr();
    const child = spawn(exe, [], { stdio: ["pipe", "pipe", "inherit"] });
    children.push(child);
    const [probeMe, puts, tableEntry] = (await firstLine(child)).split(" ").map((x) => parseInt(x, 16)) as [number, number, number];
    const sym = UserSymbolizer.capture(child.pid!);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const size = matchFunctions(readElf(exe), "probe_me")[0]!.symbol.size;
    expect(sym.symbolize(probeMe)).toMatchObject({ module: exe, symbol: "probe_me", rawSymbol: "probe_me", offset: 0, size, jit: false });
    expect(sym.symbolize(probeMe + 3)).toMatchObject({ symbol: "probe_me", offset: 3 });
    expect(sym.symbolize(puts)).toMatchObject({ module: LIBC_REAL, offset: 0 });
    expect(["puts", "_IO_puts"]).toContain(sym.symbolize(puts).symbol);
    const stack = sym.mappings.find((m) => m.path === "[stack]")!;
    expect(sym.symbolize(stack.start + 8)).toEqual({ address: stack.start + 8, module: "[stack]", jit: false });
    expect(sym.symbolize(0x10)).toEqual({ address: 0x10, jit: false });
    expect(sym.symbolizeData(tableEntry)).toMatchObject({ module: exe, symbol: "table_of_longs", offset: 24, size: 64 });
    expect(sym.symbolizeData(probeMe).symbol).toBeUndefined();
  });

  it("non-PIE: bias 0, object addresses equal run-time ones", async () => {
    const exe = elfFixtures.selfaddrNopie();
    const child = spawn(exe, [], { stdio: ["pipe", "pipe", "inherit"] });
    children.push(child);
    const probeMe = parseInt((await firstLine(child)).split(" ")[0]!, 16);
    const sym = UserSymbolizer.capture(child.pid!);
    child.kill("SIGKILL");
    expect(sym.symbolize(probeMe + 1)).toMatchObject({ module: exe, symbol: "probe_me", offset: 1, objectAddress: probeMe + 1 });
  });

  it("C++ frames get demangled names", async () => {
    const exe = elfFixtures.cxx();
    const elf = readElf(exe);
    const handle = matchFunctions(elf, "net::Server::handle(int)")[0]!.symbol;
    // a stand-in process layout: the program mapped at a random base, as ASLR would
    const base = 0x5600_0000_0000;
    const maps = elf.segments
      .filter((s) => s.type === 1)
      .map((s) => ({ start: base + s.vaddr - (s.vaddr % 4096), end: base + s.vaddr + s.memsz, perms: s.flags & 1 ? "r-xp" : "r--p", offset: s.offset - (s.offset % 4096), dev: "00:00", inode: 1, path: exe, deleted: false }));
    const sym = new UserSymbolizer(1, maps, [{ path: exe, openPath: exe, deleted: false, dev: "00:00", inode: 1, mappings: maps }]);
    expect(sym.symbolize(base + handle.address + 2)).toMatchObject({ symbol: "net::Server::handle", rawSymbol: "_ZN3net6Server6handleEi", offset: 2 });
  });
});

describe("perf maps (JIT code)", () => {
  it("parses node/JVM lines, skips partial ones, later lines win", () => {
    const text = ["7f0000001000 40 LazyCompile:*hot /app/x.js:3", "0x7f0000002000 0x10 Interpreted foo", "7f0000001000 20 LazyCompile:*hot2 /app/x.js:9", "7f00000030", ""].join("\n");
    const m = parsePerfMap(text);
    expect(m).toEqual([
      { start: 0x7f0000001000, size: 0x20, name: "LazyCompile:*hot2 /app/x.js:9" },
      { start: 0x7f0000002000, size: 0x10, name: "Interpreted foo" },
    ]);
    expect(perfMapLookup(m, 0x7f000000101f)?.name).toBe("LazyCompile:*hot2 /app/x.js:9");
    expect(perfMapLookup(m, 0x7f0000001020)).toBeUndefined();
    expect(perfMapLookup(m, 0x7f000000200f)?.name).toBe("Interpreted foo");
    expect(perfMapLookup(m, 0x1000)).toBeUndefined();
  });

  it("names JIT frames of a real node --perf-basic-prof process", async () => {
    const child = spawn(process.execPath, ["--perf-basic-prof", "-e", "function hotLoop(n){let s=0;for(let i=0;i<n;i++)s+=i%7;return s}; for(let k=0;k<200;k++)hotLoop(1e4); console.log('ready'); setTimeout(()=>{}, 20000)"], {
      stdio: ["ignore", "pipe", "inherit"],
      cwd: jitDir, // node drops isolate-*.log files in its working directory
    });
    children.push(child);
    await firstLine(child);
    perfMaps.push(perfMapPath(child.pid!));
    expect(perfMapPath(child.pid!)).toBe(`/tmp/perf-${child.pid}.map`);
    expect(existsSync(perfMapPath(child.pid!))).toBe(true);
    const entries = readPerfMap(child.pid!)!;
    const hot = entries.find((e) => e.name.includes("hotLoop"))!;
    expect(hot).toBeDefined();
    const sym = UserSymbolizer.capture(child.pid!);
    child.kill("SIGKILL");
    const f = sym.symbolize(hot.start + 1);
    expect(f).toMatchObject({ symbol: hot.name, offset: 1, jit: true });
    expect(f.module === undefined || !f.module.startsWith("/")).toBe(true); // anonymous JIT memory, not a file
    expect(readPerfMap(0x3ffffff0)).toBeUndefined();
  });

  it("a process in its own pid namespace names its map by its inner pid", async () => {
    const script = "function hotLoop(n){let s=0;for(let i=0;i<n;i++)s+=i%7;return s}; for(let k=0;k<200;k++)hotLoop(1e4); console.log(process.pid); setTimeout(()=>{}, 20000)";
    const outer = spawn("unshare", ["-p", "-f", process.execPath, "--perf-basic-prof", "-e", script], { stdio: ["ignore", "pipe", "inherit"], cwd: jitDir });
    children.push(outer);
    const inner = Number(await firstLine(outer));
    // unshare -f forks: node is its child
    const pid = Number(readFileSync(`/proc/${outer.pid}/task/${outer.pid}/children`, "utf8").trim().split(" ")[0]);
    try {
      expect(inner).toBe(1);
      expect(perfMapPath(pid)).toBe("/tmp/perf-1.map");
      perfMaps.push("/tmp/perf-1.map");
      expect(readPerfMap(pid)!.some((e) => e.name.includes("hotLoop"))).toBe(true);
    } finally {
      process.kill(pid, "SIGKILL");
    }
  });
});
