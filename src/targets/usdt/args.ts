// USDT (sys/sdt.h) argument strings for x86-64, parsed into typed operands and the tracefs fetch argument each needs.
//
// The forms (sdt.h v3, AT&T syntax): `SIZE@OPERAND`, SIZE = 1|2|4|8, negative
// for signed, `f` suffix for floating point (`8f@%xmm0`); OPERAND =
//   %reg                        a register of any width (%rax %eax %ax %al %ah %r8 %r8d %r8w %r8b ...)
//   $N                          a constant
//   [DISP](BASE[,INDEX[,SCALE]]) memory; DISP a number or SYMBOL[+-N]
//   SYMBOL[+-N](%rip)           rip-relative memory (a variable)
//   DISP or SYMBOL[+-N]         absolute memory (non-PIE)
// Older notes (v1/v2) have no `SIZE@`: the value is a signed long.

/** The register names tracefs uses on x86-64 (the kernel's regs_query_register_offset table). */
export type TracefsRegister = "ax" | "bx" | "cx" | "dx" | "si" | "di" | "bp" | "sp" | "r8" | "r9" | "r10" | "r11" | "r12" | "r13" | "r14" | "r15" | "ip" | "flags";

export interface RegisterRef {
  /** the 64-bit register, by its tracefs name */
  reg: TracefsRegister;
  /** how many bytes of it the operand names: 8 (%rax), 4 (%eax), 2 (%ax), 1 (%al, %ah) */
  width: 1 | 2 | 4 | 8;
  /** bits 8-15 (%ah %bh %ch %dh) */
  high8: boolean;
}

export type UsdtOperand =
  | { kind: "register"; register: RegisterRef }
  | { kind: "constant"; value: bigint }
  /** memory at base + index*scale + disp (+ symbol's address) */
  | { kind: "memory"; base?: RegisterRef; index?: RegisterRef; scale: number; disp: number; symbol?: string; segment?: string }
  /** memory at symbol + disp, written rip-relative */
  | { kind: "rip"; disp: number; symbol?: string }
  /** a floating-point/vector register (%xmm0, %st) */
  | { kind: "fpregister"; name: string };

export interface UsdtArg {
  /** the note's text for this argument (`-4@-20(%rbp)`) */
  text: string;
  /** the value's size in bytes (8 when the note gives none) */
  size: 1 | 2 | 4 | 8;
  signed: boolean;
  float: boolean;
  operand: UsdtOperand;
  /**
   * The tracefs fetch argument that reads the value at the probe,
   * without its type: `%bx`, `+16(%bx)`, `\42`, `@+0x8859aa`. Undefined
   * when tracefs cannot fetch it (then `unsupported` says why).
   */
  fetch?: string;
  /**
   * The tracefs type for `fetch`: `s32`, `u64`, ..., or a bitfield
   * (`b8@8/64` for %ah-style registers; the consumer sign-extends 8 bits
   * when `signed`).
   */
  type?: string;
  /** why tracefs cannot fetch this argument (index register, floating point, unknown symbol...) */
  unsupported?: string;
}

/** Where a marker is: what rip-relative and symbolic operands need to become fetch arguments. */
export interface ArgContext {
  /** the marker's address (vaddr) */
  pc: number;
  /** the marker's file offset (what the uprobe is placed at) */
  pcFileOffset: number;
  /** a data symbol's address, for `sym(%rip)` and absolute `sym+N` operands */
  symbolAddress?: (name: string) => number | undefined;
}

const GPR: Record<string, [TracefsRegister, 1 | 2 | 4 | 8, boolean]> = {};
for (const [r, names] of [
  ["ax", ["rax", "eax", "ax", "al", "ah"]],
  ["bx", ["rbx", "ebx", "bx", "bl", "bh"]],
  ["cx", ["rcx", "ecx", "cx", "cl", "ch"]],
  ["dx", ["rdx", "edx", "dx", "dl", "dh"]],
] as const) {
  GPR[names[0]] = [r, 8, false];
  GPR[names[1]] = [r, 4, false];
  GPR[names[2]] = [r, 2, false];
  GPR[names[3]] = [r, 1, false];
  GPR[names[4]] = [r, 1, true];
}
for (const [r, names] of [
  ["si", ["rsi", "esi", "si", "sil"]],
  ["di", ["rdi", "edi", "di", "dil"]],
  ["bp", ["rbp", "ebp", "bp", "bpl"]],
  ["sp", ["rsp", "esp", "sp", "spl"]],
] as const) {
  GPR[names[0]] = [r, 8, false];
  GPR[names[1]] = [r, 4, false];
  GPR[names[2]] = [r, 2, false];
  GPR[names[3]] = [r, 1, false];
}
for (let n = 8; n <= 15; n++) {
  const r = `r${n}` as TracefsRegister;
  GPR[r] = [r, 8, false];
  GPR[`${r}d`] = [r, 4, false];
  GPR[`${r}w`] = [r, 2, false];
  GPR[`${r}b`] = [r, 1, false];
  GPR[`${r}l`] = [r, 1, false];
}
GPR["rip"] = ["ip", 8, false];
GPR["eip"] = ["ip", 4, false];

