// grammar/systemtap.ebnf and grammar/diagrams.html are what the generator makes
// from the parser now (regenerate: npm run build && node dist/src/parse/grammar-export.js).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { grammarDiagramsHtml, grammarEbnf } from "../src/parse/grammar-export.js";

const root = new URL("../", import.meta.url).pathname;

describe("committed grammar files", () => {
  it("systemtap.ebnf is current", () => {
    expect(readFileSync(`${root}grammar/systemtap.ebnf`, "utf8")).toBe(grammarEbnf());
  });
  it("diagrams.html is current", () => {
    expect(readFileSync(`${root}grammar/diagrams.html`, "utf8")).toBe(grammarDiagramsHtml());
  });
  it("the EBNF has every rule", () => {
    const ebnf = grammarEbnf();
    for (const rule of ["script", "probeDecl", "foreachStmt", "binary", "bracketIn", "dwarfValue"]) expect(ebnf).toContain(`\n${rule} ::=`);
  });
});
