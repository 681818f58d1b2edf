// A closed output ends the run as stap's does: the end probes still run (their
// output dropped), the write error is said once, the status is 1.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const tstap = join(import.meta.dirname, "..", "bin", "tstap");
// prints forever unless the closed output ends it; the end probe leaves a mark on stderr
const script = 'global n; probe timer.ms(1) { println(n++) } probe end { warn("end ran") }';

function bash(cmd: string) {
  return spawnSync("bash", ["-c", cmd], { encoding: "latin1", timeout: 30_000, env: { ...process.env, TSTAP: tstap, SCRIPT: script } });
}

describe("closed output", () => {
  it("a reader that quits (| head -1) ends the run", () => {
    const r = bash('"$TSTAP" -e "$SCRIPT" | head -1; echo "status ${PIPESTATUS[0]}" >&2');
    expect(r.stdout).toBe("0\n");
    expect(r.stderr).toBe(
      "ERROR: Couldn't write to output stdout, exiting.: Broken pipe\nWARNING: end ran\nWARNING: Number of errors: 1, skipped probes: 0\nPass 5: run failed.  [man error::pass5]\nstatus 1\n",
    );
  });
  it("a -o FIFO whose reader quits ends the run", () => {
    const dir = mkdtempSync(join(tmpdir(), "tstap-fifo-"));
    try {
      const r = bash(`mkfifo ${dir}/f; head -c 1 ${dir}/f > /dev/null & "$TSTAP" -o ${dir}/f -e "$SCRIPT"; echo "status $?" >&2; wait`);
      expect(r.stderr).toBe(
        `ERROR: Couldn't write to output ${dir}/f, exiting.: Broken pipe\nWARNING: end ran\nWARNING: Number of errors: 1, skipped probes: 0\nPass 5: run failed.  [man error::pass5]\nstatus 1\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