/** A general-purpose register operand name (without `%`) → its tracefs register; undefined for others. */
export function registerRef(name: string): RegisterRef | undefined {
  const g = GPR[name.toLowerCase()];
  return g === undefined ? undefined : { reg: g[0], width: g[1], high8: g[2] };
}

function isFpRegister(name: string): boolean {
  return /^(xmm|ymm|zmm)\d+$|^st(\(\d\))?$|^mm\d$/.test(name.toLowerCase());
}

/** A number as the assembler writes it: decimal, 0x hex, octal with a leading 0, optionally negative. */
function parseNumber(s: string): number | undefined {
  const m = /^([-+]?)(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  const v = /^0x/i.test(body) ? parseInt(body.slice(2), 16) : body.length > 1 && body.startsWith("0") ? parseInt(body, 8) : parseInt(body, 10);
  if (!Number.isSafeInteger(v)) return undefined;
  return m[1] === "-" ? -v : v;
}

function parseBigNumber(s: string): bigint | undefined {
  const m = /^([-+]?)(0x[0-9a-f]+|[0-9]+)$/i.exec(s);
  if (!m) return undefined;
  const v = BigInt(m[2]!);
  return m[1] === "-" ? -v : v;
}

/** `DISP` of a memory operand: a sum of numbers and at most one symbol (`-144`, `NBuffers`, `40+CheckpointStats`, `table-8`). */
function parseDisp(s: string): { disp: number; symbol?: string } | undefined {
  if (s === "") return { disp: 0 };
  let disp = 0;
  let symbol: string | undefined;
  const terms = /^([-+]?)([^-+]+)((?:[-+][^-+]+)*)$/.exec(s);
  if (!terms) return undefined;
  for (const t of s.match(/[-+]?[^-+]+/g)!) {
    const neg = t.startsWith("-");
    const body = t.replace(/^[-+]/, "");
    const n = parseNumber(body);
    if (n !== undefined) disp += neg ? -n : n;
    else if (/^[A-Za-z_.][\w.$@]*$/.test(body) && symbol === undefined && !neg) symbol = body;
    else return undefined;
  }
  return symbol === undefined ? { disp } : { disp, symbol };
}

class ArgSyntaxError extends Error {}

function parseOperand(s: string): UsdtOperand {
  if (s.startsWith("%") && !/^%[a-z]s:/.test(s)) {
    const name = s.slice(1);
    const r = registerRef(name);
    if (r) return { kind: "register", register: r };
    if (isFpRegister(name)) return { kind: "fpregister", name };
    throw new ArgSyntaxError(`unknown register '${s}'`);
  }
  if (s.startsWith("$")) {
    const v = parseBigNumber(s.slice(1));
    if (v === undefined) throw new ArgSyntaxError(`constant '${s}' is not a number`);
    return { kind: "constant", value: v };
  }
  let rest = s;
  let segment: string | undefined;
  const seg = /^%([a-z]s):(.*)$/.exec(rest);
  if (seg) {
    segment = seg[1];
    rest = seg[2]!;
  }
  const m = /^([^(]*)\(([^)]*)\)$/.exec(rest);
  if (!m) {
    // no parentheses: an absolute address
    const d = parseDisp(rest);
    if (d === undefined) throw new ArgSyntaxError(`cannot parse operand '${s}'`);
    return { kind: "memory", scale: 1, ...d, segment };
  }
  const d = parseDisp(m[1]!);
  if (d === undefined) throw new ArgSyntaxError(`cannot parse displacement '${m[1]}' in '${s}'`);
  const parts = m[2]!.split(",").map((x) => x.trim());
  if (parts.length > 3) throw new ArgSyntaxError(`cannot parse operand '${s}'`);
  const reg = (t: string | undefined): RegisterRef | undefined => {
    if (t === undefined || t === "") return undefined;
    if (!t.startsWith("%")) throw new ArgSyntaxError(`'${t}' in '${s}' is not a register`);
    const r = registerRef(t.slice(1));
    if (!r) throw new ArgSyntaxError(`unknown register '${t}' in '${s}'`);
    return r;
  };
  const base = reg(parts[0]);
  const index = reg(parts[1]);
  let scale = 1;
  if (parts[2] !== undefined && parts[2] !== "") {
    const sc = parseNumber(parts[2]);
    if (sc !== 1 && sc !== 2 && sc !== 4 && sc !== 8) throw new ArgSyntaxError(`scale '${parts[2]}' in '${s}' is not 1, 2, 4 or 8`);
    scale = sc;
  }
  if (base?.reg === "ip" && index === undefined) return { kind: "rip", ...d };
  return { kind: "memory", base, index, scale, ...d, segment };
}

/** The tracefs type of a value of `size` bytes. */
function tracefsType(size: number, signed: boolean): string {
  return `${signed ? "s" : "u"}${size * 8}`;
}

function offsetText(n: number): string {
  return n < 0 ? `-${-n}` : `+${n}`;
}

/**
 * Parse one argument (`-4@-20(%rbp)`). Never throws: a form that is not
 * understood, or that tracefs cannot fetch, comes back with `unsupported`.
 */
export function parseUsdtArg(text: string, ctx: ArgContext): UsdtArg {
  const m = /^(-?)(1|2|4|8)(f?)@(.+)$/.exec(text);
  const size = (m ? Number(m[2]) : 8) as 1 | 2 | 4 | 8;
  const signed = m ? m[1] === "-" : true;
  const float = m ? m[3] === "f" : false;
  const operandText = m ? m[4]! : text;
  let operand: UsdtOperand;
  try {
    operand = parseOperand(operandText);
  } catch (err) {
    if (!(err instanceof ArgSyntaxError)) throw err;
    return { text, size, signed, float, operand: { kind: "constant", value: 0n }, unsupported: err.message };
  }
  const arg: UsdtArg = { text, size, signed, float, operand };
  const no = (why: string): UsdtArg => ({ ...arg, unsupported: why });
  if (float || operand.kind === "fpregister") {
    return no(operand.kind === "fpregister" ? `a floating-point value in %${operand.name}: tracefs cannot read SSE/x87 registers` : "a floating-point value: tracefs fetch arguments read integers only");
  }
  const type = tracefsType(size, signed);
  switch (operand.kind) {
    case "register": {
      const r = operand.register;
      if (r.high8) return { ...arg, fetch: `%${r.reg}`, type: "b8@8/64" };
      // a narrower register than the value: writes to 32-bit registers zero the top half, so the full register is right for 8@%eax
      const width = r.width === 4 ? size : Math.min(size, r.width);
      return { ...arg, fetch: `%${r.reg}`, type: tracefsType(width, signed) };
    }
    case "constant":
      return { ...arg, fetch: `\\${operand.value.toString()}`, type };
    case "memory": {
      if (operand.segment !== undefined) return no(`a %${operand.segment}-relative (thread-local) address: tracefs cannot add a segment base`);
      if (operand.index !== undefined) return no(`the address adds an index register (%${operand.index.reg}*${operand.scale}): tracefs fetch arguments can only add a constant to one register`);
      if (operand.base !== undefined) {
        if (operand.symbol !== undefined) return no(`the address adds symbol '${operand.symbol}' to a register: only constant offsets can be fetched`);
        return { ...arg, fetch: `${offsetText(operand.disp)}(%${operand.base.reg})`, type };
      }
      return absolute(arg, operand.symbol, operand.disp, ctx, no, type);
    }
    case "rip":
      if (operand.symbol === undefined) return no("a rip-relative address with a numeric displacement: the instruction it is relative to is unknown at the marker");
      return absolute(arg, operand.symbol, operand.disp, ctx, no, type);
  }
}

/**
 * Memory at a link-time address (a variable): fetched with `@+FOFFS`,
 * which the kernel turns into an address relative to where the probed
 * file is loaded (probe address − probe file offset + FOFFS); so FOFFS =
 * vaddr − pc + pc's file offset, right for PIE and non-PIE alike.
 */
function absolute(arg: UsdtArg, symbol: string | undefined, disp: number, ctx: ArgContext, no: (why: string) => UsdtArg, type: string): UsdtArg {
  let addr = disp;
  if (symbol !== undefined) {
    const a = ctx.symbolAddress?.(symbol);
    if (a === undefined) return no(`symbol '${symbol}' is not in the object's symbol tables (stripped?)`);
    addr += a;
  }
  const foffs = addr - ctx.pc + ctx.pcFileOffset;
  if (foffs < 0) return no(`address 0x${addr.toString(16)} lies below the probed code, which @+OFFSET cannot reach`);
  return { ...arg, fetch: `@+0x${foffs.toString(16)}`, type };
}

/** Split a note's argument string into its arguments. */
export function splitUsdtArgs(s: string): string[] {
  return s.split(/\s+/).filter((x) => x !== "");
}
