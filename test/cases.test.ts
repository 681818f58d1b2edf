// The one data-driven runner for test/cases/<pass>/{ok,ko}/NAME.stp.
//
// Beside each script: NAME.out (expected stdout, exact), optionally NAME.err
// (expected stderr, exact), NAME.opts (extra command-line words before the
// script) and NAME.args (script arguments after it). `ok` cases exit 0, `ko`
// cases exit 1. The pass folder picks how far tstap runs: `translate` cases
// are golden -p3 plans (tracefs lines, probe table, generated code), so a
// change to lowering shows up as a diff of their .out. Output is compared
// with the checkout's path written `{root}`; dynamic event groups print as
// ${group} in plans, so nothing else varies between runs. `{fixture:NAME}` in
// .opts/.args is test/fixtures/NAME.c built (test/support/build-fixture.ts),
// and its path is written so in the expected output.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildFixture } from "./support/build-fixture.js";

const root = dirname(fileURLToPath(import.meta.url));
const casesDir = join(root, "cases");
const tstap = join(root, "..", "bin", "tstap");
/** the checkout, written `{root}` in .out/.err files (errors in tapsets/ name their files) */
const checkout = join(root, "..");
const fixtures = new Map<string, string>();
const portable = (text: string): string => {
  let t = text;
  for (const [name, path] of fixtures) t = t.split(path).join(`{fixture:${name}}`);
  return t.split(checkout).join("{root}");
};

/** `{fixture:NAME}` in a word: the program built from test/fixtures/NAME.c */
function withFixtures(word: string): string {
  return word.replace(/\{fixture:([\w-]+)\}/g, (_m, name: string) => {
    let path = fixtures.get(name);
    if (path === undefined) {
      path = buildFixture({ sources: [`${name}.c`] });
      fixtures.set(name, path);
    }
    return path;
  });
}

const passFlags: Record<string, string[]> = {
  parse: ["-p1"],
  elaborate: ["-p2"],
  translate: ["-p3"],
  run: [],
};

function words(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, "utf8").trim();
  if (text === "") return [];
  // Words split on blanks; a word in double quotes keeps its blanks.
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(withFixtures(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!));
  return out;
}

for (const pass of existsSync(casesDir) ? readdirSync(casesDir).sort() : []) {
  const flags = passFlags[pass];
  if (!flags) throw new Error(`test/cases/${pass}: unknown pass folder (expected one of ${Object.keys(passFlags).join(", ")})`);
  describe(`cases/${pass}`, () => {
    for (const outcome of ["ok", "ko"] as const) {
      const dir = join(casesDir, pass, outcome);
      if (!existsSync(dir)) continue;
      for (const file of readdirSync(dir).filter((f) => f.endsWith(".stp")).sort()) {
        const name = file.slice(0, -4);
        it(`${outcome}/${name}`, () => {
          const base = join(dir, name);
          const argv = [...flags, ...words(base + ".opts"), file, ...words(base + ".args")];
          const r = spawnSync(tstap, argv, { cwd: dir, encoding: "latin1", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
          if (r.error) throw r.error;
          const expectedOut = existsSync(base + ".out") ? readFileSync(base + ".out", "latin1") : "";
          if (existsSync(base + ".err")) expect(portable(r.stderr)).toBe(readFileSync(base + ".err", "latin1"));
          expect(portable(r.stdout)).toBe(expectedOut);
          expect(r.signal, `killed by ${r.signal}; stderr: ${r.stderr}`).toBeNull();
          if (outcome === "ok") expect(r.status, `stderr: ${r.stderr}`).toBe(0);
          else expect(r.status, `stderr: ${r.stderr}`).toBe(1);
        });
      }
    }
  });
}
