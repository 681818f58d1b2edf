import { describe, expect, it } from "vitest";
import { refusedInstruction } from "../../src/targets/uprobe-insn.js";

const bytes = (hex: string): Uint8Array => Buffer.from(hex.replace(/ /g, ""), "hex");

describe("refusedInstruction", () => {
  it("names the prefixes the kernel's x86-64 uprobes refuse (libc's entries that failed to arm on this kernel)", () => {
    expect(refusedInstruction(bytes("c5 f9 6e c6"))).toBe("a VEX prefix (an AVX instruction)"); // vmovd %esi,%xmm0
    expect(refusedInstruction(bytes("c4 41 01 ef"))).toBe("a VEX prefix (an AVX instruction)");
    expect(refusedInstruction(bytes("f0 ff 0f"))).toBe("a lock prefix"); // lock decl (%rdi)
    expect(refusedInstruction(bytes("66 f0 0f b1 0a"))).toBe("a lock prefix");
    expect(refusedInstruction(bytes("3e ff e0"))).toBe("a DS segment (notrack) prefix"); // notrack jmp *%rax
  });

  it("accepts the usual entries", () => {
    expect(refusedInstruction(bytes("f3 0f 1e fa"))).toBeUndefined(); // endbr64
    expect(refusedInstruction(bytes("55 48 89 e5"))).toBeUndefined(); // push %rbp
    expect(refusedInstruction(bytes("48 89 f8"))).toBeUndefined();
    expect(refusedInstruction(bytes("62 e1 fd 28 6f 06"))).toBeUndefined(); // EVEX: armed on this kernel
    expect(refusedInstruction(bytes("64 48 8b 04 25 28 00 00 00"))).toBeUndefined(); // %fs: load
  });
});
