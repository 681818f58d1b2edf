// `-l PROBE` / `-L PROBE`: the probe points a pattern resolves to, one per
// line, sorted and without repeats, as stap lists them. `-L` adds the
// context variables each point offers (` $name:type`).

import type { Program } from "../elaborate/program.js";
import { kernelPointVars } from "../elaborate/points-kernel.js";

export function listProbes(program: Program, withVars: boolean): string {
  const lines = new Set<string>();
  for (const p of program.probes) lines.add(withVars ? `${p.pp}${kernelPointVars(p.point)}` : p.pp);
  return [...lines].sort().map((l) => `${l}\n`).join("");
}
