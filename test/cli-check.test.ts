// `tstap --check` run by a user who cannot open tracefs: tracefs is found and
// said to be closed to that user, not "not found".

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const tstap = join(import.meta.dirname, "..", "bin", "tstap");
const asRoot = process.getuid?.() === 0;

describe.skipIf(!asRoot)("--check as a user without tracefs access", () => {
  it("says where tracefs is and why it cannot be used", () => {
    const r = spawnSync(tstap, ["--check"], { uid: 65534, gid: 65534, encoding: "latin1", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^tracefs: \/sys\/kernel\/(debug\/)?tracing \(found, not accessible: tracefs is mounted on \S+ but not readable by uid 65534: tstap needs root/);
    expect(r.status).toBe(1);
  });
});
