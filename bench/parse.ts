// Pass 1 on a generated 20,000-line script: in process (parse + print, the
// parser already built) and as `bin/tstap -p1`, against `cat` of the same file
// and `node -e 0` (the floor any Node CLI pays).

import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultParseOptions, parse } from "../src/parse/index.js";
import { printScript } from "../src/parse/print.js";

/**
 * A script of `lines` lines using most of the language, at about 8 tokens a
 * line: denser than SystemTap's own tapsets (about 4 a line, with their
 * comments and embedded C), so the measure errs on the slow side.
 */
export function generateScript(lines: number): string {
  const out: string[] = ["global counts, totals[1000], hist", "@define twice(x) %( (@x * 2) %)", ""];
  let i = 0;
  for (;;) {
    const block = [
      `# probe ${i}: count reads by process, keep a latency histogram`,
      `probe timer.ms(${(i % 97) + 1}), kernel.function("f${i}").return? if (enabled) {`,
      `  counts[execname(), pid()] <<< @twice(${i}) + 1`,
      `  if (x${i} > 10 && y !~ "^a.*")`,
      `    totals[tid()] += $count->f_pos`,
      `  else`,
      `    s = sprintf("%d %s\\n", i, "x" . str${i})`,
      `  foreach ([a, b-] in counts limit 10)`,
      `    printf("%s %d %d\\n", a, b, @count(counts[a, b]))`,
      `  for (j = 0; j < ${i % 13}; j++)`,
      `    z = j % 3 ? z << 1 : ~z`,
      `  %( kernel_v >= "2.6" %? w = 1 %: w = 2 %)`,
      `}`,
      ``,
      `/* helper ${i} */`,
      `function fn${i}:long (a:long, b:string) {`,
      `  return a * ${i} + strlen(b) - (a in totals)`,
      `}`,
      ``,
    ];
    if (out.length + block.length > lines) break;
    out.push(...block);
    i++;
  }
  while (out.length < lines) out.push("# end");
  return out.join("\n") + "\n";
}

function time(f: () => void, runs = 5): number {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export async function benchParse(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "tstap-bench-parse-"));
  try {
    const text = generateScript(20_000);
    const tokens = (text.match(/[\w$@]+|"(?:[^"\\]|\\.)*"|\S/g) ?? []).length;
    const file = join(dir, "big.stp");
    writeFileSync(file, text);
    const opts = defaultParseOptions();
    parse({ file, text: "probe begin {}", isTapset: false }, opts); // build the parser once
    let ok = true;
    const inProcess = time(() => {
      const r = parse({ file, text, isTapset: false }, opts);
      ok &&= r.diagnostics.length === 0;
      printScript(r.file!);
    });
    const cat = time(() => execFileSync("cat", [file], { maxBuffer: 1 << 28 }));
    const nodeFloor = time(() => execFileSync(process.execPath, ["-e", "0"]));
    const lines = [
      `script: 20,000 lines, ${(text.length / 1024).toFixed(0)} KiB, ~${Math.round(tokens / 1000)}k tokens${ok ? "" : " (PARSE ERRORS: benchmark invalid)"}`,
      `in process parse+print: ${inProcess.toFixed(1)} ms (${(inProcess / cat).toFixed(1)}x cat, ${(inProcess / nodeFloor).toFixed(2)}x node -e 0)`,
      `cat: ${cat.toFixed(1)} ms   node -e 0: ${nodeFloor.toFixed(1)} ms`,
    ];
    const bin = new URL("../../bin/tstap", import.meta.url).pathname;
    try {
      const cli = time(() => execFileSync(bin, ["-p1", file], { maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "pipe"] }), 3);
      lines.push(`bin/tstap -p1: ${cli.toFixed(1)} ms (${(cli / cat).toFixed(1)}x cat, ${(cli / nodeFloor).toFixed(2)}x node -e 0)`);
    } catch (e) {
      lines.push(`bin/tstap -p1: failed (${(e as Error).message.split("\n")[0]})`);
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
