// chevrotain, loaded from its single-file bundle: the package's multi-file
// ESM entry takes ~300 ms to load (hundreds of modules), the bundle ~20 ms,
// and every `tstap` run pays it. Same library, same version.

import type * as Chevrotain from "chevrotain";

async function load(): Promise<typeof Chevrotain> {
  try {
    const entry = import.meta.resolve("chevrotain");
    return (await import(new URL("../chevrotain.mjs", entry).href)) as typeof Chevrotain;
  } catch {
    return await import("chevrotain");
  }
}

const chevrotain = await load();

export const { EmbeddedActionsParser, createToken, Lexer, createSyntaxDiagramsCode } = chevrotain;
