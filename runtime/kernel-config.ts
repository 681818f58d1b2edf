// The running kernel's config text, read once per process: pass 1's
// `%( CONFIG_... %)` conditions, pass 4's capabilities and the runtime's HZ
// all ask for it, and /proc/config.gz costs a gunzip of ~100 kB each time.

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { onForget } from "./host-state.js";

let procText: string | null | undefined;
const bootText = new Map<string, string | null>();
onForget(() => {
  procText = undefined;
  bootText.clear();
});

/** /proc/config.gz, unzipped; undefined when it cannot be read. */
export function procConfigText(): string | undefined {
  if (procText === undefined) {
    try {
      procText = gunzipSync(readFileSync("/proc/config.gz")).toString("latin1");
    } catch {
      procText = null;
    }
  }
  return procText ?? undefined;
}

/** /boot/config-RELEASE, then /proc/config.gz; undefined when neither can be read. */
export function kernelConfigText(release: string): string | undefined {
  let text = bootText.get(release);
  if (text === undefined) {
    try {
      text = readFileSync(`/boot/config-${release}`, "latin1");
    } catch {
      text = null;
    }
    bootText.set(release, text);
  }
  return text ?? procConfigText();
}
