// SystemTap's printf: format parsing (done once, at compile time) and
// formatting (at run time), reproducing stap's translator + runtime
// (staptree.cxx string_to_components, the per-format printers translate.cxx
// generates, runtime/vsprintf.c's number()/_stp_vsprint_*) byte for byte.
//
// API (stable):
//   type Value = Long | string
//   type ArgKind = "long" | "string" | "any"
//   class FormatError extends Error { offset }     invalid format, reported at compile time
//   compileFormat(fmt): CompiledFormat            throws FormatError
//   CompiledFormat.argKinds                       one entry per argument the format consumes,
//                                                 in order (a `*` width/precision takes a "long"
//                                                 before its conversion's own argument)
//   formatWith(f, args): string                   what printf(f, args...) writes (bounded by
//                                                 STP_BUFFER_SIZE, like one stap print)
//   sformatWith(f, args): string                  what sprintf(f, args...) returns (bounded by
//                                                 MAXSTRINGLEN-1)
//   sprintf(fmt, args) / printfString(fmt, args)  compile + format conveniences (sprintf bounds
//                                                 like sformatWith, printfString like formatWith)
//   formatValue(v)                                how print/println/sprint show one value
//   formatDelimited(delim, args)                  printd/sprintd: values joined by delim
//   class FormatRuntimeError extends Error        %m/%M on an address (no kernel memory here)
//
// Strings are byte strings (char codes 0..255). Faithful quirks of stap:
// - one flag character at most (`%-08d` parses as flag '-' and width 8; `%-#x` is invalid);
// - one `l` length modifier is accepted and ignored (`%ld`); `%lld`, `%hd` are
//   "invalid or missing conversion specifier", as in stap;
// - a lone `%` at the very end is a literal '%';
// - a negative `*` width left-justifies, as in C (stap's vsnprintf); widths
//   are clamped to the buffer, `*` precisions to 0..; `%.0s` and `%.*s` with 0
//   print nothing; a print's bytes are cut at STP_BUFFER_SIZE (a width past it
//   fills the print, as in stap, whose runtime clamps the same way);
// - `%#x`/`%p` always get "0x" (even for 0), `%#o` always gets a leading 0;
// - the '0' flag pads numbers with zeros even when a precision is given, and
//   appends a NUL byte after %s/%m/%M output (as stap's runtime does);
// - %c and %#c (escaped), %b (raw little-endian bytes, NUL-padded to width).
// - %m/%M take an address in stap. We cannot read kernel or user memory here, so
//   they accept a string argument (its bytes are "the memory") and raise
//   FormatRuntimeError("cannot read kernel memory at 0x...") for a number.

import { ScriptError } from "./errors.js";
import { type Long, big, toUnsigned } from "./int64.js";
import { limits } from "./limits.js";

export type Value = Long | string;
export type ArgKind = "long" | "string" | "any";
export type Conversion = "d" | "i" | "u" | "o" | "x" | "X" | "p" | "c" | "s" | "b" | "m" | "M";
export type Flag = "" | "-" | "+" | " " | "#" | "0";

export interface ConversionSpec {
  readonly conv: Conversion;
  readonly flag: Flag;
  /** undefined: none; "*": taken from the argument list. */
  readonly width: number | "*" | undefined;
  readonly precision: number | "*" | undefined;
  /** Offset of the '%' in the format, for messages. */
  readonly offset: number;
}

export type FormatPiece =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "conv"; readonly spec: ConversionSpec };

export interface CompiledFormat {
  readonly source: string;
  readonly pieces: readonly FormatPiece[];
  readonly argKinds: readonly ArgKind[];
}

