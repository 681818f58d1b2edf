// The one rule for tests that touch the kernel: they run for real, and when
// tracefs cannot be used they fail with the reason, never skip.

import { probeCapabilities } from "../../runtime/tracefs/capabilities.js";

let cached: string | undefined | null = null;

/** Why the kernel tests cannot run here, or undefined when tracefs is usable. */
export function tracefsProblem(): string | undefined {
  if (cached !== null) return cached;
  const c = probeCapabilities();
  cached =
    c.unusable ??
    (c.root === undefined
      ? "tracefs not found"
      : !c.instances || !c.tracePipeRaw
        ? `tracefs at ${c.root} lacks ${!c.instances ? "instances/" : "per_cpu/*/trace_pipe_raw"}`
        : undefined);
  return cached;
}

/** Throws, naming the reason, when tracefs is unusable; call it in beforeAll of every kernel suite. */
export function requireKernelTracing(): void {
  const why = tracefsProblem();
  if (why !== undefined) throw new Error(`this test needs a usable tracefs (run as root on a kernel with CONFIG_TRACING): ${why}`);
}
