import { afterEach, describe, expect, it } from "vitest";
import { lookupNative, natives, resetNativeState, type NativeValue } from "../../runtime/natives.js";
import { ScriptError } from "../../runtime/errors.js";
import { limits, resetLimits } from "../../runtime/limits.js";
import { clearEventTime, setEventTime } from "../../runtime/clock.js";
import { textStrRead } from "../../runtime/strings.js";

function call(name: string, ...args: NativeValue[]): NativeValue | undefined {
  const d = lookupNative(name, args.length);
  if (!d) throw new Error(`no native ${name}/${args.length}`);
  return d.fn(...args);
}

afterEach(() => {
  resetLimits();
  resetNativeState();
  clearEventTime();
});

describe("registry", () => {
  it("declares types and overloads by arity", () => {
    expect(lookupNative("substr", 3)?.params).toEqual(["string", "long", "long"]);
    expect(lookupNative("substr", 3)?.ret).toBe("string");
    expect(lookupNative("tokenize", 1)?.params).toEqual(["string"]);
    expect(lookupNative("tokenize", 2)?.params).toEqual(["string", "string"]);
    expect(lookupNative("substr", 2)).toBeUndefined();
    expect(lookupNative("toString", 0)).toBeUndefined();
    expect(lookupNative("strlen", 1)?.pure).toBe(true);
    expect(lookupNative("randint", 1)?.pure).toBe(false);
    for (const [name, defs] of Object.entries(natives)) {
      const arities = defs.map((d) => d.params.length);
      expect(new Set(arities).size, name).toBe(arities.length);
    }
  });
});

describe("tapset::string", () => {
  it("strlen counts bytes", () => {
    expect(call("strlen", "")).toBe(0);
    expect(call("strlen", "h\xc3\xa9")).toBe(3);
  });
  it("substr: start must be inside the string; length clamps", () => {
    expect(call("substr", "hello", 1, 3)).toBe("ell");
    expect(call("substr", "hello", 0, 100)).toBe("hello");
    expect(call("substr", "hello", 3, 100)).toBe("lo");
    expect(call("substr", "hello", 5, 1)).toBe("");
    expect(call("substr", "hello", -1, 2)).toBe("");
    expect(call("substr", "hello", 1, 0)).toBe("");
    expect(call("substr", "hello", 1, -5)).toBe("");
  });
  it("stringat: a signed char, error out of range", () => {
    expect(call("stringat", "abc", 1)).toBe(98);
    expect(call("stringat", "\xe9", 0)).toBe(-23);
    expect(() => call("stringat", "abc", 3)).toThrow(ScriptError);
    expect(() => call("stringat", "abc", -1)).toThrow("Position out of bounds");
  });
  it("isinstr and strpos", () => {
    expect(call("isinstr", "hello", "ll")).toBe(1);
    expect(call("isinstr", "hello", "x")).toBe(0);
    expect(call("isinstr", "hello", "")).toBe(1);
    expect(call("strpos", "hello", "l")).toBe(2);
    expect(call("strpos", "hello", "x")).toBe(-1);
    expect(call("strpos", "hello", "")).toBe(0);
  });
  it("str_replace replaces every occurrence; an empty search returns the input", () => {
    expect(call("str_replace", "a-b-c", "-", "+=")).toBe("a+=b+=c");
    expect(call("str_replace", "aaa", "aa", "b")).toBe("ba");
    expect(call("str_replace", "abc", "", "x")).toBe("abc");
    expect((call("str_replace", "x".repeat(300), "x", "yy") as string).length).toBe(511);
  });
  it("strtol follows the kernel's simple_strtol", () => {
    expect(call("strtol", "123", 10)).toBe(123);
    expect(call("strtol", "-123", 10)).toBe(-123);
    expect(call("strtol", "ff", 16)).toBe(255);
    expect(call("strtol", "0xff", 16)).toBe(255);
    expect(call("strtol", "0xff", 0)).toBe(255);
    expect(call("strtol", "0777", 0)).toBe(511);
    expect(call("strtol", "777", 8)).toBe(511);
    expect(call("strtol", "1010", 2)).toBe(10);
    expect(call("strtol", "12abc", 10)).toBe(12);
    expect(call("strtol", "abc", 10)).toBe(0);
    expect(call("strtol", " 12", 10)).toBe(0); // no whitespace skipping
    expect(call("strtol", "+12", 10)).toBe(0);
    expect(call("strtol", "0x", 0)).toBe(0);
    expect(call("strtol", "9223372036854775807", 10)).toBe(9223372036854775807n);
    expect(call("strtol", "18446744073709551615", 10)).toBe(-1); // wraps
  });
  it("isdigit looks at the first byte", () => {
    expect(call("isdigit", "7x")).toBe(1);
    expect(call("isdigit", "x7")).toBe(0);
    expect(call("isdigit", "")).toBe(0);
  });
  it("text_str escapes like C; UTF-8 as \\uXXXX", () => {
    expect(call("text_str", "a\tb\n\"q\"\\")).toBe('a\\tb\\n\\"q\\"\\\\');
    expect(call("text_str", "\x01\x7f\xff")).toBe("\\001\\177\\377");
    expect(call("text_str", "caf\xc3\xa9")).toBe("caf\\u00E9");
    expect(call("text_str", "\xf0\x9f\x98\x80")).toBe("\\U0001F600");
    expect(call("text_str", "\xc3(")).toBe("\\303(");
    expect(call("text_str", "'")).toBe("'");
  });
  it("string_quoted wraps in quotes", () => {
    expect(call("string_quoted", "ab\"c")).toBe('"ab\\"c"');
    expect(call("string_quoted", "")).toBe('""');
    // 511 printable bytes: 509 fit between the quotes, so it is cut with "...
    const r = call("string_quoted", "x".repeat(600)) as string;
    expect(r).toBe('"' + "x".repeat(506) + '"...');
    expect(r.length).toBe(511);
  });
  it("text_strn: len bounds the output, quotes and the \"... marker included", () => {
    expect(call("text_strn", "hello world", 5, 0)).toBe("hello");
    expect(call("text_strn", "hello world", 0, 0)).toBe("hello world");
    expect(call("text_strn", "hello world", 10, 1)).toBe('"hello"...');
    expect(call("text_strn", "hello world", 5, 1)).toBe('""...');
    expect(call("text_strn", "hello", 7, 1)).toBe('"hello"');
    expect(call("text_strn", "hello!", 7, 1)).toBe('"he"...');
    expect(call("text_strn", "abcd\n\nxyz", 9, 1)).toBe('"abcd"...');
    // an escape sequence is never cut in half: '"abc\\n\\n' would be cut inside the
    // first "\\n", so the whole sequence goes
    expect(call("text_strn", "abc\n\nxyz", 9, 1)).toBe('"abc"...');
    expect(call("text_strn", "a\nb", 2, 0)).toBe("a");
  });
  it("results are bounded by MAXSTRINGLEN", () => {
    limits.MAXSTRINGLEN = 6;
    expect(call("text_str", "abcdefgh")).toBe("abcde");
    expect(call("substr", "abcdefgh", 0, 100)).toBe("abcde");
  });
});

