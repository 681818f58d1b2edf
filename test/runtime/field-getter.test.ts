// The per-format field getter (runtime/events/access-code.ts) is JavaScript
// generated from a format file's text: names in it must stay data, never code.

import { describe, expect, it } from "vitest";
import { compileFieldGetter, fieldGetterSource } from "../../runtime/events/access-code.js";
import { parseTracepointFormat } from "../../runtime/events/format.js";
import { EventView } from "../../runtime/events/view.js";

const FORMAT = `name: x
ID: 77
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:long a;\toffset:8;\tsize:8;\tsigned:1;
`;

describe("a format's field getter", () => {
  it("keeps an event's and a field's names out of the code", () => {
    const fmt = parseTracepointFormat("sys\nthrow 1; //", "ev*/ throw 2; /*", FORMAT);
    const src = fieldGetterSource(fmt);
    // the names stay inside the one comment line, made harmless
    const comment = src.split("\n").filter((l) => l.includes("throw"));
    expect(comment).toEqual(["// the fields of sys?throw?1????:ev???throw?2???? (id 77)"]);
    const get = compileFieldGetter(fmt);
    const page = Buffer.alloc(16);
    page.writeInt32LE(4242, 4);
    page.writeBigInt64LE(-5n, 8);
    const v = new EventView();
    v.setPage(page);
    v.len = 16;
    expect(Number(get(v, "common_pid"))).toBe(4242);
    expect(get(v, "a")).toBe(-5);
    expect(get(v, "no such field")).toBeUndefined();
  });
});
