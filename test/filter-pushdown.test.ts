// Filter pushdown: condition ASTs in, exact tracefs filter texts out.
// Conditions are built by hand so this test needs no parser.

import { describe, expect, it } from "vitest";
import type { Expr, Pos, Stmt } from "../src/parse/ast.js";
import {
  combineFilters,
  instantiateFilter,
  pushdownCondition,
  pushdownProbe,
  TARGET_TOKEN,
  type FilterField,
  type PushdownContext,
} from "../src/translate/filter-pushdown.js";

const pos: Pos = { file: "t.stp", line: 1, col: 1, offset: 0 };
const num = (v: number | bigint): Expr => ({ kind: "number", value: BigInt(v), text: String(v), pos });
const str = (value: string): Expr => ({ kind: "string", value, pos });
const fld = (name: string): Expr => ({ kind: "target", name, steps: [], pretty: "", addressOf: false, pos });
const call = (name: string, tapset = false): Expr => ({
  kind: "call",
  name,
  args: [],
  pos,
  sym: tapset
    ? { kind: "function-group", overloads: [{ pos: { file: "/x/tapsets/context.stp" } }] }
    : { kind: "native", name, params: [], returnType: "long" },
});
const userCall = (name: string): Expr => ({
  kind: "call",
  name,
  args: [],
  pos,
  sym: { kind: "function-group", overloads: [{ pos: { file: "mine.stp" } }] },
});
const bin = (op: string, left: Expr, right: Expr): Expr => ({ kind: "binary", op, left, right, pos }) as Expr;
const and = (left: Expr, right: Expr): Expr => ({ kind: "logical", op: "&&", left, right, pos });
const or = (left: Expr, right: Expr): Expr => ({ kind: "logical", op: "||", left, right, pos });
const not = (operand: Expr): Expr => ({ kind: "unary", op: "!", operand, pos });
const neg = (operand: Expr): Expr => ({ kind: "unary", op: "-", operand, pos });
const group = (inner: Expr): Expr => ({ kind: "group", inner, pos });

const fields = new Map<string, FilterField>([
  ["prev_pid", { name: "prev_pid", kind: "int", size: 4, signed: true }],
  ["prev_state", { name: "prev_state", kind: "int", size: 8, signed: true }],
  ["prev_comm", { name: "prev_comm", kind: "string", size: 16, signed: false, arrayLen: 16 }],
  ["filename", { name: "filename", kind: "string", size: 4, signed: false }],
  ["flags", { name: "flags", kind: "int", size: 8, signed: false }],
  ["b", { name: "b", kind: "int", size: 1, signed: false }],
]);
const ctx: PushdownContext = { fields, maxStringLen: 128, hasTarget: true };
const push = (e: Expr, c: PushdownContext = ctx) => pushdownCondition(e, c);

describe("integer fields", () => {
  it("pushes comparisons with the field on the left", () => {
    expect(push(bin("==", fld("prev_pid"), num(5)))).toEqual({ filter: "prev_pid == 5", targetProcess: false, exact: true });
    expect(push(bin("<", num(5), fld("prev_pid")))?.filter).toBe("prev_pid > 5");
    expect(push(bin(">=", fld("prev_pid"), neg(num(3))))?.filter).toBe("prev_pid >= -3");
  });
  it("refuses constants outside the field's C type", () => {
    expect(push(bin("==", fld("prev_pid"), num(1n << 31n)))).toBeUndefined();
    expect(push(bin("==", fld("b"), num(256)))).toBeUndefined();
    expect(push(bin("==", fld("b"), neg(num(1))))).toBeUndefined();
    expect(push(bin("==", fld("b"), num(255)))?.filter).toBe("b == 255");
  });
  it("keeps unsigned 64-bit fields to equality (the script reads them signed)", () => {
    expect(push(bin("<", fld("flags"), num(3)))).toBeUndefined();
    expect(push(bin("!=", fld("flags"), num(3)))?.filter).toBe("flags != 3");
  });
  it("turns truth tests into != 0 and & predicates", () => {
    expect(push(fld("prev_pid"))?.filter).toBe("prev_pid != 0");
    expect(push(bin("&", fld("prev_state"), num(1)))?.filter).toBe("prev_state & 1");
  });
  it("refuses arithmetic and unknown fields", () => {
    expect(push(bin("==", bin("+", fld("prev_pid"), num(1)), num(5)))).toBeUndefined();
    expect(push(bin("==", fld("nope"), num(5)))).toBeUndefined();
    expect(push(bin("==", fld("prev_pid"), fld("prev_state")))).toBeUndefined();
  });
});

describe("strings", () => {
  it("pushes == and != with plain constants", () => {
    expect(push(bin("==", fld("prev_comm"), str("bash")))?.filter).toBe('prev_comm == "bash"');
    expect(push(bin("!=", str("sshd"), fld("filename")))?.filter).toBe('filename != "sshd"');
  });
  it("never writes quotes, backslashes, newlines or globs into a filter", () => {
    for (const evil of ['a" || prev_pid != "0', "a\\", "a\nb", "x*", "x?", "[ab]", "${target}", "a'b"]) {
      expect(push(bin("==", fld("prev_comm"), str(evil)))).toBeUndefined();
    }
  });
  it("refuses ordering and constants a char[N] cannot hold", () => {
    expect(push(bin("<", fld("prev_comm"), str("a")))).toBeUndefined();
    expect(push(bin("==", fld("prev_comm"), str("0123456789abcdef")))).toBeUndefined();
    expect(push(bin("==", fld("filename"), str("0123456789abcdef")))?.filter).toBe('filename == "0123456789abcdef"');
    expect(push(bin("==", fld("filename"), str("x".repeat(127))))).toBeUndefined();
  });
  it("refuses a string compared with an integer field", () => {
    expect(push(bin("==", fld("prev_pid"), str("5")))).toBeUndefined();
  });
});

