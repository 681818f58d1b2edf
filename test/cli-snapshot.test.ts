// bin/tstap and its startup snapshot: V8 refuses a blob built on a CPU with
// other features or under other V8 options (NODE_OPTIONS) and exits before
// running anything ("Failed to load the startup snapshot..."). The launcher
// must see it coming and use the plain start, saying so under -v.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

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

// --no-concurrent-recompilation helps only a run that handles events; a run
// that stops before pass 5 or lists probe points goes without it (bin/tstap).
describe("the launcher's V8 options", () => {
  // a node on PATH that runs nothing: the words are only read, never acted on
  const fake = mkdtempSync(join(tmpdir(), "tstap-launch-"));
  writeFileSync(join(fake, "node"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  afterAll(() => rmSync(fake, { recursive: true, force: true }));

  /** the node command line bin/tstap execs for these words (sh -x traces it) */
  function execLine(args: string[]): string {
    const env = { ...process.env, TSTAP_PLAIN_START: "", NODE_OPTIONS: "", PATH: `${fake}:${process.env.PATH}` };
    const r = spawnSync("sh", ["-x", join(root, "bin", "tstap"), ...args], { encoding: "latin1", timeout: 30_000, env });
    const line = r.stderr.split("\n").find((l) => /^\+ exec \S*node /.test(l));
    expect(line, r.stderr).toBeDefined();
    return line!;
  }
  const withFlag = (args: string[]) => execLine(args).includes("--no-concurrent-recompilation");

  it("keeps it for a run and drops it for -p1..-p4, -l and -L, reading the words as getopt does", () => {
    expect(withFlag(["-e", script])).toBe(true);
    expect(withFlag(["-p5", "-e", script])).toBe(true);
    expect(withFlag(["-e", script, "-p", "5"])).toBe(true);
    expect(withFlag(["-p1", "-e", script])).toBe(false);
    expect(withFlag(["-e", script, "-p", "3"])).toBe(false);
    expect(withFlag(["-vp2", "-e", script])).toBe(false);
    expect(withFlag(["-p2", "-p5", "-e", script])).toBe(true);
    expect(withFlag(["-l", 'kernel.trace("sched:sched_switch")'])).toBe(false);
    expect(withFlag(["-L", 'kernel.trace("sched:sched_switch")'])).toBe(false);
    // a value that looks like an option is a value; after -- come the script's arguments
    expect(withFlag(["-e", "-p1", "-p5"])).toBe(true);
    expect(withFlag(["-o", "-p1", "-e", script])).toBe(true);
    expect(withFlag(["-e", script, "--", "-p1"])).toBe(true);
    expect(withFlag(["--tmpdir", "-p1", "-e", script])).toBe(true);
  });
});
