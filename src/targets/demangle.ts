// C++ (Itanium ABI) demangling through binutils' c++filt, batched, plus the scope/base-name split of a demangled name.
//
// Why c++filt and not an npm demangler: measured on this machine with
// libstdc++.so.6's 5,891 mangled .dynsym names repeated 8 times (47,128 names):
// one batched `c++filt` run took 118 ms wall including process start; the
// best-kept npm demangler that runs on Node 20 (gecko-profiler-demangle 0.4,
// Rust's cpp_demangle compiled to WASM) took 265 ms for the same names, and
// 7,656 of its 47,128 results differed from `nm -C`/c++filt (it abbreviates
// `std::basic_string<char, ...>` to `std::string`, and mis-prints some
// nested names). c++filt is libiberty's demangler, the one nm, gdb, perf and
// stap's own output follow, so names match what users see elsewhere, and it
// is faster: the per-call cost is one process start (~3 ms), the per-name
// cost is native code. binutils is installed wherever gcc is; without it,
// names stay mangled and demanglerProblem() says why.

import { spawnSync } from "node:child_process";
import { hostCache, onForget } from "../../runtime/host-state.js";

const cache = hostCache<string, string>();
let problem: string | undefined;
onForget(() => {
  problem = undefined;
});

/** Whether `name` is an Itanium-mangled C++ name (what c++filt would change). */
export function isMangled(name: string): boolean {
  return name.startsWith("_Z") && name.length > 2;
}

/**
 * Demangle many names at once (one c++filt run for all the uncached
 * ones). Names that are not mangled, or that c++filt leaves alone, come
 * back unchanged; the result is in the order of `names`.
 */
export function demangleAll(names: readonly string[]): string[] {
  const todo: string[] = [];
  const queued = new Set<string>();
  for (const n of names) {
    // a name with a newline cannot be sent line by line; it stays as it is
    if (isMangled(n) && !cache.has(n) && !queued.has(n) && !n.includes("\n")) {
      todo.push(n);
      queued.add(n);
    }
  }
  if (todo.length > 0) runCxxFilt(todo);
  return names.map((n) => cache.get(n) ?? n);
}

export function demangle(name: string): string {
  return demangleAll([name])[0]!;
}

/** Why names are not being demangled (c++filt missing or failing), or undefined when they are. */
export function demanglerProblem(): string | undefined {
  return problem;
}

function runCxxFilt(names: string[]): void {
  const r = spawnSync("c++filt", [], { input: names.join("\n") + "\n", encoding: "utf8", maxBuffer: 1 << 30 });
  const lines = r.status === 0 && typeof r.stdout === "string" ? r.stdout.split("\n") : [];
  if (lines.length < names.length) {
    problem = r.error !== undefined ? `cannot run c++filt to demangle C++ names: ${r.error.message}` : `c++filt failed (${r.stderr?.toString().trim() || `exit status ${r.status}`}); C++ names are shown mangled`;
    for (const n of names) cache.set(n, n);
    return;
  }
  if (cache.size + names.length > 2_000_000) cache.clear();
  for (let i = 0; i < names.length; i++) cache.set(names[i]!, lines[i]!);
}

/** The parts of a demangled function name that probe-point patterns match against. */
export interface CxxNameParts {
  /** scope and name without parameters, return type, clone suffix or ABI tags: `net::Server::handle`, `Box<long>::get` */
  qualified: string;
  /** the last component: `handle`, `get`, `operator==`, `twice<int>` */
  base: string;
}

/**
 * Split a demangled name (`int net::Server::handle(int) const [clone .isra.0]`)
 * into the qualified name and the base name.
 */
export function cxxNameParts(demangled: string): CxxNameParts {
  let s = demangled;
  for (;;) {
    const t = s.replace(/ \[clone [^\]]*\]$/, "").replace(/\s+(const|volatile|&&|&|noexcept)$/, "");
    if (t === s) break;
    s = t;
  }
  if (s.endsWith(")")) {
    let depth = 0;
    for (let i = s.length - 1; i >= 0; i--) {
      const c = s[i];
      if (c === ")") depth++;
      else if (c === "(" && --depth === 0) {
        s = s.slice(0, i);
        break;
      }
    }
  }
  // drop a return type (template functions print one): the name starts after the last top-level space
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (depth === 0 && c === "o" && s.startsWith("operator", i) && (i === 0 || s[i - 1] === ":" || s[i - 1] === " ") && !/[\w]/.test(s[i + 8] ?? "")) break;
    if (c === "<" || c === "(" || c === "{" || c === "[") depth++;
    else if (c === ">" || c === ")" || c === "}" || c === "]") depth = Math.max(0, depth - 1);
    else if (c === " " && depth === 0) start = i + 1;
  }
  const qualified = s.slice(start).replace(/\[abi:[^\]]*\]/g, "");
  return { qualified, base: lastComponent(qualified) };
}

function lastComponent(q: string): string {
  let depth = 0;
  let last = 0;
  for (let i = 0; i < q.length; i++) {
    const c = q[i]!;
    if (depth === 0 && c === "o" && q.startsWith("operator", i) && (i === 0 || q[i - 1] === ":")) return q.slice(last);
    if (c === "<" || c === "(" || c === "{") depth++;
    else if (c === ">" || c === ")" || c === "}") depth = Math.max(0, depth - 1);
    else if (c === ":" && q[i + 1] === ":" && depth === 0) {
      last = i + 2;
      i++;
    }
  }
  return q.slice(last);
}

/** A name without its template arguments: `Box<long>::get` → `Box::get`, `twice<int>` → `twice`. */
export function withoutTemplateArgs(name: string): string {
  let out = "";
  let depth = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (depth === 0 && c === "o" && name.startsWith("operator", i) && (i === 0 || name[i - 1] === ":")) {
      // keep the operator's own symbol (`operator<`), drop template args after it (`operator< <A>`)
      const m = /^operator(\(\)|\[\]|<=>|<<=|>>=|->\*|<<|>>|<=|>=|->|[<>]|[^\s<(]*)/.exec(name.slice(i))!;
      out += m[0];
      i += m[0].length - 1;
      continue;
    }
    if (c === "<") depth++;
    else if (c === ">") depth = Math.max(0, depth - 1);
    else if (depth === 0 && c !== " ") out += c;
    else if (depth === 0 && c === " " && !/^\s*</.test(name.slice(i))) out += c;
  }
  return out;
}
