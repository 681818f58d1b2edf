// SystemTap's own tapset library (Debian package `systemtap`) parses, file by
// file, as tapsets with the .stpm macros of its tree loaded: zero diagnostics.

import { execSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { defaultParseOptions, loadMacroDirs, parseTapset, tapsetSearchDirs, type ParseOptions } from "../src/parse/index.js";
import { formatDiagnostic } from "../src/diagnostic.js";

const root = "/usr/share/systemtap/tapset";
const archs = ["x86_64", "i386", "arm64", "arm", "powerpc", "s390", "mips", "riscv", "ia64"];

function ensureInstalled(): void {
  if (existsSync(root)) return;
  if (process.getuid?.() !== 0)
    throw new Error(`${root} is missing and we are not root, so 'apt-get install systemtap' cannot provide it; install the systemtap package and rerun`);
  try {
    execSync("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemtap", { stdio: "pipe", timeout: 600_000 });
  } catch (e) {
    throw new Error(`installing the systemtap package failed (needed for its tapsets): ${(e as Error).message}`);
  }
  if (!existsSync(root)) throw new Error(`the systemtap package is installed but ${root} does not exist`);
}

describe("SystemTap's installed tapsets", () => {
  it("parse with zero diagnostics", () => {
    ensureInstalled();
    const files = execSync(`find ${root} -name '*.stp' | sort`).toString().trim().split("\n");
    expect(files.length).toBeGreaterThan(500);
    const tables = new Map<string, ParseOptions>();
    const optsFor = (f: string): ParseOptions => {
      const parts = f.slice(root.length + 1).split("/");
      const runtime = parts[0] === "dyninst" || parts[0] === "bpf" ? parts[0] : "kernel";
      const arch = parts.find((p) => archs.includes(p)) ?? "x86_64";
      const key = `${runtime}/${arch}`;
      let o = tables.get(key);
      if (!o) {
        o = defaultParseOptions({ runtime, arch });
        const loaded = loadMacroDirs(tapsetSearchDirs(root, runtime, arch), o);
        expect(loaded.diagnostics.map((d) => formatDiagnostic(d, new Map()))).toEqual([]);
        o.macros = loaded.macros;
        tables.set(key, o);
      }
      return o;
    };
    const failures: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      const r = parseTapset(f, text, optsFor(f));
      expect(r.file).toBeDefined();
      for (const d of r.diagnostics) failures.push(formatDiagnostic(d, new Map([[f, text]])));
    }
    expect(failures).toEqual([]);
  }, 600_000);
});
