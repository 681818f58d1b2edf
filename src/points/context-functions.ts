// Context functions that only mean something where a probe family offers
// what they read: a return value in return probes, arguments and registers
// in function probes. A family says what its points offer
// (ProbeFamily.offers); pass 2 refuses the call elsewhere, with a position.

import type { ContextOffer } from "./family.js";

interface Need {
  offer: ContextOffer;
  /** completes "NAME() is not available in probe 'PP': it ..." */
  why: string;
}

const RETURN: Need = { offer: "return-value", why: "reads the return value, which only return probes (.return) have" };
const ARGS: Need = { offer: "arguments", why: "reads a function argument, which only function probes (.function, .call, .return) have" };
const REGS: Need = { offer: "registers", why: "reads a register of the probed task, which only function and statement probes have" };
const UADDR: Need = { offer: "user-address", why: "reads the probed user-space address, which only user-space probes have" };

const NEEDS: Readonly<Record<string, Need>> = {
  returnval: RETURN,
  returnstr: RETURN,
  int_arg: ARGS,
  uint_arg: ARGS,
  long_arg: ARGS,
  ulong_arg: ARGS,
  longlong_arg: ARGS,
  ulonglong_arg: ARGS,
  s32_arg: ARGS,
  u32_arg: ARGS,
  s64_arg: ARGS,
  u64_arg: ARGS,
  pointer_arg: ARGS,
  register: REGS,
  u_register: REGS,
  uaddr: UADDR,
};

/** What context function `name` needs of its probe, undefined when it works anywhere. */
export function contextFunctionNeed(name: string): Need | undefined {
  return Object.prototype.hasOwnProperty.call(NEEDS, name) ? NEEDS[name] : undefined;
}
