// -p3's comment block names paths from the script: a newline in one is
// shown as \n, so every line of the block stays a comment or an event line.

import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const tstap = join(import.meta.dirname, "..", "bin", "tstap");

describe("-p3 comment block", () => {
  it("escapes a newline in a probed path", () => {
    const dir = mkdtempSync(join(tmpdir(), "tstap-p3-"));
    try {
      const path = join(dir, "tr\nue");
      copyFileSync("/bin/true", path);
      const r = spawnSync(tstap, ["-p3", "-e", `probe process("${path.replace("\n", "\\n")}").syscall { println(1) }`], { encoding: "latin1", timeout: 30_000 });
      expect(r.stderr).toBe("");
      const header = r.stdout.slice(0, r.stdout.indexOf('"use strict"'));
      expect(header).toContain(`# $probe_0: process("${dir}/tr\\nue").syscall (event #0) at <input>:1:1\n`);
      for (const line of header.split("\n")) expect(line).toMatch(/^(#|$|[a-z_]+:[a-z_]+ )/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
