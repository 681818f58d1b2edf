import { describe, expect, it } from "vitest";
import {
  FormatError,
  FormatRuntimeError,
  compileFormat,
  formatDelimited,
  formatValue,
  formatWith,
  printfString,
  sprintf,
  type Value,
} from "../../runtime/printf.js";
import { limits, resetLimits } from "../../runtime/limits.js";

const f = (fmt: string, ...args: Value[]) => sprintf(fmt, args);
/** what printf writes (bytes, NULs included); sprintf's string ends at its first NUL */
const p = (fmt: string, ...args: Value[]) => printfString(fmt, args);
const MIN = -9223372036854775808n;

describe("compileFormat", () => {
  it("lists the argument kinds, a `*` taking a long before its conversion", () => {
    expect(compileFormat("%d %s %x %c %p %b %u %o %X %i").argKinds).toEqual([
      "long", "string", "long", "long", "long", "long", "long", "long", "long", "long",
    ]);
    expect(compileFormat("%*.*d|%-*s|%m|%.*M").argKinds).toEqual([
      "long", "long", "long", "long", "string", "any", "long", "any",
    ]);
    expect(compileFormat("no conversions %% here").argKinds).toEqual([]);
  });

  it("rejects what stap rejects, with its messages and the offset of the '%'", () => {
    const bad: Array<[string, string, number]> = [
      ["%lld", "invalid or missing conversion specifier", 0],
      ["%hd", "invalid or missing conversion specifier", 0],
      ["ab%z", "invalid or missing conversion specifier", 2],
      ["%-#x", "invalid or missing conversion specifier", 0],
      ["%f", "invalid or missing conversion specifier", 0],
      ["x %5", "trailing incomplete print format conversion", 2],
      ["%-", "trailing incomplete print format conversion", 0],
      ["%5.", "trailing incomplete print format conversion", 0],
    ];
    for (const [fmt, msg, off] of bad) {
      let err: unknown;
      try {
        compileFormat(fmt);
      } catch (e) {
        err = e;
      }
      expect(err, fmt).toBeInstanceOf(FormatError);
      expect((err as FormatError).message, fmt).toBe(msg);
      expect((err as FormatError).offset, fmt).toBe(off);
    }
  });

  it("accepts and ignores one l length modifier", () => {
    expect(f("%ld|%lx|%ls", -1, 255, "s")).toBe("-1|ff|s");
  });

  it("drops a cut-off conversion that set nothing, as stap's parser does", () => {
    expect(f("ab%.")).toBe("ab");
    expect(f("ab%l")).toBe("ab");
  });

  it("keeps literals, %% and a trailing lone %", () => {
    expect(f("100%%")).toBe("100%");
    expect(f("100%")).toBe("100%");
    expect(f("a%%b%%%d", 1)).toBe("a%b%1");
  });
});

describe("integers", () => {
  it("%d %i with width, flags and precision", () => {
    expect(f("%d", 42)).toBe("42");
    expect(f("%i", -42)).toBe("-42");
    expect(f("[%5d]", 42)).toBe("[   42]");
    expect(f("[%-5d]", 42)).toBe("[42   ]");
    expect(f("[%05d]", -42)).toBe("[-0042]");
    expect(f("[%+d]", 5)).toBe("[+5]");
    expect(f("[%+d]", -5)).toBe("[-5]");
    expect(f("[% d]", 5)).toBe("[ 5]");
    expect(f("[%.3d]", 5)).toBe("[005]");
    expect(f("[%8.3d]", -5)).toBe("[    -005]");
    // stap's number(): the 0 flag still pads with zeros when a precision is given
    expect(f("[%08.3d]", 5)).toBe("[00000005]");
    // only one flag: "%-08d" is flag '-' with width 8
    expect(f("[%-08d]", 5)).toBe("[5       ]");
    expect(f("%d", 0)).toBe("0");
    expect(f("%d", MIN)).toBe("-9223372036854775808");
    expect(f("%d", 9223372036854775807n)).toBe("9223372036854775807");
  });

  it("%u %x %X %o use the unsigned 64-bit view", () => {
    expect(f("%u", -1)).toBe("18446744073709551615");
    expect(f("%x", -1)).toBe("ffffffffffffffff");
    expect(f("%X", 255)).toBe("FF");
    expect(f("%o", 8)).toBe("10");
    expect(f("%o", -1)).toBe("1777777777777777777777");
    expect(f("%x", MIN)).toBe("8000000000000000");
    expect(f("%+u", 5)).toBe("5"); // '+' only applies to signed conversions
  });

  it("# gives 0x / 0X / 0 prefixes, even for zero (kernel-style)", () => {
    expect(f("%#x", 255)).toBe("0xff");
    expect(f("%#X", 255)).toBe("0XFF");
    expect(f("%#x", 0)).toBe("0x0");
    expect(f("%#o", 8)).toBe("010");
    expect(f("%#o", 0)).toBe("00");
    expect(f("[%#8x]", 255)).toBe("[    0xff]");
  });

  it("%p is %#x on the 64-bit value", () => {
    expect(f("%p", 0x1234)).toBe("0x1234");
    expect(f("%p", 0)).toBe("0x0");
    expect(f("%p", -1)).toBe("0xffffffffffffffff");
    expect(f("[%10p]", 0x1234)).toBe("[    0x1234]");
    expect(f("[%-10p]", 0x1234)).toBe("[0x1234    ]");
  });

  it("* width and precision come from the arguments; a negative width left-justifies (as in C and stap)", () => {
    expect(f("[%*d]", 6, 42)).toBe("[    42]");
    expect(f("[%*d]", -6, 42)).toBe("[42    ]");
    expect(f("[%-*d]", 6, 42)).toBe("[42    ]");
    expect(f("[%.*d]", 4, 7)).toBe("[0007]");
    expect(f("[%*.*d]", 6, 4, 7)).toBe("[  0007]");
  });
});

