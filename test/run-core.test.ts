// Passes 3-5 on hand-built programs: generated code runs with stap's semantics.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { translate } from "../src/translate/index.js";
import { load } from "../src/load/index.js";
import { run } from "../runtime/index.js";
import type { Program } from "../src/elaborate/program.js";
import { assign, bin, block, call, expr, func, global, group, id, idx, incr, local, num, probe, program, str } from "./run-ast.js";

async function runProgram(p: Program, defines: [string, string][] = []): Promise<{ out: string; err: string; status: number }> {
  const t = translate(p, { defines: new Map(defines) });
  if (!t.plan) throw new Error(t.diagnostics.map((d) => d.message).join("; "));
  const l = await load(t.plan, {});
  if (!l.unit) throw new Error(l.diagnostics.map((d) => d.message).join("; "));
  const file = join(mkdtempSync(join(tmpdir(), "tstap-")), "out");
  let err = "";
  const status = await run(l.unit, { outputFile: file, messages: (s) => (err += s) });
  return { out: readFileSync(file, "latin1"), err, status };
}

describe("language core on hand-built programs", () => {
  it("runs begin, prints, exits, runs end", async () => {
    const p = program([
      probe({ kind: "begin", priority: 0n }, block(expr(call("println", [str("hi")])), expr(call("exit", [])))),
      probe({ kind: "end", priority: 0n }, block(expr(call("printf", [str("%d %s\n"), num(42), str("x")])))),
    ]);
    expect(await runProgram(p)).toEqual({ out: "hi\n42 x\n", err: "", status: 0 });
  });

  it("wraps 64-bit arithmetic and reports division by zero", async () => {
    const x = local("x");
    const p = program([
      probe(
        { kind: "begin", priority: 0n },
        block(
          expr(assign(id(x), bin("+", num(9223372036854775807n), num(1)))),
          expr(call("println", [id(x)])),
          expr(call("println", [bin("/", num(1), num(0))])),
        ),
        [x],
      ),
      probe({ kind: "end", priority: 0n }, block(expr(call("println", [str("end")])))),
      probe({ kind: "error", priority: 0n }, block(expr(call("println", [str("error probe")])))),
    ]);
    const r = await runProgram(p);
    expect(r.out).toBe("-9223372036854775808\nerror probe\n");
    expect(r.err).toMatch(/^ERROR: division by 0 near operator '\/' at t\.stp:\d+:\d+\nWARNING: Number of errors: 1, skipped probes: 0\nPass 5: run failed.  \[man error::pass5\]\n$/);
    expect(r.status).toBe(1);
  });

  it("prints written-but-unread globals at the end, as stap", async () => {
    const n = global("n", "long", undefined, { read: false });
    const s = global("s", "string", undefined, { read: false });
    const a = global("a", "long", ["long", "string"], { read: false });
    const p = program(
      [
        probe(
          { kind: "begin", priority: 0n },
          block(
            expr(assign(id(n), num(5))),
            expr(assign(id(s), str("abc"))),
            expr(assign(idx(a, num(1), str("x")), num(3))),
            expr(assign(idx(a, num(2), str("y")), num(7))),
            expr(call("exit", [])),
          ),
        ),
      ],
      [n, s, a],
    );
    expect((await runProgram(p)).out).toBe('n=5\ns="abc"\na[2,"y"]=7\na[1,"x"]=3\n');
  });

  it("overflows arrays past MAXMAPENTRIES with stap's message", async () => {
    const a = global("a", "long", ["long"]);
    const i = local("i");
    const loop = {
      kind: "for" as const,
      init: assign(id(i), num(0)),
      cond: bin("<", id(i), num(10)),
      step: incr(id(i)),
      body: expr(assign(idx(a, id(i)), id(i))),
      pos: { file: "t.stp", line: 3, col: 1, offset: 0 },
    };
    const p = program([probe({ kind: "begin", priority: 0n }, block(loop), [i])], [a]);
    const r = await runProgram(p, [["MAXMAPENTRIES", "5"]]);
    expect(r.err).toMatch(/^ERROR: Array overflow, check MAXMAPENTRIES near identifier 'a' at t\.stp:\d+:\d+\n/);
    expect(r.status).toBe(1);
  });

  it("enforces MAXNESTING on recursion", async () => {
    const n = local("n", "long", true);
    const f = func("f", [n], "long", block());
    f.body = block({ kind: "return", value: call("f", [bin("+", id(n), num(1))], group(f)), pos: { file: "t.stp", line: 1, col: 1, offset: 0 } });
    const p = program([probe({ kind: "begin", priority: 0n }, block(expr(call("f", [num(0)], group(f)))))], [], [f]);
    const r = await runProgram(p);
    expect(r.err).toMatch(/^ERROR: MAXNESTING exceeded near identifier 'f' at t\.stp:\d+:\d+\n/);
  });

  it("runs timers until exit()", async () => {
    const c = global("c");
    const p = program(
      [
        probe(
          { kind: "timer", periodNs: 1_000_000n, unit: "ms", value: 1n },
          block(expr(incr(id(c), true)), { kind: "if", cond: bin("==", id(c), num(3)), then: expr(call("exit", [])), pos: { file: "t.stp", line: 1, col: 1, offset: 0 } }),
        ),
        probe({ kind: "end", priority: 0n }, block(expr(call("println", [id(c)])))),
      ],
      [c],
    );
    expect((await runProgram(p)).out).toBe("3\n");
  });

  it("ends on SIGINT/SIGTERM/SIGHUP and runs the end probes once", async () => {
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      const p = program([
        probe({ kind: "begin", priority: 0n }, block(expr(call("println", [str("started")])))),
        probe({ kind: "end", priority: 0n }, block(expr(call("println", [str("ended")])))),
      ]);
      const t = translate(p, {});
      const l = await load(t.plan!, {});
      const file = join(mkdtempSync(join(tmpdir(), "tstap-")), "out");
      const done = run(l.unit!, { outputFile: file, messages: () => {} });
      setTimeout(() => {
        process.emit(sig, sig);
        process.emit(sig, sig);
      }, 50);
      expect(await done).toBe(0);
      expect(readFileSync(file, "latin1")).toBe("started\nended\n");
    }
  });

  it("ends after -T seconds", async () => {
    const p = program([probe({ kind: "end", priority: 0n }, block(expr(call("println", [str("timeout")]))))]);
    const t = translate(p, {});
    const l = await load(t.plan!, {});
    const file = join(mkdtempSync(join(tmpdir(), "tstap-")), "out");
    const t0 = Date.now();
    expect(await run(l.unit!, { outputFile: file, timeoutSeconds: 1, messages: () => {} })).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(readFileSync(file, "latin1")).toBe("timeout\n");
  });

  it("reports a failing format or internal error without a stack trace", async () => {
    const p = program([probe({ kind: "begin", priority: 0n }, block(expr(call("printf", [str("%m"), num(1)]))))]);
    const r = await runProgram(p);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.status).toBe(1);
  });
});
