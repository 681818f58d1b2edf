// Runs once before any test file is imported: mounts tracefs when we are root
// and it is not mounted yet, so that every kernel test sees the same state.
// Nothing is skipped when this fails; the kernel tests fail, saying why.

import { findTracefs } from "../../runtime/tracefs/tracefs.js";

export default function setup(): void {
  try {
    findTracefs({ mount: true });
  } catch {
    // the kernel tests report the reason themselves (test/support/kernel-gate.ts)
  }
}
