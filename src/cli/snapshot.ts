// The entry point of tstap's startup snapshot (src/cli/build-snapshot.ts):
// at build time it loads every module, builds the parser and runs passes 1-4
// on a few scripts (warm.ts), so that their code is compiled; a run started
// from the snapshot (bin/tstap) only re-pairs the clocks and goes.
//
// A run gets `node --snapshot-blob BLOB -- ROOT ARGS...`: process.argv is
// [node, ROOT, ARGS...], ROOT being the checkout (for tapsets/).

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { startupSnapshot } from "node:v8";
import { runCli } from "./main.js";
import { defaultParseOptions, parse } from "../parse/index.js";
import { resetClockBase } from "../../runtime/clock.js";
import { resetRunStart } from "../../runtime/natives-system.js";
import { warmPasses } from "./warm.js";

declare global {
  // where the bundle stands in for import.meta.url and import.meta.dirname (see src/cli/build-snapshot.ts)
  var __TSTAP_MODULE_URL__: string | undefined;
  var __TSTAP_MODULE_DIR__: string | undefined;
}

function startFromSnapshot(): void {
  resetClockBase();
  resetRunStart();
  const root = process.argv[1] ?? ".";
  // as dist/src/elaborate/library.js would see them (a path: no URL to make and take apart at every start)
  globalThis.__TSTAP_MODULE_DIR__ = resolve(root, "dist/src/elaborate");
  Object.defineProperty(globalThis, "__TSTAP_MODULE_URL__", { get: () => pathToFileURL(`${root}/dist/src/elaborate/library.js`).href, configurable: true });
  runCli(process.argv.slice(2));
}

// Build the parser now, so that runs start with it built.
parse({ file: "<snapshot>", text: "probe begin { printf(\"%d\\n\", 1) }", isTapset: false }, defaultParseOptions({ args: [] }));
if (startupSnapshot.isBuildingSnapshot()) {
  startupSnapshot.setDeserializeMainFunction(startFromSnapshot);
  // node takes the snapshot once this is done (its event loop is then empty); the build runs in the checkout.
  // The parse above read the kernel config: the warm-up forgets it with the rest of this host.
  void warmPasses(process.cwd()).then((notes) => {
    for (const n of notes) process.stderr.write(`tstap snapshot: ${n}\n`);
  });
}
