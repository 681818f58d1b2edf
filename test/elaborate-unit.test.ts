// Pass 2 unit tests: the resolved program's shape (what pass 3 reads), the
// tapset search path, probe point resolution and the registration points.
// Exact -p2 text and messages are in test/cases/elaborate/ (checked against
// stap 4.8).

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDiagnostic, newPrintState, suppressedWarningsNote, type Diagnostic } from "../src/diagnostic.js";
import { elaborate, formatProgram, registerPointPattern, type ElaborateOptions } from "../src/elaborate/index.js";
import type { CallExpr, Expr, ExprStmt, Identifier, Stmt } from "../src/parse/ast.js";
import { defaultParseOptions, parse } from "../src/parse/index.js";
import type { FunctionGroup, GlobalSym, LocalSym, NativeSym, Program } from "../src/elaborate/program.js";

const parseOptions = defaultParseOptions({ kernelConfig: new Map([["CONFIG_HZ", "1000"]]) });

function run(text: string, over: Partial<ElaborateOptions> = {}): { program?: Program; diagnostics: Diagnostic[]; sources: Map<string, string> } {
  const sources = new Map([["t.stp", text]]);
  const parsed = parse({ file: "t.stp", text, isTapset: false }, parseOptions);
  expect(parsed.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const r = elaborate(parsed.file!, {
    tapsetDirs: [],
    unoptimized: false,
    suppressWarnings: false,
    guru: false,
    args: [],
    defines: new Map(),
    parseOptions,
    sources,
    ...over,
  });
  return { ...r, sources };
}

function ok(text: string, over: Partial<ElaborateOptions> = {}): Program {
  const r = run(text, over);
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  return r.program!;
}

function errors(text: string, over: Partial<ElaborateOptions> = {}): string[] {
  const r = run(text, over);
  expect(r.program).toBeUndefined();
  return r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
}

function firstExpr(s: Stmt): Expr {
  if (s.kind === "block") return firstExpr(s.stmts[0]!);
  return (s as ExprStmt).expr;
}

describe("resolved program", () => {
  it("types globals, arrays and stats", () => {
    const p = ok(`global n, s, a, st
probe begin { n = 1; s = "x"; a["k", 2] = n; st <<< n; println(n, s, a["k", 2], @count(st)) }`);
    const byName = new Map(p.globals.map((g) => [g.name, g]));
    expect(byName.get("n")).toMatchObject({ type: "long", read: true, written: true });
    expect(byName.get("s")).toMatchObject({ type: "string" });
    expect(byName.get("a")).toMatchObject({ type: "long", keyTypes: ["string", "long"] });
    expect(byName.get("st")).toMatchObject({ type: "stats" });
    expect(byName.get("st")!.keyTypes).toBeUndefined();
  });

  it("binds identifiers to their symbols and annotates types", () => {
    const p = ok("global g\nprobe begin { x = 2; g = x; println(g) }");
    const stmts = p.probes[0]!.body.stmts;
    const assign = firstExpr(stmts[0]!) as Expr & { kind: "assign" };
    const x = assign.target as Identifier;
    expect((x.sym as LocalSym).kind).toBe("local");
    expect(x.type).toBe("long");
    const g = (firstExpr(stmts[1]!) as Expr & { kind: "assign" }).target as Identifier;
    expect((g.sym as GlobalSym).kind).toBe("global");
    expect(p.probes[0]!.locals.map((l) => `${l.name}:${l.type}`)).toEqual(["x:long"]);
  });

  it("infers function signatures through calls and returns", () => {
    const p = ok("function f(a, b) { return a . b }\nprobe begin { println(f(\"x\", \"y\")) }");
    const f = p.functions.find((x) => x.name === "f")!;
    expect(f.returnType).toBe("string");
    expect(f.params.map((x) => x.type)).toEqual(["string", "string"]);
    const call = (firstExpr(p.probes[0]!.body) as CallExpr).args[0] as CallExpr;
    expect((call.sym as FunctionGroup).kind).toBe("function-group");
    expect((call.sym as FunctionGroup).overloads[0]).toBe(f);
  });

  it("binds calls to natives of the runtime registry", () => {
    const p = ok('probe begin { println(strlen("abc")) }');
    const call = (firstExpr(p.probes[0]!.body) as CallExpr).args[0] as CallExpr;
    expect(call.sym as NativeSym).toMatchObject({ kind: "native", name: "strlen", params: ["string"], returnType: "long" });
    expect(call.type).toBe("long");
  });

  it("resolves begin/end priorities and timers", () => {
    const p = ok("probe begin(-5), end(7), timer.ms(20).randomize(5), timer.jiffies(3), timer.hz(100) { print(1) }");
    expect(p.probes.map((x) => x.point)).toEqual([
      { kind: "begin", priority: -5n },
      { kind: "end", priority: 7n },
      { kind: "timer", unit: "ms", value: 20n, periodNs: 20_000_000n, randomizeNs: 5_000_000n },
      { kind: "timer", unit: "jiffies", value: 3n, periodNs: 3_000_000n },
      { kind: "timer", unit: "hz", value: 100n, periodNs: 10_000_000n },
    ]);
    expect(p.probes.map((x) => x.pp)).toEqual(["begin(-5)", "end(7)", "timer.ms(20).randomize(5)", "timer.jiffies(3)", "timer.hz(100)"]);
  });

  it("expands aliases: prologue before, epilogue after, conditions and-ed", () => {
    const p = ok(`global on = 1
probe a = begin if (on) { x = 1 }
probe b += a { y = x }
probe b { println(x, y) }`);
    expect(p.probes).toHaveLength(1);
    const pr = p.probes[0]!;
    expect(pr.pp).toBe("begin");
    expect(pr.derivation).toBe("a = begin if (__global_on) <- b += a <- b");
    expect(pr.condition?.kind).toBe("ident");
    // { x = 1 ; { { user } ; y = x } }
    const outer = pr.body.stmts;
    expect(outer).toHaveLength(2);
    expect(pr.locals.map((l) => l.name)).toEqual(["x", "y"]);
  });

  it("matches wildcards over alias names", () => {
    const p = ok("probe e.f = timer.ms(10) { v = 1 }\nprobe e.g = timer.ms(20) { v = 2 }\nprobe e.* { println(v) }");
    expect(p.probes.map((x) => x.pp)).toEqual(["timer.ms(10)", "timer.ms(20)"]);
  });

  it("keeps `?` points that match nothing silent, and stops at a matching `!`", () => {
    const p = ok("probe nothing.here?, begin! , end { print(1) }");
    expect(p.probes.map((x) => x.pp)).toEqual(["begin"]);
  });

  it("tells globals written but never read (stap prints them at the end)", () => {
    const p = ok("global w, r, u\nprobe begin { w = 1; r = 2; u++; println(r) }");
    const g = new Map(p.globals.map((x) => [x.name, x]));
    expect(g.get("w")).toMatchObject({ read: false, written: true });
    expect(g.get("r")).toMatchObject({ read: true, written: true });
    expect(g.get("u")).toMatchObject({ read: false, written: true });
  });

  it("elides unused code unless -u", () => {
    expect(ok("function unused() { return 1 }\nglobal g\nprobe begin { print(1) }").functions).toEqual([]);
    const u = ok("global g\nprobe begin { x = 1 }\nprobe end { }", { unoptimized: true });
    expect(u.probes).toHaveLength(2);
    expect(u.probes[0]!.locals.map((l) => l.name)).toEqual(["x"]);
  });

  it("folds @defined of a target variable to 0 where there is none", () => {
    const p = ok('probe begin { if (@defined($x)) println("y") else println("n") }');
    const body = JSON.stringify(p.probes[0]!.body, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    expect(body).not.toContain('"defined"');
    expect(body).toContain('"n"');
    expect(body).not.toContain('"y"');
  });

  it("marks functions whose body uses `next`, and keeps overloads reached through it", () => {
    const p = ok(`function f(x) { if (x > 1) next; return 1 }
function f(x) { return 2 }
probe begin { println(f(3)) }`);
    expect(p.functions.filter((f) => f.name === "f")).toHaveLength(2);
    expect(p.functions[0]!.usesNext).toBe(true);
  });
});

describe("tapset search path", () => {
  const dir = mkdtempSync(join(tmpdir(), "tstap-tapsets-"));
  writeFileSync(join(dir, "lib.stp"), "global lib_count\nfunction lib_add(x) { lib_count++; return x + 1 }\nprobe lib.start = begin { who = \"lib\" }\nprivate function hidden() { return 1 }\n");
  writeFileSync(join(dir, "unused.stp"), "this file does not parse {\n");

  it("pulls in the functions, globals and aliases a script uses, and only the files needed", () => {
    const p = ok("probe lib.start { println(who, lib_add(1)) }", { tapsetDirs: [dir] });
    expect(p.functions.map((f) => f.name)).toEqual(["lib_add"]);
    expect(p.globals.map((g) => g.name)).toEqual(["lib_count"]);
    expect(p.files.map((f) => f.name)).toContain(join(dir, "lib.stp"));
  });

  it("lets the script's own function win over a tapset's", () => {
    const p = ok("function lib_add(x) { return x }\nprobe begin { println(lib_add(1)) }", { tapsetDirs: [dir] });
    expect(p.globals).toEqual([]);
  });

  it("does not show a tapset's private functions to the script", () => {
    expect(errors("probe begin { println(hidden()) }", { tapsetDirs: [dir] })[0]).toMatch(/^unresolved function hidden/);
  });

  it("refuses a call to an embedded-C function it has no native for", () => {
    writeFileSync(join(dir, "c.stp"), "function c_only:long () %{ return 1; %}\n");
    expect(errors("probe begin { println(c_only()) }", { tapsetDirs: [dir] })).toEqual(["embedded C function 'c_only' cannot run on tstap: it needs a kernel module"]);
  });
});

describe("probe point registration", () => {
  it("lets another family register a pattern", () => {
    registerPointPattern("test.point(string).ready", (args, ctx) => ({ point: { kind: "never" }, pp: `${ctx.text}:${String(args[1])}` }));
    const p = ok('probe test.point("x").ready { print(1) }');
    expect(p.probes[0]!.pp).toBe('test.point("x").ready:x');
  });
});

describe("messages", () => {
  it("prints stap's layout, naming the file at every position and counting similar messages", () => {
    const r = run("probe begin { y = z; print(y) }");
    const state = newPrintState();
    const text = r.diagnostics.map((d) => formatDiagnostic(d, r.sources, state)).join("");
    expect(text).toBe(
      [
        "WARNING: never-assigned local variable 'z' (similar: y): identifier 'z' at t.stp:1:19",
        " source: probe begin { y = z; print(y) }",
        "                           ^",
        "semantic error: unresolved type : identifier 'y' at t.stp:1:15",
        "        source: probe begin { y = z; print(y) }",
        "                              ^",
        "",
        "",
      ].join("\n"),
    );
    expect(suppressedWarningsNote(state)).toBe("Number of similar error messages suppressed: 6.\nRerun with -v to see them.\n");
  });

  it("names the later use of a variable and where its type came from", () => {
    expect(errors('probe begin { x = 1; x = "a"; print(x) }')).toEqual(["type mismatch (string)", "type was first inferred here (long)"]);
  });

  it("formats a program as stap -p2 does", () => {
    const p = ok("global a\nfunction f(x) { l = x; return l }\nprobe foo = timer.s(1) { v = 1 }\nprobe foo { a[v] = f(v) }");
    expect(formatProgram(p)).toBe(
      [
        "# globals",
        "a:long [long]",
        "# functions",
        "f:long (x:long)",
        "  # locals",
        "  l:long",
        "# probes",
        "timer.s(1) /* <- foo = timer.s(1) <- foo */",
        "  # locals",
        "  v:long",
        "end /* <- end */",
        "  # locals",
        "  __idx0:long",
        "  __val:long",
        "",
      ].join("\n"),
    );
  });
});
