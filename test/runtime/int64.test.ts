import { describe, expect, it } from "vitest";
import {
  DivisionByZero, add, band, bnot, bor, bxor, div, mod, mul, neg, norm, parseLiteral, shl, shr, sub, toUnsigned, ushr,
} from "../../runtime/int64.js";

const MAX = 9223372036854775807n;
const MIN = -9223372036854775808n;

describe("int64 arithmetic wraps like stap's 64-bit long", () => {
  it("stays on numbers while safe, and normalizes", () => {
    expect(add(1, 2)).toBe(3);
    expect(add(Number.MAX_SAFE_INTEGER, 1)).toBe(9007199254740992n);
    expect(sub(9007199254740992n, 1)).toBe(Number.MAX_SAFE_INTEGER);
    expect(norm(5n)).toBe(5);
    expect(Object.is(mul(-1, 0), 0)).toBe(true);
    expect(Object.is(neg(0), 0)).toBe(true);
    expect(Object.is(div(-1, 2), 0)).toBe(true);
  });
  it("wraps at 2^63", () => {
    expect(add(MAX, 1)).toBe(MIN);
    expect(sub(MIN, 1)).toBe(MAX);
    expect(mul(MAX, 2)).toBe(-2);
    expect(mul(4294967296, 4294967296)).toBe(0);
    expect(neg(MIN)).toBe(MIN);
  });
  it("divides and takes remainders like C (truncation, sign of the dividend)", () => {
    expect(div(7, 2)).toBe(3);
    expect(div(-7, 2)).toBe(-3);
    expect(mod(-7, 2)).toBe(-1);
    expect(mod(7, -2)).toBe(1);
    expect(div(MIN, -1)).toBe(MIN);
    expect(mod(MIN, -1)).toBe(0);
    expect(div(9007199254740991, 3)).toBe(3002399751580330);
    expect(() => div(1, 0)).toThrow(DivisionByZero);
    expect(() => mod(1, 0)).toThrow("division by 0");
  });
  it("bit operations on 64 bits", () => {
    expect(band(-1, 0xff)).toBe(255);
    expect(bor(0x100000000, 1)).toBe(0x100000001);
    expect(bxor(-1, MAX)).toBe(MIN);
    expect(bnot(0)).toBe(-1);
    expect(bnot(MAX)).toBe(MIN);
    expect(shl(1, 63)).toBe(MIN);
    expect(shl(1, 64)).toBe(1); // count mod 64, as x86 does
    expect(shl(3, 40)).toBe(3298534883328);
    expect(shr(-8, 1)).toBe(-4);
    expect(shr(MIN, 63)).toBe(-1);
    expect(ushr(-1, 60)).toBe(15);
    expect(toUnsigned(-1)).toBe(18446744073709551615n);
  });
  it("parses literals", () => {
    expect(parseLiteral("0")).toBe(0);
    expect(parseLiteral("0x10")).toBe(16);
    expect(parseLiteral("010")).toBe(8);
    expect(parseLiteral("9223372036854775808")).toBe(MIN);
    expect(parseLiteral("0xffffffffffffffff")).toBe(-1);
    expect(parseLiteral("12a")).toBeUndefined();
  });
});
