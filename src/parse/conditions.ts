// Evaluating one `%( LEFT OP RIGHT %? ...` preprocessor test, as stap does:
// versions compare with strverscmp, names (arch, runtime, CONFIG_ strings)
// match with fnmatch globs, numbers and plain strings compare directly.

import type { Tok } from "./tokens.js";
import { numberValue } from "./lexer.js";

/** What the preprocessor conditions are evaluated against. */
export interface ConditionEnv {
  kernelRelease: string;
  arch: string;
  runtime: string;
  systemtapVersion: string;
  privilege: "stapdev" | "stapsys" | "stapusr";
  guru: boolean;
  kernelConfig: ReadonlyMap<string, string>;
}

export class ConditionError extends Error {
  constructor(
    message: string,
    readonly tok: Tok,
  ) {
    super(message);
  }
}

/** glibc strverscmp: digit runs compare as numbers, the rest byte by byte. */
export function strverscmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a[i]!;
    const cb = b[j]!;
    const da = ca >= "0" && ca <= "9";
    const db = cb >= "0" && cb <= "9";
    if (da && db) {
      let ei = i;
      while (ei < a.length && a[ei]! >= "0" && a[ei]! <= "9") ei++;
      let ej = j;
      while (ej < b.length && b[ej]! >= "0" && b[ej]! <= "9") ej++;
      const ra = a.slice(i, ei);
      const rb = b.slice(j, ej);
      // a run with a leading zero is a fraction: compare as strings
      if ((ra[0] === "0" || rb[0] === "0") && ra.length !== rb.length) {
        const c = ra < rb ? -1 : ra > rb ? 1 : 0;
        if (c !== 0) return c;
      } else {
        const na = BigInt(ra);
        const nb = BigInt(rb);
        if (na !== nb) return na < nb ? -1 : 1;
      }
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return ca.charCodeAt(0) - cb.charCodeAt(0) < 0 ? -1 : 1;
    i++;
    j++;
  }
  const ra = a.length - i;
  const rb = b.length - j;
  return ra === rb ? 0 : ra < rb ? -1 : 1;
}

/** fnmatch(pattern, s, FNM_NOESCAPE) */
export function fnmatch(pattern: string, s: string): boolean {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += "[\\s\\S]*";
    else if (c === "?") re += "[\\s\\S]";
    else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) {
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, close);
      let neg = false;
      if (body[0] === "!" || body[0] === "^") {
        neg = true;
        body = body.slice(1);
      }
      re += "[" + (neg ? "^" : "") + body.replace(/[\\\]^]/g, (m) => "\\" + m) + "]";
      i = close;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(re + "$").test(s);
}

function cmp<T>(l: T, op: Tok, r: T): boolean {
  switch (op.image) {
    case "<=":
      return l <= r;
    case ">=":
      return l >= r;
    case "<":
      return l < r;
    case ">":
      return l > r;
    case "==":
      return l === r;
    case "!=":
      return l !== r;
  }
  throw new ConditionError("expected comparison operator", op);
}

function isOp(t: Tok, ...ops: string[]): boolean {
  return t.kind === "operator" && ops.includes(t.image);
}

function globMatch(op: Tok, pattern: string, target: string): boolean {
  if (isOp(op, "==")) return fnmatch(pattern, target);
  if (isOp(op, "!=")) return !fnmatch(pattern, target);
  throw new ConditionError("expected '==' or '!='", op);
}

function configNumber(s: string): bigint | undefined {
  const m = /^([-+]?)(.*)$/.exec(s)!;
  const v = m[2] === "" ? undefined : numberValue(m[2]!);
  return v === undefined ? undefined : m[1] === "-" ? -v : v;
}

function numberOf(t: Tok): bigint {
  return numberValue(t.image) ?? 0n;
}

export function evalCondition(env: ConditionEnv, l: Tok, op: Tok, r: Tok): boolean {
  const name = l.kind === "identifier" ? l.image : undefined;
  if (name === "kernel_v" || name === "kernel_vr" || name === "systemtap_v") {
    if (r.kind !== "string") throw new ConditionError("expected string literal", r);
    const target =
      name === "kernel_vr" ? env.kernelRelease : name === "kernel_v" ? env.kernelRelease.split("-")[0]! : env.systemtapVersion;
    const query = r.value!;
    const wildcard = /[*?[]/.test(query);
    if (wildcard) {
      if (!isOp(op, "==", "!=")) {
        if (isOp(op, "<", ">", "<=", ">=")) throw new ConditionError("wildcard not allowed with order comparison operators", op);
        throw new ConditionError("expected comparison operator", op);
      }
      return globMatch(op, query, target);
    }
    const c = strverscmp(target, query);
    return cmp(c, op, 0);
  }
  if (name === "systemtap_privilege") {
    if (r.kind !== "string") throw new ConditionError("expected string literal", r);
    if (isOp(op, "==")) return env.privilege === r.value;
    if (isOp(op, "!=")) return env.privilege !== r.value;
    throw new ConditionError("expected '==' or '!='", op);
  }
  if (name === "guru_mode") {
    if (r.kind !== "number") throw new ConditionError("expected number", r);
    const rhs = numberOf(r);
    if (rhs !== 0n && rhs !== 1n) throw new ConditionError("expected 0 or 1", op);
    if (!isOp(op, "==", "!=")) throw new ConditionError("expected '==' or '!='", op);
    return cmp(env.guru ? 1n : 0n, op, rhs);
  }
  if (name === "arch" || name === "runtime") {
    if (r.kind !== "string") throw new ConditionError("expected string literal", r);
    return globMatch(op, r.value!, name === "arch" ? env.arch : env.runtime);
  }
  if (name?.startsWith("CONFIG_")) {
    const lhs = env.kernelConfig.get(name) ?? "";
    if (r.kind === "string") return globMatch(op, r.value!, lhs);
    if (r.kind === "number") {
      const v = configNumber(lhs);
      if (v === undefined) throw new ConditionError("Config option value not a number", l);
      return cmp(v, op, numberOf(r));
    }
    if (r.kind === "identifier" && r.image.startsWith("CONFIG_")) {
      const rhs = env.kernelConfig.get(r.image) ?? "";
      const a = configNumber(lhs);
      const b = configNumber(rhs);
      if (a !== undefined && b !== undefined) return cmp(a, op, b);
      return cmp(lhs, op, rhs);
    }
    throw new ConditionError("expected string, number literal or other CONFIG_... as right side operand", r);
  }
  if (l.kind === "string" && r.kind === "string") return cmp(l.value!, op, r.value!);
  if (l.kind === "number" && r.kind === "number") return cmp(numberOf(l), op, numberOf(r));
  if (l.kind === "string" && r.kind === "number" && op.kind === "operator") throw new ConditionError("expected string literal as right value", r);
  if (l.kind === "number" && r.kind === "string" && op.kind === "operator") throw new ConditionError("expected number literal as right value", r);
  throw new ConditionError(
    "expected 'arch', 'kernel_v', 'kernel_vr', 'systemtap_v',\n             'runtime', 'systemtap_privilege', 'CONFIG_...', or\n             comparison between strings or integers",
    l,
  );
}
