// The checks stap makes once the program is optimized and typed, in its
// order: `>>>` over two literals, @entry outside a .return probe, regex
// literals that do not compile, arrays modified inside their own foreach,
// and @variance bit shifts that disagree. Each stage that finds an error
// ends pass 2 there, as stap's do.

import type { Diagnostic } from "../diagnostic.js";
import type { Expr, Pos, Stmt } from "../parse/ast.js";
import { compileRegex, RegexError } from "../../runtime/regex.js";
import type { FunctionGroup, FunctionSym, GlobalSym, ResolvedProbe } from "./program.js";
import { semErr, semErrPlain } from "./tokens.js";
import { children, type Node, walk } from "./walk.js";

export interface CheckedProgram {
  probes: readonly ResolvedProbe[];
  functions: readonly FunctionSym[];
}

function strip(e: Expr): Expr {
  return e.kind === "group" ? strip(e.inner) : e;
}

/** stap visits functions in the order of its function table: by name. */
function byName(functions: readonly FunctionSym[]): FunctionSym[] {
  return [...functions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function blockOf(f: FunctionSym): Stmt | undefined {
  return f.body.kind === "block" ? f.body : undefined;
}

/** Run the checks; the diagnostics of the first stage that fails (none when all pass). */
export function lateChecks(p: CheckedProgram): Diagnostic[] {
  for (const stage of [literalShifts, entryOutsideReturn, badRegexes, foreachModifications, varianceShifts]) {
    const diags = stage(p);
    if (diags.length > 0) return diags;
  }
  return [];
}

// ------------------------------------------------------------ >>>

/** stap's constant folder has no `>>>`: over two literals it is an error (it is fine at run time). */
function literalShifts(p: CheckedProgram): Diagnostic[] {
  let found: Expr | undefined;
  const visit = (n: Node): void => {
    if (!found && n.kind === "binary" && n.op === ">>>" && strip(n.left).kind === "number" && strip(n.right).kind === "number") found = n;
  };
  for (const pr of p.probes) {
    walk(pr.body, visit);
    if (pr.condition) walk(pr.condition, visit);
  }
  for (const f of p.functions) {
    const body = blockOf(f);
    if (body) walk(body, visit);
  }
  return found ? [semErr("unsupported binary operator >>>", "operator '>>>'", found.pos)] : [];
}

// ------------------------------------------------------------ @entry

function findEntry(n: Node): Expr | undefined {
  if (n.kind === "entry") return n;
  for (const c of children(n)) {
    const e = findEntry(c);
    if (e) return e;
  }
  return undefined;
}

/** No probe tstap resolves today is a .return probe, and a function never is one. */
function entryOutsideReturn(p: CheckedProgram): Diagnostic[] {
  const report = (where: string, e: Expr): Diagnostic[] => [
    semErrPlain(`while processing ${where}`),
    semErr("internal error: @entry is only valid in .return probes", "operator '@entry'", e.pos),
  ];
  for (const f of byName(p.functions)) {
    const body = blockOf(f);
    const e = body && findEntry(body);
    if (e) return report(`function ${f.name}`, e);
  }
  for (const pr of p.probes) {
    const e = findEntry(pr.body);
    if (e) return report(`probe ${pr.pp}`, e);
  }
  return [];
}

// ------------------------------------------------------------ regex literals

/** Errors tstap's regex parser raises that stap only meets later (or never): left to pass 3. */
const NOT_AT_PASS_2 = [/^unbalanced '\)'$/, /escape sequence/, /^invalid repetition/];
/** stap reports an error met at the end of the pattern at the pattern's last character. */
const AT_LAST_CHAR = new Set(["expected ), found end of regex", "expected }, found end of regex", "unclosed character class"]);

function regexProblem(pattern: string): string | undefined {
  try {
    compileRegex(pattern);
    return undefined;
  } catch (e) {
    if (!(e instanceof RegexError)) throw e;
    if (NOT_AT_PASS_2.some((re) => re.test(e.message))) return undefined;
    if (e.message.startsWith("unknown character class")) return `regex compilation error: ${e.message}`;
    const at = AT_LAST_CHAR.has(e.message) ? Math.max(0, pattern.length - 1) : e.offset;
    return `regex compilation error (at position ${at}): ${e.message}`;
  }
}

function badRegexes(p: CheckedProgram): Diagnostic[] {
  let first: Diagnostic | undefined;
  const visit = (n: Node): void => {
    if (first || n.kind !== "regex") return;
    const pattern = strip(n.pattern);
    if (pattern.kind !== "string") return;
    const problem = regexProblem(pattern.value);
    if (problem !== undefined) first = semErr(problem, `string '${pattern.raw ?? pattern.value}'`, pattern.pos);
  };
  for (const pr of p.probes) walk(pr.body, visit);
  for (const f of byName(p.functions)) {
    const body = blockOf(f);
    if (body) walk(body, visit);
  }
  return first ? [first] : [];
}

// ------------------------------------------------------------ foreach

/** The global array an element write lands in: `a[k] = v`, `a[k]++`, `a[k] <<< v`, `delete a[k]` (not `delete a`). */
function writtenArray(n: Node): { sym: GlobalSym; at: Pos } | undefined {
  let target: Expr | undefined;
  if (n.kind === "assign") target = n.target;
  else if (n.kind === "crement") target = n.operand;
  else if (n.kind === "delete") target = n.target;
  if (!target) return undefined;
  const t = strip(target);
  if (t.kind !== "index") return undefined;
  const base = strip(t.array);
  if (base.kind !== "ident" || (base.sym as { kind?: string } | undefined)?.kind !== "global") return undefined;
  return { sym: base.sym as GlobalSym, at: base.pos };
}

/** The iterated global of a foreach (`a`, `a[1,*]`). */
function iterated(array: Expr): GlobalSym | undefined {
  let x = strip(array);
  if (x.kind === "index") x = strip(x.array);
  return x.kind === "ident" && (x.sym as { kind?: string } | undefined)?.kind === "global" ? (x.sym as GlobalSym) : undefined;
}

/**
 * stap refuses an element write to an array inside a foreach over it, in
 * the loop's body or in a function the body calls directly (a function's
 * own calls are not followed, as stap's).
 */
function foreachModifications(p: CheckedProgram): Diagnostic[] {
  const writes = new Map<FunctionSym, Set<GlobalSym>>();
  const writesOf = (f: FunctionSym): Set<GlobalSym> => {
    let set = writes.get(f);
    if (!set) {
      set = new Set();
      const body = blockOf(f);
      const found = set;
      if (body) walk(body, (n) => {
        const w = writtenArray(n);
        if (w) found.add(w.sym);
      });
      writes.set(f, set);
    }
    return set;
  };
  const diags: Diagnostic[] = [];
  const visit = (n: Node, looping: readonly GlobalSym[]): void => {
    if (n.kind === "foreach") {
      for (const k of n.keys) visit(k, looping);
      if (n.value) visit(n.value, looping);
      visit(n.array, looping);
      if (n.limit) visit(n.limit, looping);
      const sym = iterated(n.array);
      visit(n.body, sym ? [...looping, sym] : looping);
      return;
    }
    if (looping.length > 0) {
      const w = writtenArray(n);
      // one error per enclosing loop over the array, as stap's
      if (w) {
        for (const a of looping) {
          if (a === w.sym) diags.push(semErr(`variable '${a.name}' modified during 'foreach' iteration`, `identifier '${a.name}'`, w.at, undefined, "foreach-modified"));
        }
      }
      if (n.kind === "call" && (n.sym as { kind?: string } | undefined)?.kind === "function-group") {
        const group = n.sym as FunctionGroup;
        for (const a of looping) {
          if (group.overloads.some((f) => writesOf(f).has(a))) diags.push(semErr(`function call modifies var '${a.name}' during 'foreach' iteration`, `identifier '${n.name}'`, n.pos, undefined, "foreach-call-modifies"));
        }
      }
    }
    for (const c of children(n)) visit(c, looping);
  };
  for (const f of byName(p.functions)) {
    const body = blockOf(f);
    if (body) visit(body, []);
  }
  for (const pr of p.probes) visit(pr.body, []);
  return diags;
}

// ------------------------------------------------------------ @variance

/** Every @variance of a statistic asks for the same bit shift; an unset (0) one takes the next asked. */
function varianceShifts(p: CheckedProgram): Diagnostic[] {
  const shifts = new Map<GlobalSym, bigint>();
  let first: Diagnostic | undefined;
  const visit = (n: Node): void => {
    if (first || n.kind !== "statop" || n.op !== "variance") return;
    let x = strip(n.operand);
    if (x.kind === "index") x = strip(x.array);
    if (x.kind !== "ident" || (x.sym as { kind?: string } | undefined)?.kind !== "global") return;
    const sym = x.sym as GlobalSym;
    const arg = n.args[0] ? strip(n.args[0]) : undefined;
    const shift = arg?.kind === "number" ? arg.value : 0n;
    const before = shifts.get(sym) ?? 0n;
    if (before === 0n) shifts.set(sym, shift);
    else if (shift !== before) first = semErr(`conflicting bit shifts declared (previously ${before})`, "operator '@variance'", n.pos);
  };
  for (const f of byName(p.functions)) {
    const body = blockOf(f);
    if (body) walk(body, visit);
  }
  for (const pr of p.probes) walk(pr.body, visit);
  return first ? [first] : [];
}
