// Builds tstap's startup snapshot (dist/tstap.blob), run by `npm run build`
// after tsc (as dist/src/cli/build-snapshot.js). Node 20 loads ~100 ES modules and builds the chevrotain parser
// on every start; a V8 startup snapshot of all of that starts several times
// faster. Steps: bundle dist/src/cli/snapshot.js into one CommonJS file
// (esbuild), then let `node --build-snapshot` run it and save the heap.
//
// A snapshot only fits the node binary that built it, on a CPU with the same
// features, under the same V8 options: the blob is tagged with that binary's
// path, the CPU's features and NODE_OPTIONS (dist/tstap.blob.node), and
// bin/tstap uses it only when all three match, and only while the binary is
// older than the blob.
// Any failure here leaves no blob and says why; bin/tstap then starts
// from dist/src/cli/start.js as before.

import { execFileSync } from "node:child_process";
import { readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { OnResolveArgs, PluginBuild } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const dist = join(root, "dist");
const bundle = join(dist, "tstap-snapshot.cjs");
const blob = join(dist, "tstap.blob");
const tag = join(dist, "tstap.blob.node");

for (const f of [bundle, blob, tag]) rmSync(f, { force: true });

try {
  const { build } = (await import("esbuild")) as typeof import("esbuild");
  await build({
    entryPoints: [join(dist, "src", "cli", "snapshot.js")],
    outfile: bundle,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    logLevel: "error",
    // the bundle's source text is part of the saved heap: without its comments and blanks the blob is
    // 1.3 MB smaller (7.7 -> 6.4 MB), less to read at every start; names stay as they are
    minifyWhitespace: true,
    // the bundle finds tapsets/ from the root bin/tstap passes (snapshot.ts)
    define: { "import.meta.url": "globalThis.__TSTAP_MODULE_URL__", "import.meta.dirname": "globalThis.__TSTAP_MODULE_DIR__" },
    plugins: [
      {
        // chevrotain.js loads the package's single-file build with a
        // top-level await; in the bundle it is a plain import of that file
        name: "chevrotain-single-file",
        setup(b: PluginBuild) {
          b.onResolve({ filter: /[/\\]chevrotain\.js$/ }, (args: OnResolveArgs) =>
            args.importer.includes(join("dist", "src", "parse")) ? { path: args.path, namespace: "tstap-chevrotain" } : undefined,
          );
          b.onLoad({ filter: /.*/, namespace: "tstap-chevrotain" }, () => ({
            contents: `export * from ${JSON.stringify(join(root, "node_modules", "chevrotain", "lib", "chevrotain.mjs"))};`,
            loader: "js",
            resolveDir: root,
          }));
        },
      },
    ],
  });
  // bin/tstap runs the blob with the same V8 flags (--stack-size and --no-lazy-feedback-allocation are part of the snapshot's tag)
  execFileSync(process.execPath, ["--stack-size=6000", "--no-concurrent-recompilation", "--no-lazy-feedback-allocation", "--snapshot-blob", blob, "--build-snapshot", bundle], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  // what V8 checks the blob against besides the binary: the CPU's features and the V8 options
  let cpu = "";
  try {
    cpu = readFileSync("/sys/devices/system/cpu/modalias", "latin1").split("\n")[0]!;
  } catch {
    // no such file: the launcher reads "" too
  }
  writeFileSync(tag, `${realpathSync(process.execPath)}\ncpu ${cpu}\noptions ${process.env.NODE_OPTIONS ?? ""}\n`);
} catch (err) {
  for (const f of [bundle, blob, tag]) rmSync(f, { force: true });
  const stderr = (err as { stderr?: Buffer }).stderr?.toString();
  const why = stderr || (err instanceof Error ? err.message : String(err));
  process.stderr.write(`tstap: no startup snapshot (bin/tstap will start without one, more slowly): ${why.trim().split("\n")[0]}\n`);
}
