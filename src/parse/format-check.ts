// stap checks a printf/sprintf format as it parses the call (pass 1). The
// format grammar is the runtime's own (runtime/printf.ts compileFormat), so
// passes 1 and 5 agree on every format.

import { compileFormat, FormatError } from "../../runtime/printf.js";

/** What is wrong with a literal format, in stap's words; undefined when it is valid. */
export function formatProblem(fmt: string): string | undefined {
  try {
    compileFormat(fmt);
  } catch (e) {
    if (e instanceof FormatError) return e.message;
    throw e;
  }
  // The runtime prints a lone '%' at the very end as itself, but stap's
  // parser refuses it: "%%" pairs are literal, so an odd trailing run is one.
  const trailing = fmt.length - fmt.replace(/%+$/, "").length;
  if (trailing % 2 === 1) return "invalid or missing conversion specifier";
  return undefined;
}
