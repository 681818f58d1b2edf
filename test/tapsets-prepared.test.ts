// Tapsets prepared while the snapshot is built (prepareTapsets): a run takes
// a file's parse when its text is unchanged and it parses the same in every
// run, once (elaboration may change the tree), and parses anything else.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";

const parsed: string[] = [];
vi.mock("../src/parse/index.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/parse/index.js")>();
  return {
    ...real,
    parse: (input: { file: string; text: string; isTapset: boolean }, opts: import("../src/parse/index.js").ParseOptions) => {
      parsed.push(input.file.replace(/.*\//, ""));
      return real.parse(input, opts);
    },
  };
});

const { defaultParseOptions } = await import("../src/parse/index.js");
const { prepareTapsets, TapsetLibrary } = await import("../src/elaborate/library.js");

const dir = mkdtempSync(join(tmpdir(), "tstap-prepared-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const opts = () => defaultParseOptions({ args: [], kernelRelease: "6.1.0", kernelConfig: new Map() });

describe("prepared tapsets", () => {
  beforeEach(() => {
    writeFileSync(join(dir, "alone.stp"), "function fa:long () { return 1 }\n");
    writeFileSync(join(dir, "cond.stp"), '%( kernel_v >= "2.6" %? function fb:long () { return 2 } %)\n');
    prepareTapsets([dir], opts());
    parsed.length = 0;
  });

  it("gives a file's parse once, and parses one whose parse depends on the run", () => {
    const first = new TapsetLibrary([dir], opts());
    expect(first.functions("fa").map((d) => d.decl.name)).toEqual(["fa"]);
    expect(first.functions("fb").map((d) => d.decl.name)).toEqual(["fb"]);
    expect(parsed).toEqual(["cond.stp"]);
    const second = new TapsetLibrary([dir], opts());
    expect(second.functions("fa").map((d) => d.decl.name)).toEqual(["fa"]);
    expect(parsed).toEqual(["cond.stp", "alone.stp"]);
  });

  it("reads a file changed since it was prepared", () => {
    writeFileSync(join(dir, "alone.stp"), "function fa2:long () { return 3 }\n");
    const lib = new TapsetLibrary([dir], opts());
    expect(lib.functions("fa")).toEqual([]);
    expect(lib.functions("fa2").map((d) => d.decl.name)).toEqual(["fa2"]);
    expect(parsed).toEqual(["alone.stp"]);
  });

  it("parses again under library macros", () => {
    const withMacros = opts();
    withMacros.macros.set("m", { name: "m" } as never);
    new TapsetLibrary([dir], withMacros).functions("fa");
    expect(parsed).toEqual(["alone.stp"]);
  });
});