export class FormatError extends Error {
  /** Offset of the offending '%' in the format string. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = "FormatError";
    this.offset = offset;
  }
}

export class FormatRuntimeError extends ScriptError {
  constructor(message: string) {
    super(message);
    this.name = "FormatRuntimeError";
  }
}

const CONVERSIONS = new Set<string>(["b", "c", "s", "m", "M", "d", "i", "o", "u", "p", "X", "x"]);
const FLAGS = new Set<string>(["0", "+", "-", " ", "#"]);

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

function kindOf(conv: Conversion): ArgKind {
  if (conv === "s") return "string";
  if (conv === "m" || conv === "M") return "any";
  return "long";
}

/** Parse a format once. Throws FormatError for what stap rejects at parse time. */
export function compileFormat(fmt: string): CompiledFormat {
  const pieces: FormatPiece[] = [];
  const argKinds: ArgKind[] = [];
  let literal = "";
  let i = 0;
  const n = fmt.length;
  const flushLiteral = () => {
    if (literal !== "") pieces.push({ kind: "literal", text: literal });
    literal = "";
  };
  while (i < n) {
    const ch = fmt[i];
    if (ch !== "%") {
      literal += ch;
      i++;
      continue;
    }
    if (i + 1 === n || fmt[i + 1] === "%") {
      literal += "%";
      i += 2;
      continue;
    }
    const start = i;
    i++;
    let flag: Flag = "";
    if (FLAGS.has(fmt[i])) flag = fmt[i++] as Flag;
    let width: number | "*" | undefined;
    if (fmt[i] === "*") {
      width = "*";
      i++;
    } else if (isDigit(fmt[i])) {
      let w = 0;
      while (isDigit(fmt[i])) w = Math.min(w * 10 + (fmt.charCodeAt(i++) - 48), 0x7fffffff);
      width = w;
    }
    let precision: number | "*" | undefined;
    if (i < n && fmt[i] === ".") {
      i++;
      if (fmt[i] === "*") {
        precision = "*";
        i++;
      } else if (isDigit(fmt[i])) {
        let p = 0;
        while (isDigit(fmt[i])) p = Math.min(p * 10 + (fmt.charCodeAt(i++) - 48), 0x7fffffff);
        precision = p;
      }
    }
    if (i < n && fmt[i] === "l") i++;
    if (i >= n) {
      // stap keeps parsing state per conversion: a cut-off one that set nothing
      // yet ("%." or "%l" at the very end) is dropped, anything else is an error.
      if (flag === "" && width === undefined && precision === undefined) break;
      throw new FormatError("trailing incomplete print format conversion", start);
    }
    const c = fmt[i];
    if (!CONVERSIONS.has(c)) throw new FormatError("invalid or missing conversion specifier", start);
    i++;
    const conv = c as Conversion;
    flushLiteral();
    pieces.push({ kind: "conv", spec: { conv, flag, width, precision, offset: start } });
    if (width === "*") argKinds.push("long");
    if (precision === "*") argKinds.push("long");
    argKinds.push(kindOf(conv));
  }
  flushLiteral();
  return { source: fmt, pieces, argKinds };
}

// ---- number(): runtime/vsprintf.c semantics --------------------------------

interface NumFlags {
  left: boolean;
  plus: boolean;
  space: boolean;
  special: boolean;
  zeropad: boolean;
  signed: boolean;
  large: boolean;
}

function formatNumber(v: Long, base: 8 | 10 | 16, width: number, precision: number, fl: NumFlags): string {
  let size = width;
  let sign = "";
  let digitsSource: bigint | number;
  if (fl.signed && (typeof v === "number" ? v < 0 : v < 0n)) {
    sign = "-";
    // -(INT64_MIN) wraps to itself; its unsigned magnitude is 2^63, which is right.
    digitsSource = typeof v === "number" ? -v : BigInt.asUintN(64, -v);
    size--;
  } else {
    digitsSource = typeof v === "number" && v >= 0 ? v : toUnsigned(v);
    if (fl.signed && fl.plus) {
      sign = "+";
      size--;
    } else if (fl.signed && fl.space) {
      sign = " ";
      size--;
    }
  }
  const zeropad = fl.zeropad && !fl.left;
  if (fl.special) {
    if (base === 16) size -= 2;
    else if (base === 8) size--;
  }
  let digits = digitsSource.toString(base);
  if (fl.large) digits = digits.toUpperCase();
  if (digits.length > precision) precision = digits.length;
  size -= precision;
  let out = "";
  if (!zeropad && !fl.left && size > 0) {
    out += " ".repeat(size);
    size = 0;
  }
  out += sign;
  if (fl.special) {
    if (base === 8) out += "0";
    else if (base === 16) out += fl.large ? "0X" : "0x";
  }
  if (!fl.left && size > 0) {
    out += (zeropad ? "0" : " ").repeat(size);
    size = 0;
  }
  if (precision > digits.length) out += "0".repeat(precision - digits.length);
  out += digits;
  if (size > 0) out += " ".repeat(size);
  return out;
}

// ---- %c ----------------------------------------------------------------------

const CHAR_ESCAPES: Record<number, string> = {
  7: "a", 8: "b", 12: "f", 10: "n", 13: "r", 9: "t", 11: "v", 39: "'", 92: "\\",
};

function formatChar(code: number, width: number, left: boolean, special: boolean): string {
  let body = String.fromCharCode(code);
  if (special && (code < 0x20 || code > 0x7e || code === 39 || code === 92)) {
    const esc = CHAR_ESCAPES[code];
    body = esc !== undefined ? "\\" + esc : "\\" + code.toString(8).padStart(3, "0");
  }
  const pad = width > body.length ? " ".repeat(width - body.length) : "";
  return left ? body + pad : pad + body;
}

// ---- %b ----------------------------------------------------------------------

function binaryPrecision(p: number): number {
  return p === 1 || p === 2 || p === 4 || p === 8 ? p : -1;
}

function formatBinary(v: Long, width: number, precision: number, left: boolean): string {
  precision = binaryPrecision(precision);
  if (width === -1) {
    if (precision === -1) {
      width = 8;
      precision = 8;
    } else width = precision;
  } else if (precision === -1) {
    precision = binaryPrecision(width);
    if (precision === -1) precision = 8;
  }
  const pad = precision < width ? "\0".repeat(width - precision) : "";
  let u = BigInt.asUintN(64, big(v));
  let bytes = "";
  for (let k = 0; k < precision; k++) {
    bytes += String.fromCharCode(Number(u & 0xffn));
    u >>= 8n;
  }
  return left ? bytes + pad : pad + bytes;
}

// ---- %s %m %M ------------------------------------------------------------------

function memoryBytes(arg: Value, conv: "m" | "M", len: number): string {
  if (typeof arg === "string") {
    // Reading past the string's end would read its NUL and then unknown memory;
    // stop with NULs, the best stand-in for "the terminator and beyond".
    return arg.length >= len ? arg.slice(0, len) : arg + "\0".repeat(len - arg.length);
  }
  const addr = "0x" + toUnsigned(arg).toString(16);
  throw new FormatRuntimeError(
    `cannot read kernel memory at ${addr}: %${conv} needs target memory, which tstap cannot read after the event (pass the bytes as a string instead)`,
  );
}

function formatMemory(
  arg: Value,
  conv: "s" | "m" | "M",
  width: number,
  precision: number,
  left: boolean,
  zeropad: boolean,
): string {
  let body: string;
  if (conv === "s") {
    const s = typeof arg === "string" ? arg : String(arg);
    const nul = s.indexOf("\0");
    const str = nul >= 0 ? s.slice(0, nul) : s;
    body = precision >= 0 && precision < str.length ? str.slice(0, precision) : str;
  } else {
    const len = precision > 0 ? precision : 1;
    const raw = memoryBytes(arg, conv, len);
    if (conv === "m") body = raw;
    else {
      body = "";
      for (let k = 0; k < raw.length; k++) body += raw.charCodeAt(k).toString(16).padStart(2, "0");
    }
  }
  const pad = width > body.length ? " ".repeat(width - body.length) : "";
  let out = left ? body + pad : pad + body;
  if (zeropad) out += "\0";
  return out;
}

// ---- driver ----------------------------------------------------------------------

function toInt32(v: Value): number {
  if (typeof v === "string") return 0;
  return Number(BigInt.asIntN(32, big(v)));
}

function asLong(v: Value | undefined): Long {
  if (v === undefined) return 0;
  if (typeof v === "string") return 0;
  return v;
}

function formatInto(f: CompiledFormat, args: readonly Value[], size: number): string {
  let out = "";
  let a = 0;
  for (const piece of f.pieces) {
    if (piece.kind === "literal") {
      out += piece.text;
      continue;
    }
    const s = piece.spec;
    let left = s.flag === "-";
    let width = -1;
    if (s.width === "*") {
      width = toInt32(args[a++] ?? 0);
      if (width < 0) {
        width = -width;
        left = true;
      }
      width = Math.min(width, size);
    }
    else if (s.width !== undefined) width = Math.min(s.width, size);
    let precision = -1;
    if (s.precision === "*") precision = Math.min(Math.max(toInt32(args[a++] ?? 0), 0), size);
    else if (s.precision !== undefined) precision = Math.min(s.precision, size);
    const arg = args[a++];
    switch (s.conv) {
      case "s":
      case "m":
      case "M":
        // `#` changes nothing for %s: stap's runtime copies the bytes as they
        // are (its end-of-run display prints string globals with "%#s", raw)
        out += formatMemory(arg ?? "", s.conv, width, precision, left, s.flag === "0");
        break;
      case "c":
        out += formatChar(Number(BigInt.asUintN(8, big(asLong(arg)))), width, left, s.flag === "#");
        break;
      case "b":
        out += formatBinary(asLong(arg), width, precision, left);
        break;
      default: {
        const base = s.conv === "o" ? 8 : s.conv === "x" || s.conv === "X" || s.conv === "p" ? 16 : 10;
        out += formatNumber(asLong(arg), base, width, precision, {
          left,
          plus: s.flag === "+",
          space: s.flag === " ",
          special: s.flag === "#" || s.conv === "p",
          zeropad: s.flag === "0",
          signed: s.conv === "d" || s.conv === "i",
          large: s.conv === "X",
        });
      }
    }
    if (out.length > size) break;
  }
  return out;
}

/** What printf writes: at most STP_BUFFER_SIZE bytes per statement, as one stap print. */
export function formatWith(f: CompiledFormat, args: readonly Value[]): string {
  const size = limits.STP_BUFFER_SIZE;
  const out = formatInto(f, args, size);
  return out.length > size ? out.slice(0, size) : out;
}

/** What sprintf returns: at most MAXSTRINGLEN-1 bytes, and a string ends at its first NUL (stap's are C strings). */
export function sformatWith(f: CompiledFormat, args: readonly Value[]): string {
  const size = limits.MAXSTRINGLEN;
  let out = formatInto(f, args, size);
  const nul = out.indexOf("\0");
  if (nul >= 0) out = out.slice(0, nul);
  return out.length > size - 1 ? out.slice(0, Math.max(0, size - 1)) : out;
}

const cache = new Map<string, CompiledFormat>();

function cached(fmt: string): CompiledFormat {
  let f = cache.get(fmt);
  if (!f) {
    f = compileFormat(fmt);
    if (cache.size > 1000) cache.clear();
    cache.set(fmt, f);
  }
  return f;
}

/** sprintf(fmt, args...) with a format known only at run time (bounded to MAXSTRINGLEN-1). */
export function sprintf(fmt: string, args: readonly Value[]): string {
  return sformatWith(cached(fmt), args);
}

/** printf(fmt, args...) output as a string (bounded to STP_BUFFER_SIZE). */
export function printfString(fmt: string, args: readonly Value[]): string {
  return formatWith(cached(fmt), args);
}

/** print/println/sprint of one value: a long in decimal, a string as is. */
export function formatValue(v: Value): string {
  return typeof v === "string" ? v : String(v);
}

/** printd/printdln/sprintd: the values joined by the delimiter. */
export function formatDelimited(delim: string, args: readonly Value[]): string {
  let out = "";
  for (let k = 0; k < args.length; k++) {
    if (k > 0) out += delim;
    out += formatValue(args[k]);
  }
  return out;
}

/** A format compiled once: `p` is what printf writes, `s` what sprintf returns. */
export interface Formatter {
  p(args: readonly Value[]): string;
  s(args: readonly Value[]): string;
}

export function compileFormatter(fmt: string): Formatter {
  const f = compileFormat(fmt);
  return { p: (args) => formatWith(f, args), s: (args) => sformatWith(f, args) };
}

/** The format's problem, if stap would reject it (the translator checks literal formats). */
export function formatProblem(fmt: string): string | undefined {
  try {
    compileFormat(fmt);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
