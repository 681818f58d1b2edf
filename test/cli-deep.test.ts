// Scripts stap handles that stress tstap's recursion: a 10,000-operator
// expression runs (bin/tstap gives V8 a larger stack); a far longer one is
// refused with a clear error, never an internal one or a stack trace.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const tstap = join(import.meta.dirname, "..", "bin", "tstap");

function runSum(terms: number): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "tstap-deep-"));
  try {
    const file = join(dir, "sum.stp");
    writeFileSync(file, `probe begin { x = 1 ${"+ 1 ".repeat(terms)}; println(x); exit() }\n`);
    return spawnSync(tstap, [file], { encoding: "latin1", timeout: 60_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("deep expressions", () => {
  it("runs a sum of 10,000 terms", { timeout: 60_000 }, () => {
    const r = runSum(10_000);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("10001\n");
  });
  it("refuses a sum of 40,000 terms with a clear error", { timeout: 60_000 }, () => {
    const r = runSum(40_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^semantic error: the script nests too deeply: [^\n]*: operator '=' at [^\n]*sum.stp:1:17\n/);
    expect(r.stderr).not.toMatch(/internal|    at /);
  });
});
