// src/targets/address-space.ts: naming user addresses in a live process
// (ASLR, PIE and not), and after it has exited, from the capture.

import { spawn, type ChildProcess } from "node:child_process";
import { describe, expect, it } from "vitest";
import { procAddressSpaces } from "../../src/targets/address-space.js";
import { elfFixtures } from "../support/build-fixture.js";
import { readElf } from "../../src/targets/elf/elf.js";
import { readSymbols } from "../../src/targets/elf/symbols.js";

async function start(path: string): Promise<{ child: ChildProcess; probeMe: number; puts: number }> {
  const child = spawn(path, [], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out);
    });
    child.once("exit", () => reject(new Error("fixture exited")));
  });
  const [a, b] = line.trim().split(" ");
  return { child, probeMe: parseInt(a!, 16), puts: parseInt(b!, 16) };
}

describe("address spaces", () => {
  for (const kind of ["selfaddr", "selfaddrNopie"] as const) {
    it(`names the program's and libc's functions at their run-time addresses (${kind})`, async () => {
      const exe = elfFixtures[kind]();
      const { child, probeMe, puts } = await start(exe);
      let space;
      try {
        space = procAddressSpaces.capture(child.pid!)!;
        expect(space).toBeDefined();
        const r = space.resolve(probeMe + 3)!;
        expect(r.module).toBe(exe);
        expect(r.symbol).toMatchObject({ name: "probe_me", offset: 3 });
        expect(r.symbol!.size).toBeGreaterThan(3);
        if (kind === "selfaddr") {
          const p = space.resolve(puts)!;
          expect(p.module).toMatch(/\/libc\.so\.6$/);
          expect(p.symbol).toMatchObject({ name: "puts", offset: 0 });
          // a variable of libc (program_invocation_name: a char *), at the same bias as puts
          const syms = readSymbols(readElf(p.module!)).symbols;
          const putsSym = syms.find((s) => s.name === "puts" && s.type === "FUNC")!;
          const v = syms.find((s) => s.name === "program_invocation_name" && s.type === "OBJECT")!;
          const at = puts - putsSym.value + v.value + 3;
          expect(space.resolve(at)?.symbol).toBeUndefined();
          expect(space.resolveData!(at)?.symbol).toMatchObject({ offset: 3, size: v.size });
          expect(space.resolveData!(at)?.symbol?.name).toMatch(/program_invocation_name$/);
        }
        // no mapping at all: nothing to say
        expect(space.resolve(8)).toBeUndefined();
      } finally {
        child.kill("SIGKILL");
        await new Promise((r) => child.once("exit", r));
      }
      // the capture still names the process's addresses once it is gone
      expect(space.resolve(probeMe)!.symbol!.name).toBe("probe_me");
      expect(procAddressSpaces.capture(child.pid!)).toBeUndefined();
    });
  }
});
