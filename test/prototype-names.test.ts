// Every name JavaScript's Object.prototype carries (constructor, __proto__,
// toString, hasOwnProperty...) through each kind of name lookup, driven
// through the CLI: each must behave exactly as an ordinary unknown (or
// ordinary user-chosen) name does, with the name swapped in. A table keyed by
// a user-supplied name that is a plain object answers these names with its
// prototype's members instead ("function Object() { [native code] }",
// "RUN_CONTROL[name]?.find is not a function").

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const tstap = join(import.meta.dirname, "..", "bin", "tstap");
const names = Object.getOwnPropertyNames(Object.prototype).sort();
const control = "qqqzzz";

interface Template {
  what: string;
  argv: (name: string) => string[];
  /** positions after the name appear: compare with a control name of the same length */
  sameLength?: boolean;
}

const e = (script: (n: string) => string, ...flags: string[]): ((n: string) => string[]) => (n) => [...flags, "-e", script(n)];

const templates: Template[] = [
  { what: "probe point, first component", argv: e((n) => `probe ${n} {}`, "-p2") },
  { what: "probe point, later component", argv: e((n) => `probe process("/bin/true").${n} {}`, "-p2") },
  { what: "probe point, process component", argv: e((n) => `probe process.${n} {}`, "-p2") },
  { what: "probe point, timer component", argv: e((n) => `probe timer.${n}(1) {}`, "-p2") },
  { what: "probe point, tapset alias", argv: e((n) => `probe syscall.${n} {}`, "-p2") },
  { what: "tracepoint name", argv: e((n) => `probe kernel.trace("${n}") {}`, "-p2") },
  { what: "tracepoint field", argv: e((n) => `probe kernel.trace("sched:sched_process_exit") { println($${n}) }`, "-p2") },
  { what: "list probes", argv: (n) => ["-l", `process.${n}`] },
  { what: "unknown function", argv: e((n) => `probe begin { x = ${n}() }`, "-p2") },
  { what: "script function", argv: e((n) => `function ${n}(a) { return a + 1 } probe begin { println(${n}(41)); exit() }`) },
  { what: "global", argv: e((n) => `global ${n}; probe begin { ${n} = 7; println(${n}); exit() }`) },
  { what: "global array", argv: e((n) => `global ${n}; probe begin { ${n}["${n}"] = 7; foreach (k in ${n}) println(k, ${n}[k]); exit() }`) },
  { what: "local", argv: e((n) => `probe begin { ${n} = "s"; println(${n}); exit() }`) },
  { what: "function parameter", argv: e((n) => `function f(${n}) { return ${n} * 2 } probe begin { println(f(2)); exit() }`) },
  { what: "statistic operator", argv: e((n) => `global s; probe begin { s <<< 1; println(@${n}(s)) }`, "-p2"), sameLength: true },
  { what: "defined macro", argv: e((n) => `@define ${n} %( 5 %) probe begin { println(@${n}); exit() }`) },
  { what: "undefined macro", argv: e((n) => `probe begin { println(@${n}) }`, "-p2") },
  { what: "preprocessor name", argv: e((n) => `%( ${n} == "y" %? probe begin { println(1) } %: probe begin { println(2) } %)`, "-p1") },
  { what: "regex class", argv: e((n) => `probe begin { if ("abc" =~ "[[:${n}:]]") println(1) }`, "-p2") },
  { what: "environment variable", argv: e((n) => `probe begin { printf("[%s]\\n", env_var("${n}")); exit() }`) },
  { what: "-D name", argv: (n) => [`-D${n}=1`, "-e", "probe begin { println(1); exit() }"] },
  { what: "@defined target variable", argv: e((n) => `probe kernel.trace("sched:sched_process_exit") { println(@defined($${n}) ? 1 : 0) }`, "-p2") },
];

function run(argv: string[]): string {
  const r = spawnSync(tstap, argv, { encoding: "latin1", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
  if (r.error) throw r.error;
  // suggestions depend on the name's spelling; the rest must not
  const out = `status ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  return out.replace(/ \(similar: [^)]*\)| \(alternatives: [^)]*\)| did you mean [^\n]*| \[man error::[^\]]*\]/g, "");
}

describe("Object.prototype names are ordinary names", () => {
  for (const t of templates)
    it(t.what, { timeout: 120_000 }, () => {
      const expected = run(t.argv(control));
      expect(expected).not.toMatch(/internal|    at /);
      for (const n of names) {
        const c = t.sameLength ? control.repeat(4).slice(0, n.length) : control;
        const want = t.sameLength ? run(t.argv(c)) : expected;
        expect(run(t.argv(n)), `${t.what}: ${n}`).toBe(want.split(c).join(n));
      }
    });
});
