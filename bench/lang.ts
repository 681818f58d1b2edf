// Language core benchmark:
// (a) startup: `tstap -e 'probe begin { println("hi"); exit() }'` against
//     bpftrace's equivalent and a bare `node -e 0`, as wall-time ratios;
// (b) a 10-million-iteration `probe begin` loop doing arithmetic, string
//     building and map updates, per iteration, against the same loop in JS.

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const tstap = join(root, "bin", "tstap");
const ITER = 10_000_000;

function wall(cmd: string, args: string[], runs: number): { ms: number; status: number | null; out: string; err: string } {
  const times: number[] = [];
  let last = spawnSync(cmd, args, { encoding: "latin1" });
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    last = spawnSync(cmd, args, { encoding: "latin1", timeout: 120_000 });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, status: last.status, out: last.stdout ?? "", err: last.stderr ?? "" };
}

const loopScript = `global m
probe begin {
  s = ""
  for (i = 0; i < ${ITER}; i++) {
    x = (i * 7 + 3) % 1000
    m[x % 100] += x
    s = (i & 1) ? s . "a" : "b"
  }
  printf("%d %s\\n", m[3], s)
  exit()
}`;

function plainJsLoop(): { ms: number; result: string } {
  const t0 = process.hrtime.bigint();
  const m = new Map<number, number>();
  let s = "";
  for (let i = 0; i < ITER; i++) {
    const x = (i * 7 + 3) % 1000;
    const k = x % 100;
    m.set(k, (m.get(k) ?? 0) + x);
    s = i & 1 ? s + "a" : "b";
  }
  const result = `${m.get(3)} ${s}`;
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, result };
}

export async function benchLang(): Promise<string[]> {
  const lines: string[] = [];
  const runs = 5;
  const node = wall(process.execPath, ["-e", "0"], runs);
  const ts = wall(tstap, ["-e", 'probe begin { println("hi"); exit() }'], runs);
  lines.push(`startup, median of ${runs} runs:`);
  lines.push(`  node -e 0                      ${node.ms.toFixed(1)} ms`);
  lines.push(`  tstap hello (begin + exit)     ${ts.ms.toFixed(1)} ms  (${(ts.ms / node.ms).toFixed(2)}x node)${ts.out === "hi\n" ? "" : `  [unexpected output: ${JSON.stringify(ts.out)} ${ts.err.trim()}]`}`);
  const which = spawnSync("sh", ["-c", "command -v bpftrace"], { encoding: "utf8" });
  if (which.status === 0) {
    const bt = wall(which.stdout.trim(), ["-e", 'BEGIN { printf("hi\\n"); exit(); }'], runs);
    const ok = bt.out.includes("hi");
    lines.push(
      `  bpftrace hello                 ${bt.ms.toFixed(1)} ms  (tstap/bpftrace = ${(ts.ms / bt.ms).toFixed(2)})` +
        (ok ? "" : `  [bpftrace did not run BEGIN here: status ${bt.status}: ${bt.err.trim().split("\n")[0] ?? ""}]`),
    );
  } else lines.push("  bpftrace                       not installed (apt-get install bpftrace)");

  const loop = wall(tstap, ["-D", "MAXACTION=100000000", "-e", loopScript], 1);
  const js = plainJsLoop();
  const loopMs = Math.max(0, loop.ms - ts.ms);
  lines.push(`${ITER.toLocaleString("en")}-iteration begin loop (arithmetic, string building, map update):`);
  lines.push(`  tstap       ${loop.ms.toFixed(0)} ms total, ${((loopMs * 1e6) / ITER).toFixed(1)} ns/iteration (startup subtracted)${loop.status === 0 ? "" : `  [status ${loop.status}: ${loop.err.trim().split("\n")[0] ?? ""}]`}`);
  lines.push(`  plain JS    ${js.ms.toFixed(0)} ms, ${((js.ms * 1e6) / ITER).toFixed(1)} ns/iteration`);
  lines.push(`  ratio       ${(loopMs / js.ms).toFixed(2)}x plain JS${loop.out.trim() === js.result ? "" : `  [output differs: ${JSON.stringify(loop.out.trim())} vs ${JSON.stringify(js.result)}]`}`);
  return lines;
}
