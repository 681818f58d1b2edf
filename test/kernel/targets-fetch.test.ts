// The uprobe lines src/targets/ computes, checked on this kernel: file offsets, USDT fetch arguments
// (registers, memory, @+OFFSET variables, constants), semaphores via ref_ctr_offset, container/deleted paths.

import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newRunName } from "../../runtime/tracefs/names.js";
import { readElf } from "../../src/targets/elf/elf.js";
import { matchFunctions } from "../../src/targets/functions.js";
import { processExecutable } from "../../src/targets/proc.js";
import { matchMarkers } from "../../src/targets/usdt/stapsdt.js";
import { elfFixtures } from "../support/build-fixture.js";
import { ROOT, requireTracefs, tracefsState } from "./support.js";

let before = "";
const dir = mkdtempSync(join(tmpdir(), "tstap-fetch-"));
beforeAll(() => {
  requireTracefs();
  before = tracefsState();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(tracefsState()).toBe(before);
});

/** Define uprobe `lines` (each `NAME SPEC`), run `fn`, return the instance's trace lines; everything is removed after. */
function traced(lines: string[], fn: () => void): string[] {
  const group = newRunName();
  const inst = join(ROOT, "instances", group);
  const defined: string[] = [];
  try {
    for (const l of lines) {
      const [name, ...spec] = l.split(" ");
      appendFileSync(join(ROOT, "uprobe_events"), `p:${group}/${name} ${spec.join(" ")}\n`);
      defined.push(name!);
    }
    mkdirSync(inst);
    writeFileSync(join(inst, "events", group, "enable"), "1");
    fn();
    writeFileSync(join(inst, "events", group, "enable"), "0");
    return readFileSync(join(inst, "trace"), "utf8")
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"))
      .map((l) => l.replace(/^.*?: (\w+): \([0-9a-fx]+\)/, "$1:"));
  } finally {
    if (existsSync(inst)) rmdirSync(inst);
    for (const n of defined) appendFileSync(join(ROOT, "uprobe_events"), `-:${group}/${n}\n`);
  }
}

describe("USDT fetch arguments read the marker's values", () => {
  for (const kind of ["usdtVars", "usdtVarsNopie"] as const) {
    it(`rip-relative .data/.bss variables (@+OFFSET) and constants (\\IMM), ${kind}`, () => {
      const bin = elfFixtures[kind]();
      const [m] = matchMarkers(readElf(bin), "vars");
      expect(m!.args.map((a) => a.unsupported)).toEqual([undefined, undefined, undefined, undefined]);
      const args = m!.args.map((a, i) => `a${i}=${a.fetch}:${a.type}`).join(" ");
      const out = traced([`vars ${bin}:0x${m!.fileOffset.toString(16)} ${args}`], () => execFileSync(bin));
      expect(out).toEqual(["vars: a0=1235 a1=-5 a2=42 a3=7", "vars: a0=1236 a1=-5 a2=42 a3=14", "vars: a0=1237 a1=-5 a2=42 a3=21"]);
    });
  }

  it("registers and N(%reg) with sizes and signs; semaphore-guarded markers fire through ref_ctr_offset", () => {
    const bin = elfFixtures.usdt();
    const elf = readElf(bin);
    const [flags] = matchMarkers(elf, "req__flags");
    const [start] = matchMarkers(elf, "req__start");
    const line = (name: string, m: typeof flags): string =>
      `${name} ${bin}:0x${m!.fileOffset.toString(16)}${m!.semaphoreOffset !== undefined ? `(0x${m!.semaphoreOffset.toString(16)})` : ""} ${m!.args
        .map((a, i) => `a${i}=${a.fetch}:${a.type}`)
        .join(" ")}`;
    expect(start!.semaphoreOffset).toBeDefined();
    const out = traced([line("flags", flags), line("start", start)], () => execFileSync(bin));
    // serve(&table[(i + 1) % 4], i): flags are (char)r->flags and (short)-i; req__start has the id and the path pointer
    expect(out.filter((l) => l.startsWith("flags:"))).toEqual(["flags: a0=1 a1=0", "flags: a0=2 a1=-1", "flags: a0=3 a1=-2", "flags: a0=0 a1=-3"]);
    expect(out.filter((l) => l.startsWith("start:")).map((l) => l.replace(/ a1=\d+$/, ""))).toEqual(["start: a0=2", "start: a0=3", "start: a0=4", "start: a0=1"]);
  });
});

