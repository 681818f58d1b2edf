import { beforeEach, describe, expect, it } from "vitest";
import {
  MatchError,
  RegexError,
  compileRegex,
  match,
  matched,
  matchedStr,
  ngroups,
  resetMatch,
} from "../../runtime/regex.js";

const m = (pattern: string, subject: string) => match(compileRegex(pattern), subject);

function errorOf(pattern: string): { message: string; offset: number } {
  try {
    compileRegex(pattern);
  } catch (e) {
    if (e instanceof RegexError) return { message: e.message, offset: e.offset };
    throw e;
  }
  throw new Error(`no error for ${pattern}`);
}

beforeEach(() => resetMatch());

describe("matching", () => {
  it("searches anywhere unless anchored", () => {
    expect(m("foo", "a foo b")).toBe(true);
    expect(m("^foo", "a foo")).toBe(false);
    expect(m("^foo", "foo")).toBe(true);
    expect(m("foo$", "foo bar")).toBe(false);
    expect(m("bar$", "foo bar")).toBe(true);
    expect(m("^$", "")).toBe(true);
    expect(m("", "anything")).toBe(true);
  });
  it("`.` matches any byte, newline included", () => {
    expect(m("^a.b$", "a\nb")).toBe(true);
    expect(m("^a.b$", "a\xffb")).toBe(true);
    expect(m("^.$", "")).toBe(false);
  });
  it("alternation, grouping, closures, intervals", () => {
    expect(m("^(ab|cd)+$", "abcdab")).toBe(true);
    expect(m("^(ab|cd)+$", "abc")).toBe(false);
    expect(m("^a?b*c+$", "bbc")).toBe(true);
    expect(m("^a{2}$", "aa")).toBe(true);
    expect(m("^a{2}$", "aaa")).toBe(false);
    expect(m("^a{2,}$", "aaaa")).toBe(true);
    expect(m("^a{1,2}$", "aaa")).toBe(false);
    expect(m("^(a|)$", "")).toBe(true);
    expect(m("^a**$", "aaa")).toBe(true);
  });
  it("bracket expressions and POSIX classes", () => {
    expect(m("^[[:alpha:]_][[:alnum:]_]*$", "sys_read2")).toBe(true);
    expect(m("^[[:alpha:]_][[:alnum:]_]*$", "2read")).toBe(false);
    expect(m("^[[:digit:]]+$", "0123")).toBe(true);
    expect(m("^[[:xdigit:]]+$", "DEADbeef")).toBe(true);
    expect(m("^[[:space:]]+$", " \t\n\r\v\f")).toBe(true);
    expect(m("^[[:upper:]][[:lower:]]+$", "Hello")).toBe(true);
    expect(m("^[[:punct:]]+$", "!-]")).toBe(true);
    expect(m("^[]a]+$", "]a]")).toBe(true);
    expect(m("^[^]a]+$", "xyz")).toBe(true);
    expect(m("^[^]a]+$", "x]")).toBe(false);
    expect(m("^[a-c-]+$", "a-c")).toBe(true);
    expect(m("^[^a-z]$", "A")).toBe(true);
    expect(m("^[\\]]$", "]")).toBe(true);
  });
  it("escapes: C escapes, hex, octal, and any other char as itself", () => {
    expect(m("^a\\.b$", "a.b")).toBe(true);
    expect(m("^a\\.b$", "axb")).toBe(false);
    expect(m("^\\d$", "d")).toBe(true); // not a digit class in stap
    expect(m("^\\t\\n$", "\t\n")).toBe(true);
    expect(m("^\\x41\\101$", "AA")).toBe(true);
    expect(m("^\\($", "(")).toBe(true);
    expect(m("^\\*+$", "**")).toBe(true);
  });
});

describe("matched() and ngroups()", () => {
  it("returns the whole match and each subexpression", () => {
    expect(m("([a-z]+)=([0-9]+)", "x: key=42;")).toBe(true);
    expect(matched(0)).toBe("key=42");
    expect(matchedStr()).toBe("key=42");
    expect(matched(1)).toBe("key");
    expect(matched(2)).toBe("42");
    expect(ngroups()).toBe(3);
  });
  it("an unmatched subexpression is empty, and still counts", () => {
    expect(m("a|(b)", "a")).toBe(true);
    expect(ngroups()).toBe(2);
    expect(matched(1)).toBe("");
  });
  it("the whole match is the leftmost-longest one (POSIX), not JS's leftmost-first", () => {
    expect(m("foo|foobar", "xfoobarx")).toBe(true);
    expect(matched(0)).toBe("foobar");
    expect(m("(ab)?(abcd)?", "abcd")).toBe(true);
    expect(matched(0)).toBe("abcd");
    expect(matched(1)).toBe("");
    expect(matched(2)).toBe("abcd");
    expect(m("(a|ab)(c|bcd)", "abcd")).toBe(true);
    expect(matched(0)).toBe("abcd");
  });
  it("errors like the tapset", () => {
    expect(m("x", "y")).toBe(false);
    expect(() => matched(0)).toThrow(MatchError);
    expect(() => matched(0)).toThrow("Attempted to get subexpression 0 from failed match");
    expect(() => ngroups()).toThrow("Attempted to get subexpression count from failed match");
    expect(m("(x)", "x")).toBe(true);
    expect(() => matched(2)).toThrow("Attempted to get nonexistent subexpression 2");
  });
});

describe("compile errors (stapregex's messages, offset into the pattern)", () => {
  it("rejects bad patterns", () => {
    expect(errorOf("*a")).toEqual({ message: "unexpected '*'", offset: 0 });
    expect(errorOf("a|+")).toEqual({ message: "unexpected '+'", offset: 2 });
    expect(errorOf("(a")).toEqual({ message: "expected ), found end of regex", offset: 2 });
    expect(errorOf("a)")).toEqual({ message: "unbalanced ')'", offset: 1 });
    expect(errorOf("^*")).toEqual({ message: "postfix closure '*' applied to anchoring operator", offset: 1 });
    expect(errorOf("[a-")).toEqual({ message: "unclosed character class", offset: 0 });
    expect(errorOf("[[:foo:]]").message).toBe("unknown character class 'foo'");
    expect(errorOf("a{x}").message).toBe("expected number");
    expect(errorOf("a{1").message).toBe("expected ',' or '}'");
    expect(errorOf("a{12345}").message).toBe("12345 is too large");
    expect(errorOf("\\x4").message).toBe("two hex digits required in escape sequence");
    expect(errorOf("\\4").message).toBe("octal escape sequence out of range");
    expect(errorOf("a\\").message).toBe("unexpected end of regex");
  });
});

describe("closure chains", () => {
  it("collapse to one JS quantifier", () => {
    expect(compileRegex("a**").js).toBe("\\x61*");
    expect(compileRegex("a+?").js).toBe("\\x61*");
    expect(compileRegex("a++").js).toBe("\\x61+");
    expect(compileRegex("a{2}*").js).toBe("(?:\\x61{2})*");
    expect(m("^a+?$", "")).toBe(true);
    expect(m("^(ab)*+$", "abab")).toBe(true);
  });
});