// user_buffer_quoted's escaper: stap's _stp_text_str with buffer=1 (runtime/stp_string.c)
describe("textStrRead, buffer mode", () => {
  it("keeps NULs as \\0, counting 4 bytes of outlen as stap does", () => {
    expect(textStrRead("a\0b", 3, 0, true, true)).toEqual({ out: '"a\\0b"', read: 3 });
    expect(textStrRead("\0abc", 4, 7, true, true)).toEqual({ out: '""...', read: 3 });
  });
  it("gives no \"... when the byte that did not fit is a NUL", () => {
    expect(textStrRead("abc\0", 4, 5, true, true)).toEqual({ out: '"abc"', read: 4 });
    expect(textStrRead("abcd", 4, 5, true, true)).toEqual({ out: '""...', read: 4 });
  });
  it("reads the continuation bytes it examined: a bad one counts", () => {
    expect(textStrRead("\xc3\xa9", 2, 0, true, true)).toEqual({ out: '"\\u00E9"', read: 2 });
    expect(textStrRead("\xe2\x41", 2, 0, true, true)).toEqual({ out: '"\\342A"', read: 2 });
    expect(textStrRead("\xe2\x41", 2, 0, true, false).read).toBe(2);
  });
});

describe("tokenize", () => {
  it("walks tokens, skipping empty ones, then returns empty", () => {
    expect(call("tokenize", "a,,b;c", ",;")).toBe("a");
    expect(call("tokenize", "", ",;")).toBe("b");
    expect(call("tokenize", ",;")).toBe("c");
    expect(call("tokenize", ",;")).toBe("");
    expect(call("tokenize", ",;")).toBe("");
  });
  it("a new non-empty input restarts; no delimiter found returns the rest", () => {
    expect(call("tokenize", "one two", " ")).toBe("one");
    expect(call("tokenize", "x y", "")).toBe("x y");
    expect(call("tokenize", "")).toBe("");
    expect(call("tokenize", ",,,", ",")).toBe("");
  });
  it("before any input there is nothing", () => {
    expect(call("tokenize", " ")).toBe("");
  });
});

