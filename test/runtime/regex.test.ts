import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { flags, limits, resetLimits } from "../../runtime/limits.js";
import {
  MatchError,
  OverloadError,
  RegexError,
  compileRegex,
  match,
  matched,
  matchedStr,
  ngroups,
  regexSteps,
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
  it("chain as stap's closures do", () => {
    expect(m("^a+?$", "")).toBe(true);
    expect(m("^(ab)*+$", "abab")).toBe(true);
    expect(m("^a{2}*$", "aaaa")).toBe(true);
    expect(m("^a{2}*$", "aaa")).toBe(false);
  });
});

// POSIX's subexpression rule, which JS's leftmost-first engine does not follow:
// the whole match is leftmost-longest, then each subexpression, in the order of
// its '(', is as long as it can be; a repeated one reports its last iteration.
describe("POSIX submatches (where JS differs)", () => {
  const groups = (pattern: string, subject: string): string[] => {
    expect(m(pattern, subject)).toBe(true);
    return Array.from({ length: ngroups() }, (_, i) => matched(i));
  };
  it("earlier subexpressions take the longest share", () => {
    expect(groups("(a|ab)(c|bcd)(d*)", "abcd")).toEqual(["abcd", "ab", "c", "d"]);
    expect(groups("(a|ab)(bc|c)", "abc")).toEqual(["abc", "ab", "c"]);
    expect(groups("(wee|week)(knights|night)", "weeknights")).toEqual(["weeknights", "wee", "knights"]);
    expect(groups("(a*)(ab)*(b*)", "abb")).toEqual(["abb", "a", "", "bb"]);
    expect(groups("(.*)(.*)", "ab")).toEqual(["ab", "ab", ""]);
    expect(groups("x*(a|ab)(b*)", "xab")).toEqual(["xab", "ab", ""]);
    // every subpattern counts, not only the parenthesized ones
    expect(groups("^([a-z]+) *= *(.*)$", "key = value")).toEqual(["key = value", "key", "value"]);
    expect(groups("a*(a*)", "aaa")).toEqual(["aaa", ""]);
    expect(groups("(a*)a*(a*)", "aaa")).toEqual(["aaa", "aaa", ""]);
    expect(groups("(a|ab)(c|bcd)(d*)", "abcd")).toEqual(["abcd", "ab", "c", "d"]);
  });
  it("a repeated subexpression reports its last iteration, the outer loop as long as it can", () => {
    expect(groups("(a+)+", "aaaa")).toEqual(["aaaa", "aaaa"]);
    expect(groups("(ab|cd)+", "xabcdab")).toEqual(["abcdab", "ab"]);
    expect(groups("([0-9]+)(,[0-9]+)*", "1,22,333")).toEqual(["1,22,333", "1", ",333"]);
  });
  it("the match is the leftmost, then the longest", () => {
    expect(groups("a*", "baaa")).toEqual([""]);
    expect(groups("a+|b+", "xbbaaa")).toEqual(["bb"]);
    expect(groups("(a|b)*c|(a|ab)*c", "abc")).toEqual(["abc", "b", ""]);
    expect(groups("(ab)?(abcd)?", "abcd")).toEqual(["abcd", "", "abcd"]);
  });
  it("anchors hold anywhere in the pattern", () => {
    expect(m("a^b", "ab")).toBe(false);
    expect(m("(^a|b)c$", "ac")).toBe(true);
    expect(m("(^a|b)c$", "xac")).toBe(false);
    expect(m("a$|b", "ab")).toBe(true);
    expect(matched(0)).toBe("b");
  });
  it("bracket expressions are sets of bytes, not JS classes", () => {
    expect(m("^[\\d]$", "d")).toBe(true);
    expect(m("^[\\d]$", "1")).toBe(false);
    expect(m("^[a\\-z]$", "-")).toBe(true);
    expect(m("^[.]$", "x")).toBe(false);
    expect(m("^[^a]$", "\n")).toBe(true);
    expect(m("^[[:alpha:][:digit:]]+$", "ab12")).toBe(true);
    expect(m("^[[:lower:]]$", "\xe9")).toBe(false);
    expect(m("^\\w$", "w")).toBe(true);
    expect(m("^\\w$", "a")).toBe(false);
  });
});

