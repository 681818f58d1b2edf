// `$var$` and `$$vars$` print a tracepoint field as stap's pretty-printer
// prints a value of its C type: %i, %u, a quoted string, an array's first element.

import { describe, expect, it } from "vitest";
import { lookupContextNative } from "../../runtime/context-kernel.js";

describe("pretty-printed fields", () => {
  it("prints longs by the sign of their C type", () => {
    const p = lookupContextNative("__kernel_pretty_long", 2)!;
    expect(p.fn(-1, "i")).toBe("-1");
    expect(p.fn(-1, "u")).toBe("18446744073709551615");
    expect(p.fn(-(2n ** 63n), "u")).toBe("9223372036854775808");
    expect(p.fn(42, "u")).toBe("42");
  });
});