describe("USDT in a shared library", () => {
  it("the semaphore's ref_ctr_offset is the library's file offset; the marker fires in the program that loads it", () => {
    const lib = elfFixtures.usdtLib();
    const main = elfFixtures.usdtLibMain();
    const [m] = matchMarkers(readElf(lib), "req__start");
    expect(m!.semaphoreOffset).not.toBe(m!.semaphore); // a .so's data lies above its file offset
    const args = m!.args.map((a, i) => `a${i}=${a.fetch}:${a.type}`).join(" ");
    const out = traced([`start ${lib}:0x${m!.fileOffset.toString(16)}(0x${m!.semaphoreOffset!.toString(16)}) ${args}`], () => execFileSync(main));
    expect(out.map((l) => l.replace(/ a1=\d+$/, ""))).toEqual(["start: a0=10", "start: a0=20", "start: a0=30"]);
  });
});

describe("paths uprobe_events accepts for the files a process runs", () => {
  it("/proc/PID/exe of a deleted binary: the function fires", async () => {
    const copy = join(dir, "selfaddr");
    copyFileSync(elfFixtures.selfaddr(), copy);
    const child = spawn(copy, [], { stdio: ["pipe", "pipe", "inherit"] });
    await new Promise<void>((res) => child.stdout!.once("data", () => res()));
    try {
      unlinkSync(copy);
      const exe = processExecutable(child.pid!);
      expect(exe.openPath).toBe(`/proc/${child.pid}/exe`);
      const elf = readElf(exe.openPath);
      const fn = matchFunctions(elf, "probe_me")[0]!.symbol;
      const off = elf.segments.find((s) => s.type === 1 && fn.address >= s.vaddr && fn.address < s.vaddr + s.filesz)!;
      const out = traced([`pm ${exe.openPath}:0x${(fn.address - off.vaddr + off.offset).toString(16)} x=%di:u8`], () => {
        child.stdin!.write("AB");
        // the program calls probe_me once per byte read; wait for both to be handled
        execFileSync("sleep", ["0.3"]);
      });
      expect(out).toEqual(["pm: x=65", "pm: x=66"]);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("/proc/PID/root/... for a process in another mount namespace: the function fires", async () => {
    const mnt = join(dir, "nsmnt");
    mkdirSync(mnt);
    const script = `mount -t tmpfs none '${mnt}' && cp '${elfFixtures.selfaddr()}' '${mnt}/prog' && exec '${mnt}/prog'`;
    const child = spawn("unshare", ["-m", "--propagation", "private", "sh", "-c", script], { stdio: ["pipe", "pipe", "inherit"] });
    await new Promise<void>((res) => child.stdout!.once("data", () => res()));
    try {
      const exe = processExecutable(child.pid!);
      expect(exe.openPath).toBe(`/proc/${child.pid}/root${mnt}/prog`);
      const elf = readElf(exe.openPath);
      const fn = matchFunctions(elf, "probe_me")[0]!.symbol;
      const off = elf.segments.find((s) => s.type === 1 && fn.address >= s.vaddr && fn.address < s.vaddr + s.filesz)!;
      const out = traced([`pm ${exe.openPath}:0x${(fn.address - off.vaddr + off.offset).toString(16)} x=%di:u8`], () => {
        child.stdin!.write("z");
        execFileSync("sleep", ["0.3"]);
      });
      expect(out).toEqual(["pm: x=122"]);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
