// SystemTap's string tapset (tapset/string.stp, tokenize.stp) and the escaping
// of runtime/stp_string.c (_stp_text_str), as pure functions over byte
// strings (char codes 0..255). Strings are C strings in stap: a NUL ends them.
//
// API (each returns at most MAXSTRINGLEN-1 bytes where stap's buffer would cut):
//   strlen(s) substr(s, start, len) stringat(s, pos) isinstr(s1, s2) strpos(s1, s2)
//   str_replace(s, search, repl) strtol(s, base) isdigit(s)
//   textStr(s, inlen?, outlen?, quoted?)      the escaper behind text_str/text_strn/string_quoted
//   textStrRead(s, inlen, outlen, quoted, buffer)  the same, and the bytes it read (user_buffer_quoted)
//   text_str(s) text_strn(s, len, quoted) string_quoted(s)
//   class Tokenizer { tokenize(input, delim) }  the stateful tokenize(); one per run
//   class StringError extends Error            stringat's "Position out of bounds"

import { ScriptError } from "./errors.js";
import { type Long, big, norm } from "./int64.js";
import { limits } from "./limits.js";

export class StringError extends ScriptError {
  constructor(message: string) {
    super(message);
    this.name = "StringError";
  }
}

function maxLen(): number {
  return limits.MAXSTRINGLEN - 1;
}

/** The C string: everything before the first NUL. */
function cstr(s: string): string {
  const z = s.indexOf("\0");
  return z < 0 ? s : s.slice(0, z);
}

export function strlen(s: string): Long {
  return cstr(s).length;
}

export function substr(s: string, start: Long, length: Long): string {
  const str = cstr(s);
  // stap: strlcpy(ret, str + start, clamp(length + 1, 0, MAXSTRINGLEN))
  const bl = big(length) + 1n;
  const size = bl < 0n ? 0 : bl > BigInt(limits.MAXSTRINGLEN) ? limits.MAXSTRINGLEN : Number(bl);
  const bs = big(start);
  if (bs < 0n || bs >= BigInt(str.length) || size === 0) return "";
  const st = Number(bs);
  return str.slice(st, st + size - 1);
}

/** The byte at pos as a C `char` (signed: bytes >= 0x80 are negative), error if out of range. */
export function stringat(s: string, pos: Long): Long {
  const str = cstr(s);
  const bp = big(pos);
  if (bp < 0n || bp >= BigInt(str.length)) throw new StringError("Position out of bounds");
  const c = str.charCodeAt(Number(bp));
  return c >= 0x80 ? c - 0x100 : c;
}

export function isinstr(s1: string, s2: string): Long {
  return cstr(s1).includes(cstr(s2)) ? 1 : 0;
}

export function strpos(s1: string, s2: string): Long {
  return cstr(s1).indexOf(cstr(s2));
}

export function str_replace(s: string, search: string, repl: string): string {
  const str = cstr(s);
  const find = cstr(search);
  if (find === "") return str;
  const out = str.split(find).join(cstr(repl));
  return out.length > maxLen() ? out.slice(0, maxLen()) : out;
}

function digitValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 97 + 10;
  return 99;
}

/**
 * The kernel's simple_strtol, which stap's strtol calls: an optional '-',
 * base 0 guesses 16 ("0x" + hex digit), 8 (leading 0) or 10; base 16 skips a
 * "0x" prefix; digits are 0-9a-f only; parsing stops at the first invalid
 * character; no whitespace or '+' is skipped; overflow wraps at 64 bits.
 */
export function strtol(s: string, base: Long): Long {
  let str = cstr(s);
  let negative = false;
  if (str[0] === "-") {
    negative = true;
    str = str.slice(1);
  }
  let b = Number(BigInt.asUintN(32, big(base)));
  const hasHexPrefix = str[0] === "0" && (str[1] === "x" || str[1] === "X");
  if (b === 0) {
    if (str[0] === "0") b = hasHexPrefix && str.length > 2 && digitValue(str.charCodeAt(2)) < 16 ? 16 : 8;
    else b = 10;
  }
  let i = 0;
  if (b === 16 && hasHexPrefix) i = 2;
  let acc = 0n;
  const bb = BigInt(b);
  for (; i < str.length; i++) {
    const v = digitValue(str.charCodeAt(i));
    if (v >= b) break;
    acc = BigInt.asUintN(64, acc * bb + BigInt(v));
  }
  return norm(negative ? -acc : acc);
}

export function isdigit(s: string): Long {
  const c = s.charCodeAt(0);
  return c >= 48 && c <= 57 ? 1 : 0;
}

// ---- escaping ------------------------------------------------------------------

const SHORT_ESCAPES: Record<number, string> = {
  7: "a", 8: "b", 12: "f", 10: "n", 13: "r", 9: "t", 11: "v", 34: '"', 92: "\\",
};

/**
 * Decode one UTF-8 sequence as stap does; bytes past the end read as NUL.
 * `seen`: the bytes stap read to decide (a bad continuation byte included),
 * which is what a fault in user memory is checked over.
 */
