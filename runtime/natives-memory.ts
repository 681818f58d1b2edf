// Natives that read kernel or user memory at an address (kernel_string,
// kernel_long, user_string, user_long ...). tstap reads target memory only at event time, through tracefs fetch
// arguments the translator plans (DESIGN.md decision 1); a call that reaches
// the run time with a bare address cannot be served, so it fails clearly
// instead of inventing a value.

import { type Long, toUnsigned } from "./int64.js";
import { ScriptError } from "./errors.js";

export function refuseKernelRead(fn: string, addr: Long): never {
  return refuseRead("kernel", fn, addr);
}

export function refuseUserRead(fn: string, addr: Long): never {
  return refuseRead("user", fn, addr);
}

function refuseRead(space: "kernel" | "user", fn: string, addr: Long): never {
  throw new ScriptError(
    `cannot read ${space} memory at 0x${toUnsigned(addr).toString(16)} in ${fn}(): ` +
      "tstap reads target memory only at event time, through the probe's fetch arguments",
  );
}
