// bin/tstap and its startup snapshot: V8 refuses a blob built on a CPU with
// other features or under other V8 options (NODE_OPTIONS) and exits before
// running anything ("Failed to load the startup snapshot..."). The launcher
// must see it coming and use the plain start, saying so under -v.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const script = "probe begin { println(1); exit() }";

function run(tstap: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(tstap, args, { encoding: "latin1", timeout: 30_000, env: { ...process.env, TSTAP_PLAIN_START: "", NODE_OPTIONS: "", ...env } });
}

describe.skipIf(!existsSync(join(root, "dist", "tstap.blob")))("startup snapshot fallback", () => {
  it("runs under NODE_OPTIONS that change V8's flags", () => {
    const r = run(join(root, "bin", "tstap"), ["-e", script], { NODE_OPTIONS: "--max-old-space-size=300" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1\n");
    expect(r.status).toBe(0);
    const v = run(join(root, "bin", "tstap"), ["-v", "-e", script], { NODE_OPTIONS: "--max-old-space-size=300" });
    // said once, before the pass reports -v gives
    expect(v.stderr.split("\n").filter((l) => l.includes("startup snapshot"))).toEqual(["tstap: the startup snapshot was built with other NODE_OPTIONS: starting without it"]);
    expect(v.stderr.startsWith("tstap: the startup snapshot")).toBe(true);
    expect(v.stdout).toBe("1\n");
  });

  it("runs on a CPU other than the one that built the snapshot", () => {
    const dir = mkdtempSync(join(tmpdir(), "tstap-snap-"));
    try {
      mkdirSync(join(dir, "bin"));
      mkdirSync(join(dir, "dist"));
      copyFileSync(join(root, "bin", "tstap"), join(dir, "bin", "tstap"));
      symlinkSync(join(root, "dist", "src"), join(dir, "dist", "src"));
      copyFileSync(join(root, "dist", "tstap.blob"), join(dir, "dist", "tstap.blob"));
      const [node, , options] = readFileSync(join(root, "dist", "tstap.blob.node"), "latin1").split("\n");
      writeFileSync(join(dir, "dist", "tstap.blob.node"), `${node}\ncpu cpu:type:x86,ven0000fam0006mod0000:feature:,0000\n${options}\n`);
      const tstap = join(dir, "bin", "tstap");
      const r = run(tstap, ["-e", script]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("1\n");
      expect(r.status).toBe(0);
      const v = run(tstap, ["-v", "-e", script]);
      expect(v.stderr.split("\n").filter((l) => l.includes("startup snapshot"))).toEqual(["tstap: the startup snapshot was built on a CPU with other features: starting without it"]);
      // the matching CPU takes the snapshot again, without a word
      copyFileSync(join(root, "dist", "tstap.blob.node"), join(dir, "dist", "tstap.blob.node"));
      copyFileSync(join(root, "dist", "tstap.blob"), join(dir, "dist", "tstap.blob"));
      const fast = run(tstap, ["-v", "-e", script]);
      expect(fast.stderr).not.toContain("startup snapshot");
      expect(fast.stderr).toContain("Pass 5: run completed");
      expect(fast.stdout).toBe("1\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
