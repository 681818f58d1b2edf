// `-l PROBE` / `-L PROBE`: the probe points a pattern resolves to, one per
// line, sorted and without repeats, as stap lists them. `-L` adds the
// context variables each point offers (` $name:type`), as its family says.

import type { Program } from "../elaborate/program.js";
import { listVariables } from "../points/index.js";

export function listProbes(program: Program, withVars: boolean): string {
  const lines = new Set<string>();
  for (const p of program.probes) lines.add(withVars ? `${p.pp}${listVariables(p.point)}` : p.pp);
  return [...lines].sort().map((l) => `${l}\n`).join("");
}