describe("strings", () => {
  it("%s with width and precision", () => {
    expect(f("%s", "hello")).toBe("hello");
    expect(f("[%8s]", "hello")).toBe("[   hello]");
    expect(f("[%-8s]", "hello")).toBe("[hello   ]");
    expect(f("[%.2s]", "hello")).toBe("[he]");
    expect(f("[%6.2s]", "hello")).toBe("[    he]");
    expect(f("[%*s]", -4, "ab")).toBe("[ab  ]");
    expect(f("[%.0s]", "hello")).toBe("[]");
    expect(f("[%.*s]", 0, "hello")).toBe("[]");
    expect(f("[%.*s]", -3, "hello")).toBe("[]");
  });

  it("the 0 flag on %s appends a NUL byte, as stap's runtime does", () => {
    expect(p("[%05s]", "ab")).toBe("[   ab\0]");
    expect(f("[%05s]", "ab")).toBe("[   ab");
  });

  it("bytes pass through unchanged", () => {
    expect(f("%s", "\xe9\xff")).toBe("\xe9\xff");
  });
});

describe("%c", () => {
  it("prints the low byte, padded with spaces", () => {
    expect(f("%c", 65)).toBe("A");
    expect(f("%c", 0x141)).toBe("A");
    expect(f("[%3c]", 65)).toBe("[  A]");
    expect(f("[%-3c]", 65)).toBe("[A  ]");
    expect(f("[%03c]", 65)).toBe("[  A]");
    expect(p("%c", 0)).toBe("\0");
    expect(f("x%cy", 0)).toBe("x");
  });
  it("%#c escapes like C", () => {
    expect(f("%#c", 10)).toBe("\\n");
    expect(f("%#c", 9)).toBe("\\t");
    expect(f("%#c", 39)).toBe("\\'");
    expect(f("%#c", 92)).toBe("\\\\");
    expect(f("%#c", 1)).toBe("\\001");
    expect(f("%#c", 0xff)).toBe("\\377");
    expect(f("%#c", 34)).toBe('"');
    expect(f("%#c", 65)).toBe("A");
  });
});

describe("%b", () => {
  it("writes little-endian bytes: 8 by default, else the width or precision (1/2/4/8)", () => {
    expect(p("%b", 0x0102)).toBe("\x02\x01\0\0\0\0\0\0");
    expect(p("%1b", 0x41)).toBe("A");
    expect(p("%2b", 0x4142)).toBe("BA");
    expect(p("%4b", -1)).toBe("\xff\xff\xff\xff");
    expect(p("%.2b", 0x4142)).toBe("BA");
    expect(p("%4.2b", 0x4142)).toBe("\0\0BA");
    expect(p("%-4.2b", 0x4142)).toBe("BA\0\0");
    // a width that is not a byte count keeps 8 bytes
    expect(p("%3b", 0x41)).toBe("A\0\0\0\0\0\0\0");
    expect(p("%b", MIN)).toBe("\0\0\0\0\0\0\0\x80");
  });
});

describe("%m and %M", () => {
  it("read the bytes of a string argument, precision = length (default 1)", () => {
    expect(f("%m", "hello")).toBe("h");
    expect(f("%.3m", "hello")).toBe("hel");
    expect(f("[%5.3m]", "hello")).toBe("[  hel]");
    expect(f("%.2M", "AB")).toBe("4142");
    expect(f("[%-6.2M]", "AB")).toBe("[4142  ]");
    expect(f("%.4M", "\x01\xff")).toBe("01ff0000");
  });
  it("refuse an address: there is no kernel memory to read", () => {
    expect(() => f("%m", 0xffff8000)).toThrow(FormatRuntimeError);
    expect(() => f("%.4M", 0x1000)).toThrow(/^cannot read kernel memory at 0x1000/);
  });
});

describe("bounds", () => {
  it("sprintf results are cut to MAXSTRINGLEN-1 bytes", () => {
    expect(f("%s", "x".repeat(600)).length).toBe(511);
    expect(f("%s%s", "x".repeat(300), "y".repeat(300)).length).toBe(511);
    try {
      limits.MAXSTRINGLEN = 8;
      expect(f("%d", 123456789)).toBe("1234567");
    } finally {
      resetLimits();
    }
  });
  it("printf output is bounded by STP_BUFFER_SIZE only", () => {
    expect(printfString("%s", ["x".repeat(600)]).length).toBe(600);
    expect(formatWith(compileFormat("%s%s"), ["x".repeat(5000), "y".repeat(5000)]).length).toBe(8192);
  });
});

describe("print helpers", () => {
  it("formatValue and formatDelimited", () => {
    expect(formatValue(-5)).toBe("-5");
    expect(formatValue(MIN)).toBe("-9223372036854775808");
    expect(formatValue("s")).toBe("s");
    expect(formatDelimited(", ", [1, "a", -2])).toBe("1, a, -2");
    expect(formatDelimited(",", [])).toBe("");
  });
});
