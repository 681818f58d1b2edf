// stap prints, at the end of a run, every global the script writes but never
// reads (elaborate.cxx, add_global_var_display): one synthetic `end` probe
// per global, after the script's own probes, in declaration order:
//   x=5              longs (%d: stap 4.8 prints them in decimal)
//   s="abc"          strings (%#s)
//   a[1,"k"]=3       arrays, sorted by decreasing value
//   st @count=3 @min=1 @max=3 @sum=6 @avg=2     statistics (%#d; "st @count=0x0" when empty)
//   sa[1] @count=...                            statistics arrays, sorted by decreasing @count

import type { GlobalSym, Program } from "../elaborate/program.js";
import { Gen, stringLiteral } from "./gen-context.js";

export interface AutoprintProbe {
  global: GlobalSym;
  lines: string[];
}

const statFields = " @count=%#d @min=%#d @max=%#d @sum=%#d @avg=%#d";

function statArgs(s: string): string {
  return `$statCount(${s}), $stat_min(${s}, ""), $stat_max(${s}, ""), $statSum(${s}), $stat_avg(${s}, "")`;
}

export function autoprintBodies(g: Gen, program: Program): AutoprintProbe[] {
  const tapsetFiles = new Set(program.files.filter((f) => f.isTapset).map((f) => f.name));
  const out: AutoprintProbe[] = [];
  for (const v of program.globals) {
    if (!v.written || v.read || tapsetFiles.has(v.pos.file)) continue;
    const fmt = (f: string): string => g.constant("$F", `$R.format(${stringLiteral(f)})`);
    const lines: string[] = [];
    const type = v.type === "unknown" ? "long" : v.type;
    if (!v.keyTypes) {
      if (type === "stats") {
        lines.push(`if ($statCount(${v.jsName}) === 0) $out(${stringLiteral(`${v.name} @count=0x0\n`)});`);
        lines.push(`else $out(${fmt(v.name + statFields + "\n")}.p([${statArgs(v.jsName)}]));`);
      } else if (type === "string") lines.push(`$out(${fmt(`${v.name}="%#s"\n`)}.p([${v.jsName}]));`);
      else lines.push(`$out(${fmt(`${v.name}=%d\n`)}.p([${v.jsName}]));`);
      out.push({ global: v, lines });
      continue;
    }
    const keyFmt = v.keyTypes.map((t) => (t === "string" ? '"%#s"' : "%#d")).join(",");
    const valueFmt = type === "stats" ? statFields : type === "string" ? '="%#s"' : "=%d";
    const f = fmt(`${v.name}[${keyFmt}]${valueFmt}\n`);
    const a = v.jsName;
    if (v.keyTypes.length === 1) {
      lines.push(`for (const k of ${a}.keys("value", -1, -1)) {`);
      if (type === "stats") lines.push(`  const s = ${a}.stat(k);`, `  $out(${f}.p([k, ${statArgs("s")}]));`);
      else lines.push(`  $out(${f}.p([k, ${a}.get(k)]));`);
    } else {
      lines.push(`for (const e of ${a}.entries("value", -1, -1)) {`);
      if (type === "stats") lines.push(`  $out(${f}.p([...e.k, ${statArgs("e.v")}]));`);
      else lines.push(`  $out(${f}.p([...e.k, e.v]));`);
    }
    lines.push("}");
    out.push({ global: v, lines });
  }
  return out;
}
