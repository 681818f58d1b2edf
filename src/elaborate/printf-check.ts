// What a printf format asks of its arguments, from the runtime's own format
// compiler (runtime/printf.ts), so pass 2 and pass 5 agree on every format.

import { compileFormat, FormatError } from "../../runtime/printf.js";

/** The argument kinds a literal format consumes, or undefined when the format itself is invalid (pass 3 reports it). */
export function formatArgKinds(fmt: string): ("long" | "string" | "any")[] | undefined {
  try {
    return [...compileFormat(fmt).argKinds];
  } catch (e) {
    if (e instanceof FormatError) return undefined;
    throw e;
  }
}
