// The one place the language core reaches the runtime leaves written
// alongside it (printf.ts, stats.ts, hist.ts, regex.ts, natives*.ts).
//
// Generated code and the run loop only call what this file exports, so a
// change of a leaf's API is a change here. Where a leaf is not there yet, a
// minimal stand-in below keeps the core runnable; each says so.

import { ScriptError } from "./errors.js";
import { Stat, type StatConfig } from "./stats.js";
import type { HistSpec } from "./hist.js";
import { compileFormat as compileLeafFormat, formatWith, sformatWith, type CompiledFormat, type Value } from "./printf.js";
import { compileRegex as compileLeafRegex, match as leafMatch, type CompiledRegex } from "./regex.js";
import { lookupNative as lookupLibraryNative, resetNativeState, type NativeValue } from "./natives.js";
import { lookupContextNative } from "./context-kernel.js";

export type { HistSpec } from "./hist.js";
export type { StatConfig } from "./stats.js";

/** A statistic (`global s; s <<< v`). */
export type StatLike = Stat;

export function createStat(config: StatConfig): Stat {
  return new Stat(config);
}

export function histBuckets(s: Stat, spec: HistSpec): readonly number[] {
  return s.histBuckets(spec);
}

export function formatHistogram(s: Stat, spec: HistSpec): string {
  return s.formatHist(spec);
}

// ---------------------------------------------------------------- printf

export type FormatArg = Value;

/** A format compiled once: `p` is what printf writes, `s` what sprintf returns. */
export interface Formatter {
  p(args: readonly FormatArg[]): string;
  s(args: readonly FormatArg[]): string;
}

export function compileFormat(fmt: string): Formatter {
  const f: CompiledFormat = compileLeafFormat(fmt);
  return { p: (args) => formatWith(f, args), s: (args) => sformatWith(f, args) };
}

/** The format's problem, if stap would reject it (checked at translate time). */
export function formatProblem(fmt: string): string | undefined {
  try {
    compileLeafFormat(fmt);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

// ---------------------------------------------------------------- regex

export type { CompiledRegex } from "./regex.js";

export function compileRegex(pattern: string): CompiledRegex {
  try {
    return compileLeafRegex(pattern);
  } catch (err) {
    throw new ScriptError(err instanceof Error ? err.message : String(err));
  }
}

/** The pattern's problem, if stap would reject it (checked at translate time). */
export function regexProblem(pattern: string): string | undefined {
  try {
    compileLeafRegex(pattern);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export function regexMatch(re: CompiledRegex, subject: string): boolean {
  return leafMatch(re, subject);
}

// ---------------------------------------------------------------- natives

export type NativeFn = (...args: NativeValue[]) => NativeValue | undefined;

/** A native function by name and arity: the library natives, then the context natives. */
export function lookupNative(name: string, arity: number): NativeFn | undefined {
  const def = lookupLibraryNative(name, arity) ?? lookupContextNative(name, arity);
  return def?.fn;
}

/** Forget per-run native state (tokenize(), the last regex match). */
export function resetNatives(): void {
  resetNativeState();
}
