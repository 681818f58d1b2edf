// Pass 4's view of tracefs: this kernel's capabilities and the validation
// of every event definition a plan would write (the runtime owns the code,
// runtime/tracefs; the compiler only asks questions of it).

import { probeCapabilities, type Capabilities } from "../../../runtime/tracefs/capabilities.js";
import { safeDynamicEventLine, safeFilter, UnsafeTextError } from "../../../runtime/tracefs/safe-text.js";
import { onForget } from "../../../runtime/host-state.js";

export { probeCapabilities, formatCapabilities, type Capabilities } from "../../../runtime/tracefs/capabilities.js";
export { reapLeftovers } from "../../../runtime/tracefs/reap.js";
export { waitForReapers } from "../../../runtime/tracefs/reaper.js";
export { UnsafeTextError } from "../../../runtime/tracefs/safe-text.js";

let cached: Capabilities | undefined;
onForget(() => {
  cached = undefined;
});

/** Capabilities probed once per process. */
export function capabilities(): Capabilities {
  return (cached ??= probeCapabilities());
}

/**
 * Why a dynamic event line (with a placeholder group) cannot be written,
 * or undefined when it can: "p:GROUP/p0 /bin/true:0x1040 x=%di:s64".
 */
export function checkDynamicEventLine(line: string, group: string): string | undefined {
  try {
    safeDynamicEventLine(line, group);
    return undefined;
  } catch (err) {
    if (err instanceof UnsafeTextError) return err.message;
    throw err;
  }
}

/** Why a filter cannot be written, or undefined. */
export function checkFilter(filter: string): string | undefined {
  try {
    safeFilter("event filter", filter);
    return undefined;
  } catch (err) {
    if (err instanceof UnsafeTextError) return err.message;
    throw err;
  }
}
