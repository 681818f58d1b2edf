// parse() directly: tree shapes, values, positions, options.

import { describe, expect, it } from "vitest";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultParseOptions, loadLibraryMacros, loadTapsetMacros, parse } from "../src/parse/index.js";
import type { ExprStmt, ProbeDecl } from "../src/parse/ast.js";

const opts = (o = {}) => defaultParseOptions({ kernelRelease: "6.1.0-13-amd64", arch: "x86_64", kernelConfig: new Map([["CONFIG_SMP", "y"], ["CONFIG_HZ", "250"]]), ...o });
function firstExpr(src: string, o = {}) {
  const r = parse({ file: "t.stp", text: `probe begin { ${src} }`, isTapset: false }, opts(o));
  expect(r.diagnostics).toEqual([]);
  return ((r.file!.decls[0] as ProbeDecl).body.stmts[0] as ExprStmt).expr;
}

describe("parse", () => {
  it("wraps 64-bit literals", () => {
    expect(firstExpr("18446744073709551615")).toMatchObject({ kind: "number", value: -1n, text: "18446744073709551615" });
    expect(firstExpr("0x7fffffffffffffff")).toMatchObject({ value: 9223372036854775807n });
    expect(firstExpr("010")).toMatchObject({ value: 8n });
  });
  it("resolves escapes to bytes", () => {
    expect(firstExpr('"\\101\\x42\\n\\q é"')).toMatchObject({ kind: "string", value: "AB\nq \xc3\xa9" });
  });
  it("gives positions of first tokens", () => {
    expect(firstExpr("a + b")).toMatchObject({ kind: "binary", op: "+", pos: { file: "t.stp", line: 1, col: 17, offset: 16 } });
  });
  it("evaluates conditionals against the options", () => {
    expect(firstExpr('%( kernel_v >= "6.1" && kernel_vr == "6.1.0-*" %? 1 %: 2 %)')).toMatchObject({ value: 1n });
    expect(firstExpr('%( CONFIG_SMP == "y" && CONFIG_HZ > 100 %? 1 %: 2 %)')).toMatchObject({ value: 1n });
    expect(firstExpr('%( CONFIG_NOPE == "y" %? 1 %: 2 %)')).toMatchObject({ value: 2n });
    expect(firstExpr('%( arch == "arm*" %? 1 %: 2 %)')).toMatchObject({ value: 2n });
  });
  it("substitutes script arguments", () => {
    expect(firstExpr("$1 + @2", { args: ["40", "x"] })).toMatchObject({ left: { value: 40n }, right: { kind: "string", value: "x" } });
  });
  it("expands library macros", () => {
    const o = opts();
    loadLibraryMacros([{ file: "m.stpm", text: "@define two %( 2 %)" }], o, o.macros);
    expect(firstExpr("@two", o)).toMatchObject({ kind: "number", value: 2n });
  });
  it("reports several errors with positions", () => {
    const r = parse({ file: "t.stp", text: "probe begin { x = }\nprobe end { y = ) }\nprobe x { }", isTapset: false }, opts());
    expect(r.diagnostics.map((d) => [d.pos!.line, d.pos!.col])).toEqual([[1, 19], [2, 17]]);
    expect(r.file!.decls.length).toBe(1);
  });
});

describe("parse, more shapes", () => {
  const file = (text: string, isTapset = false, o = {}) => {
    const r = parse({ file: "t.stp", text, isTapset }, opts(o));
    return r;
  };
  it("keeps embedded-C pragmas and allows C in tapsets only", () => {
    const src = "function f:long () %{ /* pure */ /* unprivileged */ STAP_RETVALUE = 1; %}";
    const t = file(src, true);
    expect(t.diagnostics).toEqual([]);
    expect(t.file!.decls[0]).toMatchObject({ kind: "function", name: "f", returnType: "long", pragmas: ["pure", "unprivileged"], body: { kind: "embedded-code" } });
    expect(file(src).diagnostics.map((d) => d.message)).toEqual(["embedded code in unprivileged script; need stap -g"]);
    expect(file(src, false, { guru: true }).diagnostics).toEqual([]);
  });
  it("glues probe components only without whitespace", () => {
    const r = file("probe sys*.op*en, kernel.function(\"x\").return? { }");
    expect(r.diagnostics).toEqual([]);
    const p = r.file!.decls[0] as ProbeDecl;
    expect(p.points.map((pt) => pt.components.map((c) => c.name))).toEqual([["sys*", "op*en"], ["kernel", "function", "return"]]);
    expect(p.points[1]).toMatchObject({ optional: true, sufficient: false });
    expect(file("probe sys *.x { }").diagnostics[0]!.message).toMatch(/^expected/);
  });
  it("builds foreach with value, sort and slice", () => {
    const r = file("global a\nprobe end { foreach (v- = [x, y] in a[*, 3] limit 2) {} }");
    expect(r.diagnostics).toEqual([]);
    const st = (r.file!.decls[1] as ProbeDecl).body.stmts[0]!;
    expect(st).toMatchObject({
      kind: "foreach",
      value: { name: "v" },
      keys: [{ name: "x" }, { name: "y" }],
      sortBy: "value",
      sortDir: "-",
      array: { kind: "index", array: { name: "a" }, indices: [{ kind: "wildcard" }, { kind: "number", value: 3n }] },
      limit: { value: 2n },
    });
  });
  it("makes autocasts and target variables", () => {
    expect(firstExpr("&f(1)->a[2]$")).toMatchObject({ kind: "cast", autocast: true, addressOf: true, pretty: "$", operand: { kind: "call", name: "f" }, steps: [{ kind: "member", name: "a" }, { kind: "index" }] });
    expect(firstExpr("$p->q$$")).toMatchObject({ kind: "target", name: "p", steps: [{ kind: "member", name: "q" }], pretty: "$$" });
    expect(firstExpr("$$parms$")).toMatchObject({ kind: "target-vars", which: "parms", pretty: "$" });
  });
  it("keeps an untaken branch's missing arguments quiet", () => {
    expect(firstExpr("%( $# > 2 %? $3 %: 0 %)")).toMatchObject({ kind: "number", value: 0n });
  });
});

describe("tapset macros and positions", () => {
  it("loads .stpm files of a tapset root and its runtime/arch subdirectories", () => {
    const root = mkdtempSync(join(tmpdir(), "tstap-macros-"));
    mkdirSync(join(root, "linux"));
    writeFileSync(join(root, "a.stpm"), "@define one %( 1 %)\n");
    writeFileSync(join(root, "linux", "b.stpm"), "@define two %( (@one + @one) %)\n");
    const o = opts();
    expect(loadTapsetMacros(o, [root])).toEqual([]);
    expect(firstExpr("@two", o)).toMatchObject({ kind: "group", inner: { kind: "binary", left: { value: 1n }, right: { value: 1n } } });
  });
  it("places nodes where stap's tokens are", () => {
    const r = parse({ file: "t.stp", text: "probe begin {\n  a[1] = x + y\n}", isTapset: false }, opts());
    const st = (r.file!.decls[0] as ProbeDecl).body.stmts[0] as ExprStmt;
    expect(st.pos).toMatchObject({ line: 2, col: 3 });
    expect(st.expr).toMatchObject({ kind: "assign", pos: { col: 8 }, target: { kind: "index", pos: { col: 3 } }, value: { kind: "binary", pos: { col: 12 } } });
  });
});