function decodeUtf8(s: string, i: number, size: number): { c: number; n: number; seen: number } {
  const byte = (k: number) => (k < s.length ? s.charCodeAt(k) : 0);
  const b = byte(i);
  let n: number;
  let c: number;
  if ((b & 0xe0) === 0xc0 && size >= 2) {
    n = 2;
    c = b & 0x1f;
  } else if ((b & 0xf0) === 0xe0 && size >= 3) {
    n = 3;
    c = b & 0xf;
  } else if ((b & 0xf8) === 0xf0 && size >= 4) {
    n = 4;
    c = b & 0x7;
  } else return { c: b, n: 1, seen: 1 };
  for (let k = 1; k < n; k++) {
    const b2 = byte(i + k);
    if ((b2 & 0xc0) !== 0x80) return { c: b, n: 1, seen: k + 1 };
    c = (c << 6) | (b2 & 0x3f);
  }
  if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff) return { c: b, n: 1, seen: n };
  if (c < 0x80 || (n === 3 && c < 0x800) || (n === 4 && c < 0x10000)) return { c: b, n: 1, seen: n };
  return { c, n, seen: n };
}

/**
 * stap's _stp_text_str: printable ASCII as is; \a \b \f \n \r \t \v \" \\;
 * other bytes as \ooo; valid multi-byte UTF-8 as \uXXXX or \UXXXXXXXX.
 * inlen/outlen <= 0 (or too big) mean MAXSTRINGLEN-1. When quoted, the output
 * is wrapped in double quotes and, if the input did not fit, ends with `"...`
 * within outlen bytes, never cutting an escape sequence in half.
 */
export function textStr(input: string, inlen = 0, outlen = 0, quoted = false): string {
  return textStrRead(input, inlen, outlen, quoted, false).out;
}

/**
 * textStr, and how many input bytes stap read on the way (user memory
 * faults are checked over those). `buffer` (user_buffer_quoted): a NUL does
 * not end the input; it prints as `\0` but counts 4 bytes of outlen, as
 * stap's runtime does.
 */
export function textStrRead(input: string, inlen: number, outlen: number, quoted: boolean, buffer: boolean): { out: string; read: number } {
  const max = maxLen();
  if (inlen <= 0 || inlen > max) inlen = max;
  if (outlen <= 0 || outlen > max) outlen = max;
  let out = "";
  if (quoted) {
    outlen = Math.max(outlen, 5) - 2;
    out = '"';
  }
  let esc = -1;
  let escLen = 0;
  let c = 0;
  let i = 0;
  let read = 0;
  while (inlen > 0) {
    let num = 1;
    const d = decodeUtf8(input, i, inlen);
    read = Math.max(read, i + d.seen);
    c = d.c;
    if ((c === 0 && !buffer) || outlen <= 0) break;
    i += d.n;
    inlen -= d.n;
    let piece: string;
    if (d.n > 1) {
      num = c <= 0xffff ? 6 : 10;
      piece = (c <= 0xffff ? "\\u" : "\\U") + c.toString(16).toUpperCase().padStart(num - 2, "0");
    } else if (c >= 0x20 && c <= 0x7e && c !== 34 && c !== 92) {
      piece = String.fromCharCode(c);
    } else {
      const short = SHORT_ESCAPES[c];
      num = short !== undefined ? 2 : 4;
      piece = short !== undefined ? "\\" + short : c === 0 ? "\\0" : "\\" + c.toString(8).padStart(3, "0");
    }
    if (num > 1) {
      if (esc < 0 && outlen - 3 < num) {
        esc = out.length;
        escLen = num;
      }
      if (outlen < num) break;
    }
    out += piece;
    outlen -= num;
  }
  if (quoted) {
    if (c !== 0 && inlen > 0) {
      let cut = out.length - 3 + outlen;
      if (esc >= 0 && esc < cut && cut < esc + escLen) cut = esc;
      out = out.slice(0, cut) + '"...';
    } else out += '"';
  }
  return { out, read };
}

export function text_str(s: string): string {
  return textStr(s, 0, 0, false);
}

export function text_strn(s: string, len: Long, quoted: Long): string {
  const bl = big(len);
  const n = bl < 0n ? 0 : bl > BigInt(limits.MAXSTRINGLEN) ? limits.MAXSTRINGLEN : Number(bl);
  return textStr(s, 0, n, quoted !== 0);
}

export function string_quoted(s: string): string {
  return textStr(s, limits.MAXSTRINGLEN, limits.MAXSTRINGLEN, true);
}

// ---- tokenize ---------------------------------------------------------------------

/**
 * tokenize(input, delim): strsep over a saved copy of the last non-empty
 * input, skipping empty tokens; "" when exhausted. tokenize(delim) is
 * tokenize("", delim). stap keeps the state per probe context; tstap keeps one
 * per run (handlers never interleave).
 */
export class Tokenizer {
  private buf = "";
  /** Next position in buf, or -1 once exhausted (strsep's NULL). */
  private pos = -1;

  tokenize(input: string, delim: string): string {
    const inp = cstr(input);
    if (inp !== "") {
      this.buf = inp.length > maxLen() ? inp.slice(0, maxLen()) : inp;
      this.pos = 0;
    }
    const delims = cstr(delim);
    for (;;) {
      if (this.pos < 0) return "";
      const start = this.pos;
      let end = start;
      while (end < this.buf.length && !delims.includes(this.buf[end])) end++;
      this.pos = end < this.buf.length ? end + 1 : -1;
      if (end > start) return this.buf.slice(start, end);
    }
  }

  reset(): void {
    this.buf = "";
    this.pos = -1;
  }
}
