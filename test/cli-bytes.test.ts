// Strings are bytes in stap: script arguments and -e text that are not UTF-8
// keep their bytes (node hands them over decoded, with U+FFFD for each bad byte).

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const tstap = join(import.meta.dirname, "..", "bin", "tstap");

function bash(cmd: string): Buffer {
  const r = spawnSync("bash", ["-c", cmd], { timeout: 30_000, env: { ...process.env, TSTAP: tstap } });
  expect(r.stderr.toString()).toBe("");
  return r.stdout;
}

describe("bytes that are not UTF-8", () => {
  it("reach @1 as they are", () => {
    expect(bash(`"$TSTAP" -e 'probe begin { println(@1); println(strlen(@1)); exit() }' $'\\xff\\xfe'`)).toEqual(Buffer.from([0xff, 0xfe, 0x0a, 0x32, 0x0a]));
  });
  it("reach -e literals as they are, next to UTF-8", () => {
    expect(bash(`"$TSTAP" -e $'probe begin { println("\\xff\\xc3\\xa9"); exit() }'`)).toEqual(Buffer.from([0xff, 0xc3, 0xa9, 0x0a]));
  });
});
