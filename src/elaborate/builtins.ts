// Functions a script calls without defining them, that are neither script
// functions nor tapset functions: the print family (language constructs in
// stap, with their own type rules) and natives from the runtime registry.

import type { Type } from "../parse/ast.js";
import type { NativeSym } from "./program.js";
import { lookupNative, nativeNames } from "../../runtime/native-registry.js";

/** stap's print_format family: any number of arguments of any scalar type. */
export const PRINT_FAMILY = new Set(["print", "println", "printf", "printd", "printdln", "sprint", "sprintln", "sprintf", "sprintd"]);

/** What a print-family call returns: the s* forms return the text. */
export function printReturnType(name: string): Type {
  return name.startsWith("s") ? "string" : "unknown";
}

/**
 * The run-control functions the translator emits itself (translate/builtins.ts):
 * stap declares them in its tapsets; so do we (tapsets/logging.stp), and
 * these signatures serve when no tapset declares them.
 */
// (null prototype: a script name such as `constructor` must find nothing)
export const RUN_CONTROL: Readonly<Record<string, { params: Type[]; ret: Type }[]>> = Object.assign(Object.create(null), {
  exit: [{ params: [], ret: "unknown" }],
  abort: [{ params: [], ret: "unknown" }],
  error: [{ params: ["string"], ret: "unknown" }],
  warn: [{ params: ["string"], ret: "unknown" }],
  log: [{ params: ["string"], ret: "unknown" }],
  assert: [
    { params: ["long"], ret: "unknown" },
    { params: ["long", "string"], ret: "unknown" },
  ],
});

function toType(t: "long" | "string" | "void"): Type {
  return t === "void" ? "unknown" : t;
}

/** The native of this name and arity (library natives, then context natives, then run control). */
export function findNative(name: string, arity: number): NativeSym | undefined {
  const def = lookupNative(name, arity);
  if (def) return { kind: "native", name, params: [...def.params], returnType: toType(def.ret) };
  const rc = RUN_CONTROL[name]?.find((s) => s.params.length === arity);
  if (rc) return { kind: "native", name, params: rc.params, returnType: rc.ret };
  return undefined;
}

/** Arities a native name exists with (to tell an arity mismatch from an unknown name). */
export function nativeArities(name: string): number[] {
  const out: number[] = [];
  for (let n = 0; n <= 8; n++) if (findNative(name, n)) out.push(n);
  return out;
}

/** Every native name (for "similar:" suggestions). */
export function allNativeNames(): string[] {
  return [...nativeNames(), ...Object.keys(RUN_CONTROL)];
}
