// The runtime API generated code receives as `$R`, and the context of the
// handler being run (what pp(), pid(), cpu()... answer for).

import { add, band, bnot, bor, bxor, div, type Long, mod, mul, neg, shl, shr, sub, ushr } from "./int64.js";
import { AbortHandler, ActionLimitError, isCatchable, ScriptError } from "./errors.js";
import { Array1, ArrayN, type ArrayDecl, type ValueType } from "./maps.js";
import { Stat, type StatConfig } from "./stats.js";
import type { HistSpec } from "./hist.js";
import { compileFormatter, type Formatter } from "./printf.js";
import { compileScriptRegex, match as regexMatch, type CompiledRegex } from "./regex.js";
import type { UnitLimits } from "./unit.js";
import { lookupNative, nativeMayFail, type NativeFn } from "./native-registry.js";

export { current, type ProbeContext } from "./probe-context.js";

type StatLike = Stat;
const createStat = (config: StatConfig): Stat => new Stat(config);

/** What the run loop does for the run-control builtins. */
export interface RunControl {
  out(s: string): void;
  exit(): void;
  abort(): void;
  warn(msg: string): void;
}

function clampShift(b: Long): Long {
  return b < 0 ? 0 : b > 64 ? 64 : b;
}

export function buildRuntimeApi(limits: UnitLimits, ctl: RunControl) {
  const max = limits.MAXSTRINGLEN - 1;
  const trunc = (s: string): string => (s.length > max ? s.slice(0, max) : s);
  const formats = new Map<string, Formatter>();

  const nonEmpty = (s: StatLike | undefined, near: string): StatLike => {
    if (s === undefined || s.count === 0) throw new ScriptError("empty aggregate", near || undefined);
    return s;
  };

  return {
    ops: {
      add,
      sub,
      mul,
      neg,
      bnot,
      band,
      bor,
      bxor,
      shl: (a: Long, b: Long) => shl(a, clampShift(b)),
      shr: (a: Long, b: Long) => shr(a, clampShift(b)),
      ushr: (a: Long, b: Long) => ushr(a, clampShift(b)),
      div: (a: Long, b: Long, near: string): Long => {
        if (b === 0) throw new ScriptError("division by 0", near);
        return div(a, b);
      },
      mod: (a: Long, b: Long, near: string): Long => {
        if (b === 0) throw new ScriptError("division by 0", near);
        return mod(a, b);
      },
      cat: (a: string, b: string): string => {
        const s = a + b;
        return s.length > max ? s.slice(0, max) : s;
      },
      trunc,
    },
    stats: {
      statAdd: (s: StatLike, v: Long): Long => {
        s.add(v);
        return v;
      },
      /** `s <<< v`, `times` of them at once (a probe counted in the kernel) */
      statAddTimes: (s: StatLike, v: Long, times: number): void => s.addN(v, times),
      statCount: (s: StatLike | undefined): Long => (s ? s.count : 0),
      statSum: (s: StatLike | undefined): Long => (s ? s.sum : 0),
      stat_min: (s: StatLike | undefined, near: string): Long => nonEmpty(s, near).min(),
      stat_max: (s: StatLike | undefined, near: string): Long => nonEmpty(s, near).max(),
      stat_avg: (s: StatLike | undefined, near: string): Long => nonEmpty(s, near).avg(),
      statVariance: (s: StatLike | undefined, near: string): Long => nonEmpty(s, near).variance(),
      statClear: (s: StatLike): void => s.clear(),
      histBucket: (s: StatLike | undefined, spec: HistSpec, idx: Long, near: string): Long => {
        const st = nonEmpty(s, near);
        const b = st.histBuckets(spec);
        if (typeof idx !== "number" || idx < 0 || idx >= b.length) throw new ScriptError("histogram index out of range", near);
        return b[idx]!;
      },
      histBuckets: (s: StatLike | undefined, spec: HistSpec, limit: number): readonly Long[] => {
        if (s === undefined || s.count === 0) return [];
        const b = s.histBuckets(spec);
        return limit >= 0 ? b.slice(0, limit) : b;
      },
      histText: (s: StatLike | undefined, spec: HistSpec, near: string): string => nonEmpty(s, near).formatHist(spec),
    },
    out: ctl.out,
    match: (subject: string, re: CompiledRegex): Long => (regexMatch(re, subject) ? 1 : 0),
    regex: compileScriptRegex,
    format: (fmt: string): Formatter => {
      let f = formats.get(fmt);
      if (!f) {
        try {
          f = compileFormatter(fmt);
        } catch (err) {
          throw new ScriptError(err instanceof Error ? err.message : String(err));
        }
        formats.set(fmt, f);
      }
      return f;
    },
    exit: (): Long => {
      ctl.exit();
      return 0;
    },
    abort: (): never => {
      ctl.abort();
      throw AbortHandler.instance;
    },
    error: (msg: string): never => {
      throw new ScriptError(msg);
    },
    warn: (msg: string): Long => {
      ctl.warn(msg);
      return 0;
    },
    maxaction: (near: string): never => {
      throw new ActionLimitError("MAXACTION exceeded", near);
    },
    maxnesting: (near: string): never => {
      throw new ScriptError("MAXNESTING exceeded", near);
    },
    ScriptError,
    catchable: isCatchable,
    NEXT: Symbol("next overload"),
    array: (decl: { name: string; arity: number; valueType: ValueType; size?: number; wrap: boolean }, config: StatConfig) => {
      const d: ArrayDecl = { ...decl, maxMapEntries: limits.MAXMAPENTRIES, newStat: () => createStat(config) };
      return d.arity === 1 ? new Array1<unknown>(d) : new ArrayN<unknown>(d);
    },
    stat: (config: StatConfig): StatLike => createStat(config),
    /** A native by name; `near` (the call site) completes the errors it raises, as stap names the call. */
    native: (name: string, arity: number, near?: string): NativeFn => {
      const fn = lookupNative(name, arity)?.fn;
      if (!fn) throw new Error(`function '${name}' is not implemented by the runtime`);
      if (near === undefined || !nativeMayFail(name)) return fn;
      const located = (e: unknown): unknown => (e instanceof ScriptError && e.near === undefined ? new ScriptError(e.message, near) : e);
      return (...args) => {
        try {
          return fn(...args);
        } catch (e) {
          throw located(e);
        }
      };
    },
  };
}

export type RuntimeApi = ReturnType<typeof buildRuntimeApi>;
