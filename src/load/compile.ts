// Compiles the generated module text into a factory the runtime instantiates.
// A syntax error here is a translator bug: reported as a load error with the
// offending generated line, never a stack trace.

import type { CompiledHandlers } from "../../runtime/unit.js";
import type { RuntimeApi } from "../../runtime/context.js";

export type ModuleFactory = (api: RuntimeApi) => CompiledHandlers;

export function compileModule(code: string): ModuleFactory | string {
  try {
    return new Function("$R", code) as ModuleFactory;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The natives the generated code asks the runtime for. */
export function nativesUsed(code: string): { name: string; arity: number }[] {
  const out = new Map<string, { name: string; arity: number }>();
  for (const m of code.matchAll(/\$R\.native\(("(?:[^"\\]|\\.)*"), (\d+)\)/g)) {
    const name = JSON.parse(m[1]!) as string;
    out.set(`${name}/${m[2]}`, { name, arity: Number(m[2]) });
  }
  return [...out.values()];
}
