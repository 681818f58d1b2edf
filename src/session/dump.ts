// `--dump-functions` and `--dump-probe-aliases`: what the tapset library
// offers, one line each, sorted, as stap lists them. Names starting with `_`
// (the library's internals) show only with -v, as in stap.

import type { TapsetLibrary } from "../elaborate/library.js";
import { pointSig } from "../elaborate/derive.js";

/** stap's function signature: `name:type (arg:type, ...)`, then its privilege tags. */
export function dumpFunctions(library: TapsetLibrary, verbose: boolean): string {
  const lines: string[] = [];
  for (const file of library.all()) {
    for (const d of file.decls) {
      if (d.kind !== "function" || d.private) continue;
      if (!verbose && d.name.startsWith("_")) continue;
      const params = d.params.map((p) => `${p.name}:${p.type ?? "unknown"}`).join(", ");
      const tags = d.pragmas.filter((t) => verbose || t === "unprivileged" || t === "myproc-unprivileged" || t === "guru").map((t) => ` /* ${t} */`);
      lines.push(`${d.name}:${d.returnType ?? "unknown"} (${params})${tags.join("")}`);
    }
  }
  return sorted(lines);
}

/** stap's alias signature: `name = point, point` (`+=` for epilogue aliases). */
export function dumpAliases(library: TapsetLibrary, verbose: boolean): string {
  const lines: string[] = [];
  for (const file of library.all()) {
    for (const d of file.decls) {
      if (d.kind !== "alias") continue;
      const sig = `${d.names.map((n) => pointSig(n)).join(" = ")} ${d.epilogue ? "+=" : "="} ${d.targets.map((t) => pointSig(t)).join(", ")}`;
      if (!verbose && sig.startsWith("_")) continue;
      lines.push(sig);
    }
  }
  return sorted(lines);
}

function sorted(lines: string[]): string {
  return [...new Set(lines)]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((l) => `${l}\n`)
    .join("");
}