// Leftmost-longest by brute force over JS's engine on small random patterns
// (a, b, ., sets, groups, alternation, closures): is there a match, and the span.
describe("differential: leftmost-longest span", () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const atom = (depth: number): string => {
    switch (rand(depth > 2 ? 4 : 6)) {
      case 0: return "a";
      case 1: return "b";
      case 2: return ".";
      case 3: return ["[ab]", "[^a]", "[[:alpha:]]"][rand(3)];
      default: return "(" + alt(depth + 1) + ")";
    }
  };
  const piece = (depth: number): string => atom(depth) + ["", "", "*", "+", "?", "{1,2}"][rand(6)];
  const cat = (depth: number): string => Array.from({ length: 1 + rand(3) }, () => piece(depth)).join("");
  const alt = (depth: number): string => (rand(4) === 0 ? cat(depth) + "|" + cat(depth) : cat(depth));
  const subject = () => Array.from({ length: rand(7) }, () => "abc"[rand(3)]).join("");
  it("agrees on 3000 random cases", () => {
    for (let i = 0; i < 3000; i++) {
      const pattern = alt(0);
      const s = subject();
      const js = new RegExp("^(?:" + pattern.replace(/\[\[:alpha:\]\]/g, "[A-Za-z]") + ")$", "s");
      let want: string | undefined;
      for (let a = 0; a <= s.length && want === undefined; a++)
        for (let b = s.length; b >= a && want === undefined; b--) if (js.test(s.slice(a, b))) want = s.slice(a, b);
      expect([pattern, s, m(pattern, s)]).toEqual([pattern, s, want !== undefined]);
      if (want !== undefined) expect([pattern, s, matched(0)]).toEqual([pattern, s, want]);
    }
  });
});

// ReDoS patterns: the work (NFA steps) grows linearly with the subject.
describe("linear time", () => {
  const work = (pattern: string, subject: string): number => {
    const re = compileRegex(pattern);
    const before = regexSteps();
    const ok = match(re, subject);
    if (ok) for (let i = 0; i < re.ngroups; i++) matched(i);
    return regexSteps() - before;
  };
  const cases: [string, (n: number) => string][] = [
    ["^(a+)+$", (n) => "a".repeat(n) + "!"],
    ["^(a|a)*$", (n) => "a".repeat(n) + "!"],
    ["^(a|aa)+$", (n) => "a".repeat(n) + "b"],
    ["(x+x+)+y", (n) => "x".repeat(n)],
    ["^(.*a){12}$", (n) => "a".repeat(n)],
    ["^([a-z]+)*[0-9]$", (n) => "ab".repeat(n)],
    ["(a*)*b", (n) => "a".repeat(n)],
    ["^(a+)+$", (n) => "a".repeat(n)],
    ["(.*)(.*)(.*)x", (n) => "y".repeat(n) + "x"],
  ];
  for (const [pattern, subject] of cases)
    it(pattern, () => {
      const w1 = work(pattern, subject(2000));
      const w2 = work(pattern, subject(4000));
      expect(w2 / w1).toBeGreaterThan(1.8);
      expect(w2 / w1).toBeLessThan(2.2);
      expect(w1).toBeLessThan(2000 * 4 * compileRegex(pattern).program.length);
    });
  it("refuses automata too large", () => {
    expect(errorOf("(a{9999}){9999}").message).toBe("regex too large: more than 100000 automaton states");
  });
});

// stap charges a match no action (it is part of its statement); stap's
// overload check (STP_OVERLOAD) is what bounds long matches here.
describe("long matches end at stap's overload threshold", () => {
  afterEach(() => resetLimits());
  const groups = (n: number): string => "^(" + "(a?)".repeat(n) + ")$";

  it("a submatch run past the threshold throws (an uncatchable error: run case regex_match_overload)", () => {
    // the match itself is quick with the check lifted; matched(1) copies
    // some 2400 position slots per NFA step (7 s at 800 groups, 20 s at 1200)
    const re = compileRegex(groups(1200));
    flags.add("STP_NO_OVERLOAD");
    expect(match(re, "a".repeat(511))).toBe(true);
    flags.delete("STP_NO_OVERLOAD");
    limits.STP_OVERLOAD_THRESHOLD = 50_000_000;
    expect(() => matched(1)).toThrow(OverloadError);
    expect(() => matched(1)).toThrow(/^probe overhead exceeded threshold: matching regular expressions took more than STP_OVERLOAD_THRESHOLD \(50000000 ns\) within STP_OVERLOAD_INTERVAL \(1000000000 ns\)$/);
  });

  it("matches each under the threshold add up within the interval, as stap's cycles_sum", () => {
    const re = compileRegex("(a?){300}b");
    const s = "a".repeat(256);
    limits.STP_OVERLOAD_THRESHOLD = 100_000_000;
    let done = 0;
    expect(() => {
      for (; done < 10_000; done++) match(re, s);
    }).toThrow(OverloadError);
    // each match takes some 500,000 steps (a few ms): it is the sum that stopped them
    expect(done).toBeGreaterThan(0);
  });

  it("-DSTP_NO_OVERLOAD lifts the check", () => {
    limits.STP_OVERLOAD_THRESHOLD = 1;
    flags.add("STP_NO_OVERLOAD");
    try {
      expect(match(compileRegex("(a?){300}b"), "a".repeat(1024))).toBe(false);
    } finally {
      flags.delete("STP_NO_OVERLOAD");
    }
  });
});
