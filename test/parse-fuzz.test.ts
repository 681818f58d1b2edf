// Mutated scripts (tokens deleted, inserted, swapped; random bytes) never make
// the parser throw: every result is a file or diagnostics that carry positions.

import { readFileSync, readdirSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defaultParseOptions, parse } from "../src/parse/index.js";
import { printScript } from "../src/parse/print.js";

const okDir = new URL("./cases/parse/ok/", import.meta.url).pathname;
const corpus = readdirSync(okDir)
  .filter((n) => n.endsWith(".stp"))
  .sort()
  .map((n) => readFileSync(okDir + n, "utf8"));
const pieces = ["(", ")", "[", "]", "{", "}", "%(", "%?", "%:", "%)", "%{", "%}", "@define", "@", "$", "$1", "@1", "\"", "'", "/*", "#", "in", "foreach", "probe", ",", ";", "=", "<<<", "?", ":", "->", "*", "**", "0x", "99999999999999999999", "\\", "\n", "é", "\u0000"];

function check(text: string, guru: boolean): void {
  const r = parse({ file: "f.stp", text, isTapset: false }, defaultParseOptions({ guru, args: ["a"] }));
  for (const d of r.diagnostics) {
    expect(d.pos, d.message).toBeDefined();
    expect(d.pos!.line).toBeGreaterThanOrEqual(1);
    expect(d.pos!.col).toBeGreaterThanOrEqual(1);
  }
  expect(r.file).toBeDefined();
  if (r.diagnostics.length === 0) printScript(r.file!);
}

const mutation = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), piece: fc.constantFrom(...pieces) }),
  fc.record({ op: fc.constant("swap" as const), at: fc.nat(), other: fc.nat() }),
  fc.record({ op: fc.constant("bytes" as const), at: fc.nat(), bytes: fc.string({ maxLength: 6 }) }),
);

function apply(text: string, muts: fc.Arbitrary<unknown> extends never ? never : { op: string; at: number; len?: number; piece?: string; other?: number; bytes?: string }[]): string {
  let words = text.split(/(\s+)/);
  for (const m of muts) {
    const i = words.length ? m.at % words.length : 0;
    if (m.op === "delete") words.splice(i, m.len!);
    else if (m.op === "insert") words.splice(i, 0, m.piece!);
    else if (m.op === "swap" && words.length) {
      const j = m.other! % words.length;
      [words[i], words[j]] = [words[j]!, words[i]!];
    } else if (m.op === "bytes") words.splice(i, 0, m.bytes!);
  }
  return words.join("");
}

describe("parser robustness", () => {
  it("survives mutated scripts", () => {
    fc.assert(
      fc.property(fc.constantFrom(...corpus), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.boolean(), (text, muts, guru) => {
        check(apply(text, muts), guru);
      }),
      { numRuns: 1500 },
    );
  });
  it("survives random text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: "binary" }), (text) => check(text, false)),
      { numRuns: 1000 },
    );
  });
  it("survives pathological sizes quickly", () => {
    const t0 = performance.now();
    check("probe begin { x = " + "(".repeat(20000) + "1" + ")".repeat(20000) + " }", false);
    check("probe begin { x = " + "-".repeat(20000) + "1 }", false);
    check("probe begin { " + "{".repeat(20000) + "}".repeat(20000) + " }", false);
    check("probe begin { x = " + "a[".repeat(20000) + " }", false);
    check('probe begin { x = "' + "a".repeat(2_000_000) + '" }', false);
    check("@define r %( @r @r %)\nprobe begin { x = @r }", false);
    check("%( 1 == 1 %? ".repeat(5000) + "probe begin {}" + " %)".repeat(5000), false);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});
