// -p1 output parses back to the same tree (positions, spellings of literals
// and the user's redundant parentheses aside), over every script we have:
// our parse cases, the examples, and SystemTap's installed tapsets.

import { execSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultParseOptions, loadMacroDirs, parse, tapsetSearchDirs } from "../src/parse/index.js";
import { declKindOrder, printScript } from "../src/parse/print.js";
import type { Decl } from "../src/parse/ast.js";

/** -p1 groups declarations by kind, as stap does; their order carries no meaning. */
function grouped(decls: Decl[]): Decl[] {
  return declKindOrder.flatMap((k) => decls.filter((d) => d.kind === k));
}

/** Drop what printing may legitimately change: positions, literal spellings, groups. */
export function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o.kind === "group") return normalize(o.inner);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      if (k === "pos" || k === "text" || k === "raw" || x === undefined) continue;
      out[k] = normalize(x);
    }
    return out;
  }
  return typeof v === "bigint" ? `${v}n` : v;
}

function reparse(file: string, text: string, isTapset: boolean, opts = defaultParseOptions({ guru: true })): void {
  const first = parse({ file, text, isTapset }, opts);
  expect(first.diagnostics).toEqual([]);
  const printed = printScript(first.file!);
  const again = parse({ file, text: Buffer.from(printed, "latin1").toString("utf8"), isTapset }, opts);
  expect(again.diagnostics, printed).toEqual([]);
  expect(normalize(again.file!.decls)).toEqual(normalize(grouped(first.file!.decls)));
  // and printing is a fixpoint
  expect(printScript(again.file!)).toBe(printed);
}

const here = new URL(".", import.meta.url).pathname;

describe("print then parse gives the same tree", () => {
  it("for the parse ok cases and the examples", () => {
    const dirs = [join(here, "cases/parse/ok"), join(here, "../examples")];
    let n = 0;
    for (const d of dirs) {
      if (!existsSync(d)) continue;
      for (const name of readdirSync(d).sort()) {
        if (!name.endsWith(".stp")) continue;
        const argsFile = join(d, name.replace(/\.stp$/, ".args"));
        const args = existsSync(argsFile) ? readFileSync(argsFile, "utf8").trim().split(/\s+/).filter(Boolean) : [];
        reparse(name, readFileSync(join(d, name), "utf8"), false, defaultParseOptions({ guru: true, args }));
        n++;
      }
    }
    expect(n).toBeGreaterThan(50);
  });

  it("for SystemTap's tapsets", () => {
    const root = "/usr/share/systemtap/tapset";
    if (!existsSync(root)) return; // parse-stap-tapsets.test.ts installs them and says why if it cannot
    const opts = defaultParseOptions({ arch: "x86_64" });
    opts.macros = loadMacroDirs(tapsetSearchDirs(root, "kernel", "x86_64"), opts).macros;
    const files = execSync(`find ${root} -maxdepth 2 -name '*.stp' | sort`).toString().trim().split("\n");
    for (const f of files) reparse(f, readFileSync(f, "utf8"), true, opts);
  }, 120_000);
});