describe("regex natives", () => {
  it("matched/ngroups go through runtime/regex.ts state", async () => {
    const re = await import("../../runtime/regex.js");
    re.match(re.compileRegex("(b+)"), "abbc");
    expect(call("matched", 1)).toBe("bb");
    expect(call("matched_str")).toBe("bb");
    expect(call("ngroups")).toBe(2);
    resetNativeState();
    expect(() => call("ngroups")).toThrow("Attempted to get subexpression count from failed match");
  });
});

describe("randint", () => {
  it("stays in [0, n) and refuses ranges over 2^20", () => {
    for (let i = 0; i < 200; i++) {
      const v = call("randint", 10) as number;
      expect(v >= 0 && v < 10).toBe(true);
    }
    expect(call("randint", 1)).toBe(0);
    expect(() => call("randint", 1048577)).toThrow("range too wide");
    expect(() => call("randint", -1)).toThrow("range too wide");
  });
});

describe("time", () => {
  it("answers for the event time when one is set", () => {
    setEventTime({ realtimeNs: 1700000000123456789n, monotonicNs: 5000123456789n });
    expect(call("gettimeofday_ns")).toBe(1700000000123456789n);
    expect(call("gettimeofday_us")).toBe(1700000000123456);
    expect(call("gettimeofday_ms")).toBe(1700000000123);
    expect(call("gettimeofday_s")).toBe(1700000000);
    expect(call("local_clock_ns")).toBe(5000123456789);
    expect(call("local_clock_us")).toBe(5000123456);
    expect(call("local_clock_ms")).toBe(5000123);
    expect(call("local_clock_s")).toBe(5000);
    expect(call("cpu_clock_ms", 1)).toBe(5000123);
    expect(call("ctime")).toBe("Tue Nov 14 22:13:20 2023");
  });
  it("defaults to now", () => {
    const s = call("gettimeofday_s") as number;
    expect(Math.abs(s - Math.floor(Date.now() / 1000))).toBeLessThanOrEqual(1);
    const a = call("local_clock_ns") as number;
    const b = call("local_clock_ns") as number;
    expect(b >= a).toBe(true);
  });
  it("ctime is GMT, 24 characters, within 32-bit seconds", () => {
    expect(call("ctime", 0)).toBe("Thu Jan  1 00:00:00 1970");
    expect(call("ctime", -2147483648)).toBe("Fri Dec 13 20:45:52 1901");
    expect(call("ctime", 2147483647)).toBe("Tue Jan 19 03:14:07 2038");
    expect(call("ctime", 741476948)).toBe("Wed Jun 30 21:49:08 1993");
    expect(() => call("ctime", 2147483648)).toThrow("Time too far in the future to be converted");
    expect(() => call("ctime", -2147483649)).toThrow("Time too far in the past to be converted");
  });
});

describe("errno", () => {
  it("names Linux errno values, either sign", () => {
    expect(call("errno_str", 2)).toBe("ENOENT");
    expect(call("errno_str", -2)).toBe("ENOENT");
    expect(call("errno_str", 11)).toBe("EAGAIN");
    expect(call("errno_str", 35)).toBe("EDEADLK");
    expect(call("errno_str", 95)).toBe("EOPNOTSUPP");
    expect(call("errno_str", 110)).toBe("ETIMEDOUT");
    expect(call("errno_str", 131)).toBe("ENOTRECOVERABLE");
    expect(call("errno_str", 41)).toBe(""); // EWOULDBLOCK's slot: an alias, not in the table
    expect(call("errno_str", 132)).toBe("");
    expect(call("errno_str", 0)).toBe("");
    expect(call("errno_p", -13)).toBe(13);
    expect(call("errno_p", 3333)).toBe(0);
  });
});

describe("kernel memory", () => {
  it("is refused with the address", () => {
    expect(() => call("kernel_string", 0xffff8880)).toThrow(/^cannot read kernel memory at 0xffff8880 in kernel_string\(\)/);
    expect(() => call("kernel_long", -1)).toThrow(/0xffffffffffffffff in kernel_long/);
  });
});
