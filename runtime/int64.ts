// SystemTap's `long`: signed 64-bit with two's-complement wraparound.
//
// Representation (the contract for all generated code and the runtime):
// a Long is a JS number when the value is a safe integer (|v| <= 2^53-1)
// and a bigint otherwise, never anything else. Values are always normalized,
// so one integer has exactly one representation: `===` and Map keys work.
// The fast paths below stay on numbers; bigint appears only past 2^53.

export type Long = number | bigint;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MIN_SAFE = -Number.MAX_SAFE_INTEGER;
const BIG_MAX_SAFE = BigInt(MAX_SAFE);
const BIG_MIN_SAFE = BigInt(MIN_SAFE);

export class DivisionByZero extends Error {
  constructor() {
    super("division by 0");
  }
}

/** Wrap a bigint to signed 64 bits and normalize. */
export function norm(b: bigint): Long {
  const w = BigInt.asIntN(64, b);
  return w >= BIG_MIN_SAFE && w <= BIG_MAX_SAFE ? Number(w) : w;
}

export function big(a: Long): bigint {
  return typeof a === "number" ? BigInt(a) : a;
}

export function isLong(v: unknown): v is Long {
  return (typeof v === "number" && Number.isSafeInteger(v)) || typeof v === "bigint";
}

export function add(a: Long, b: Long): Long {
  if (typeof a === "number" && typeof b === "number") {
    const r = a + b;
    if (r <= MAX_SAFE && r >= MIN_SAFE) return r;
  }
  return norm(big(a) + big(b));
}

export function sub(a: Long, b: Long): Long {
  if (typeof a === "number" && typeof b === "number") {
    const r = a - b;
    if (r <= MAX_SAFE && r >= MIN_SAFE) return r;
  }
  return norm(big(a) - big(b));
}

export function mul(a: Long, b: Long): Long {
  if (typeof a === "number" && typeof b === "number") {
    const r = a * b;
    // A rounded product is unsafe exactly when the true product is.
    if (r <= MAX_SAFE && r >= MIN_SAFE) return r === 0 ? 0 : r;
  }
  return norm(big(a) * big(b));
}

/** Truncating division; throws DivisionByZero. INT64_MIN / -1 wraps, as on x86 stap (it reports no error). */
export function div(a: Long, b: Long): Long {
  if (b === 0) throw new DivisionByZero();
  if (typeof a === "number" && typeof b === "number") {
    const r = Math.trunc(a / b);
    return r === 0 ? 0 : r;
  }
  return norm(big(a) / big(b));
}

export function mod(a: Long, b: Long): Long {
  if (b === 0) throw new DivisionByZero();
  if (typeof a === "number" && typeof b === "number") {
    const r = a % b;
    return r === 0 ? 0 : r;
  }
  return norm(big(a) % big(b));
}

export function neg(a: Long): Long {
  if (typeof a === "number") return a === 0 ? 0 : -a;
  return norm(-a);
}

export function bnot(a: Long): Long {
  if (typeof a === "number" && a >= -0x80000000 && a <= 0x7fffffff) return ~a;
  return norm(~big(a));
}

function small32(a: Long): a is number {
  return typeof a === "number" && a >= -0x80000000 && a <= 0x7fffffff;
}

export function band(a: Long, b: Long): Long {
  if (small32(a) && small32(b)) return a & b;
  return norm(big(a) & big(b));
}

export function bor(a: Long, b: Long): Long {
  if (small32(a) && small32(b)) return a | b;
  return norm(big(a) | big(b));
}

export function bxor(a: Long, b: Long): Long {
  if (small32(a) && small32(b)) return a ^ b;
  return norm(big(a) ^ big(b));
}

/** Left shift; the count is taken modulo 64 as the x86 shift instruction does. */
export function shl(a: Long, b: Long): Long {
  const n = Number(BigInt.asUintN(6, big(b)));
  if (typeof a === "number" && a >= 0 && a < 0x100000 && n < 32) return a * 2 ** n;
  return norm(big(a) << BigInt(n));
}

/** Arithmetic right shift, count modulo 64. */
export function shr(a: Long, b: Long): Long {
  const n = Number(BigInt.asUintN(6, big(b)));
  if (typeof a === "number" && n < 32 && a >= -0x80000000 && a <= 0x7fffffff) return a >> n;
  return norm(big(a) >> BigInt(n));
}

/** Logical right shift (`>>>`), count modulo 64. */
export function ushr(a: Long, b: Long): Long {
  const n = BigInt(Number(BigInt.asUintN(6, big(b))));
  return norm(BigInt.asUintN(64, big(a)) >> n);
}

/** The unsigned 64-bit view of a Long, for %u %x %o. */
export function toUnsigned(a: Long): bigint {
  return BigInt.asUintN(64, big(a));
}

/** A boolean as a Long. */
export function fromBool(b: boolean): Long {
  return b ? 1 : 0;
}

/** Parse a decimal/hex/octal literal text (no sign) to a wrapped Long; undefined if not a number. */
export function parseLiteral(text: string): Long | undefined {
  let t = text;
  let b: bigint;
  try {
    if (/^0[xX][0-9a-fA-F]+$/.test(t)) b = BigInt(t);
    else if (/^0[0-7]+$/.test(t)) b = BigInt("0o" + t.slice(1));
    else if (/^[0-9]+$/.test(t)) b = BigInt(t);
    else return undefined;
  } catch {
    return undefined;
  }
  return norm(b);
}
