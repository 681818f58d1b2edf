// Pass 3's plan: probe metadata, limits from -D, readable code, and the
// translate errors for what the language core cannot run.

import { describe, expect, it } from "vitest";
import { formatPlan, translate } from "../src/translate/index.js";
import { compileModule } from "../src/load/compile.js";
import { assign, block, call, expr, global, id, num, probe, program, str } from "./run-ast.js";

describe("translate", () => {
  it("describes probes and limits, and -p3 shows the generated code", () => {
    const x = global("x", "long", undefined, { read: false });
    const p = program(
      [
        probe({ kind: "begin", priority: -1n }, block(expr(assign(id(x), num(1))))),
        probe({ kind: "timer", periodNs: 5_000_000n, randomizeNs: 1_000_000n, unit: "ms", value: 5n }, block(expr(call("exit", [])))),
      ],
      [x],
    );
    const r = translate(p, { defines: new Map([["MAXACTION", "7"], ["MAXSTRINGLEN", "64"]]) });
    expect(r.diagnostics).toEqual([]);
    const plan = r.plan!;
    expect(plan.probes.map((q) => q.trigger.kind)).toEqual(["begin", "timer", "end"]);
    expect(plan.limits.MAXACTION).toBe(7);
    expect(plan.limits.MAXACTION_INTERRUPTIBLE).toBe(70);
    expect(plan.limits.MAXSTRINGLEN).toBe(64);
    expect(plan.events).toEqual([]);
    const text = formatPlan(plan);
    expect(text).toContain("# tracefs events");
    expect(text).toContain("# $probe_1: timer (timer period=5000000ns randomize=1000000ns)");
    expect(text).toContain("function $probe_0() {");
    expect(text).toContain("(g_x = 1);");
    expect(text).toContain('$R.format("x=%d\\n")');
  });

  it("refuses invalid formats and -D values with translate errors", () => {
    const p = program([probe({ kind: "begin", priority: 0n }, block(expr(call("printf", [str("%z")]))))]);
    const r = translate(p, { defines: new Map([["MAXMAPENTRIES", "lots"]]) });
    expect(r.plan).toBeUndefined();
    expect(r.diagnostics.map((d) => d.kind)).toEqual(["translate error", "translate error"]);
  });

  it("keeps script text in generated comments from ending them (paths may hold line breaks)", () => {
    const evil = 'x\n$out("PWNED");var q=`\u2028y\rz';
    const pr = probe({ kind: "begin", priority: 0n }, block(expr(call("exit", []))), [], `process("${evil}").begin`);
    pr.pos = { file: evil, line: 1, col: 1, offset: 0 };
    const r = translate(program([pr]), {});
    expect(r.diagnostics).toEqual([]);
    expect(typeof compileModule(r.plan!.code)).toBe("function");
    expect(r.plan!.code).not.toContain("PWNED\");\n");
  });
});