describe("context functions", () => {
  it("maps tid() to common_pid and target() to the token", () => {
    expect(push(bin("==", call("tid"), num(42)))?.filter).toBe("common_pid == 42");
    expect(push(bin("==", call("tid"), call("target")))?.filter).toBe(`common_pid == ${TARGET_TOKEN}`);
    expect(push(bin("==", call("tid", true), num(1)))?.filter).toBe("common_pid == 1");
  });
  it("turns pid() == target() into a target-process selection", () => {
    expect(push(bin("==", call("pid"), call("target")))).toEqual({ targetProcess: true, exact: false });
    expect(push(bin("==", call("target"), call("pid")))).toEqual({ targetProcess: true, exact: false });
    expect(push(bin("!=", call("pid"), call("target")))).toBeUndefined();
    expect(push(bin("==", call("pid"), num(7)))).toBeUndefined();
  });
  it("ignores target() without -c/-x and a user's own pid()", () => {
    expect(push(bin("==", call("tid"), call("target")), { ...ctx, hasTarget: false })).toBeUndefined();
    expect(push(bin("==", userCall("tid"), num(1)))).toBeUndefined();
  });
});

describe("logic", () => {
  it("combines && and ||, parenthesized", () => {
    expect(push(and(bin("==", fld("prev_pid"), num(1)), bin("!=", fld("prev_comm"), str("x"))))?.filter).toBe(
      '(prev_pid == 1) && (prev_comm != "x")',
    );
    expect(push(or(bin("==", fld("prev_pid"), num(1)), bin("==", fld("prev_pid"), num(2))))?.filter).toBe(
      "(prev_pid == 1) || (prev_pid == 2)",
    );
  });
  it("pushes the pushable side of && as a superset", () => {
    const r = push(and(bin("==", fld("prev_pid"), num(1)), bin("==", userCall("f"), num(2))));
    expect(r).toEqual({ filter: "prev_pid == 1", targetProcess: false, exact: false });
    expect(push(and(bin("==", call("pid"), call("target")), bin(">", fld("prev_pid"), num(3))))).toEqual({
      filter: "prev_pid > 3",
      targetProcess: true,
      exact: false,
    });
  });
  it("needs both sides of || and an exact operand under !", () => {
    expect(push(or(bin("==", fld("prev_pid"), num(1)), bin("==", userCall("f"), num(2))))).toBeUndefined();
    expect(push(not(and(bin("==", fld("prev_pid"), num(1)), bin("==", userCall("f"), num(2)))))).toBeUndefined();
    expect(push(not(group(bin("==", fld("prev_pid"), num(1)))))?.filter).toBe("!(prev_pid == 1)");
    expect(push(or(bin("==", call("pid"), call("target")), bin("==", fld("prev_pid"), num(1))))).toBeUndefined();
  });
});

describe("several listeners on one event", () => {
  const a = push(bin("==", fld("prev_pid"), num(1)));
  const b = push(bin("==", fld("prev_pid"), num(2)));
  const t = push(bin("==", call("pid"), call("target")));
  it("or-s the filters, and a listener without one wins", () => {
    expect(combineFilters([a, b])).toEqual({ filter: "(prev_pid == 1) || (prev_pid == 2)", targetProcess: false, exact: false });
    expect(combineFilters([a, undefined])).toBeUndefined();
    expect(combineFilters([t, t])?.targetProcess).toBe(true);
    expect(combineFilters([t, a])).toBeUndefined();
  });
  it("instantiates the target pid", () => {
    expect(instantiateFilter(`common_pid == ${TARGET_TOKEN}`, 1234)).toBe("common_pid == 1234");
  });
});

describe("probe bodies", () => {
  const block = (...stmts: Stmt[]) => ({ kind: "block" as const, stmts, pos });
  const ifs = (cond: Expr, then: Stmt, els?: Stmt) =>
    ({ kind: "if" as const, cond, then, else: els, pos });
  const next = { kind: "next" as const, pos };
  const stmt = (e: Expr) => ({ kind: "expr" as const, expr: e, pos });
  const c1 = bin("==", fld("prev_pid"), num(1));
  it("pushes a leading if (cond) next as !cond", () => {
    expect(pushdownProbe({ body: block(ifs(c1, block(next)), stmt(num(1))) }, ctx)?.filter).toBe("!(prev_pid == 1)");
  });
  it("pushes a body that is exactly if (cond) STMT", () => {
    expect(pushdownProbe({ body: block(block(ifs(c1, stmt(num(1))))) }, ctx)?.filter).toBe("prev_pid == 1");
    expect(pushdownProbe({ body: block(ifs(c1, stmt(num(1))), stmt(num(2))) }, ctx)).toBeUndefined();
    expect(pushdownProbe({ body: block(ifs(c1, stmt(num(1)), stmt(num(2)))) }, ctx)).toBeUndefined();
  });
  it("ands the probe condition with the body's", () => {
    const r = pushdownProbe({ condition: bin("==", call("pid"), call("target")), body: block(ifs(c1, stmt(num(1)))) }, ctx);
    expect(r).toEqual({ filter: "prev_pid == 1", targetProcess: true, exact: false });
  });
});
