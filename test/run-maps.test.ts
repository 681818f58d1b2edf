// runtime/maps.ts: stap's array semantics (insertion order, stable sorts that
// reorder the array, overflow and wrap).

import { describe, expect, it } from "vitest";
import { Array1, ArrayN, compositeKey } from "../runtime/maps.js";
import { ScriptError } from "../runtime/errors.js";

const decl = (extra: Partial<ConstructorParameters<typeof Array1>[0]> = {}) => ({ name: "a", arity: 1, valueType: "long" as const, wrap: false, maxMapEntries: 3, ...extra });

describe("Array1", () => {
  it("keeps insertion order; an update keeps the entry's place", () => {
    const a = new Array1<number>(decl());
    a.set(3, 1, "n");
    a.set(1, 2, "n");
    a.set(3, 9, "n");
    expect(a.keys(undefined, 1, -1)).toEqual([3, 1]);
    expect(a.get(3)).toBe(9);
    expect(a.get(7)).toBe(0);
    expect(a.has(7)).toBe(false);
  });

  it("overflows with stap's message, naming a declared size", () => {
    const a = new Array1<number>(decl());
    for (const k of [1, 2, 3]) a.set(k, k, "near");
    expect(() => a.set(4, 4, "identifier 'a' at x.stp:1:1")).toThrow(new ScriptError("Array overflow, check MAXMAPENTRIES", "identifier 'a' at x.stp:1:1"));
    const b = new Array1<number>(decl({ size: 2 }));
    b.set(1, 1, "n");
    b.set(2, 2, "n");
    expect(() => b.set(3, 3, "n")).toThrow("Array overflow, check size limit (2)");
  });

  it("wraps: the oldest entry makes room", () => {
    const a = new Array1<number>(decl({ wrap: true }));
    for (const k of [1, 2, 3, 4, 5]) a.set(k, k, "n");
    expect(a.keys(undefined, 1, -1)).toEqual([3, 4, 5]);
  });

  it("sorts stably by value or key, and the sort persists", () => {
    const a = new Array1<number>(decl({ maxMapEntries: 10 }));
    a.set("d", 1, "n");
    a.set("b", 2, "n");
    a.set("c", 1, "n");
    a.set("a", 2, "n");
    expect(a.keys("value", 1, -1)).toEqual(["d", "c", "b", "a"]);
    expect(a.keys("value", -1, -1)).toEqual(["b", "a", "d", "c"]);
    expect(a.keys(undefined, 1, -1)).toEqual(["b", "a", "d", "c"]);
    expect(a.keys(0, 1, 2)).toEqual(["a", "b"]);
  });

  it("compares big and small longs exactly", () => {
    const a = new Array1<number | bigint>(decl({ maxMapEntries: 10 }));
    a.set(1, 9223372036854775807n, "n");
    a.set(2, -9223372036854775808n, "n");
    a.set(3, 0, "n");
    expect(a.keys("value", 1, -1)).toEqual([2, 3, 1]);
  });
});

describe("ArrayN", () => {
  it("keeps multi-key tuples apart and slices them", () => {
    const a = new ArrayN<number>({ ...decl({ maxMapEntries: 10 }), arity: 2 });
    const put = (k1: string, k2: string, v: number) => a.set(compositeKey([k1, k2]), [k1, k2], v, "n");
    put("a", "bc", 1);
    put("ab", "c", 2);
    expect(a.get(compositeKey(["a", "bc"]))).toBe(1);
    expect(a.get(compositeKey(["ab", "c"]))).toBe(2);
    expect(a.entries(undefined, 1, -1, [undefined, "c"]).map((e) => e.v)).toEqual([2]);
    expect(a.hasMatching(["a", undefined])).toBe(true);
    a.deleteMatching([undefined, "bc"]);
    expect(a.size).toBe(1);
  });
});
