// Every native function the generated code can call, by name and arity:
// the library natives (natives.ts) and the context natives that answer for
// the event being handled (context-kernel.ts, user-stacks.ts). The translator (pass 2's
// binding, pass 4's check) and the runtime both look natives up here and
// nowhere else.

import { lookupNative as lookupLibraryNative, natives, nativeMayFail as libraryMayFail, type NativeDef, type NativeValue } from "./natives.js";
import { contextNatives, lookupContextNative } from "./context-kernel.js";
import { lookupUserStackNative, userStackNatives, userStackNativeMayFail } from "./user-stacks.js";

export type { NativeDef, NativeType, NativeValue } from "./natives.js";

export type NativeFn = (...args: NativeValue[]) => NativeValue | undefined;

/** A native by name and arity: the library natives, then the context natives. */
export function lookupNative(name: string, arity: number): NativeDef | undefined {
  return lookupLibraryNative(name, arity) ?? lookupContextNative(name, arity) ?? lookupUserStackNative(name, arity);
}

/** Every native a script may call by name (the field readers are the translator's own). */
export function nativeNames(): string[] {
  return [...Object.keys(natives), ...Object.keys(contextNatives), ...Object.keys(userStackNatives)];
}

/** Natives that can raise a script error (stap names their call site in it). */
export function nativeMayFail(name: string): boolean {
  return libraryMayFail(name) || userStackNativeMayFail(name);
}
