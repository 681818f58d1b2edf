// The compile-time builtins: the print family (formats compiled once), and
// the functions that act on the run itself (exit, error, warn, abort, log,
// assert). Everything else a script calls is a user function or a native.

import type { CallExpr, Expr } from "../parse/ast.js";
import { Gen, stringLiteral } from "./gen-context.js";
import { emitExpr, noteHist, statObject } from "./expr.js";
import { identifierAt } from "./near.js";
import { formatProblem } from "../../runtime/printf.js";

const names = new Set([
  "print",
  "println",
  "printf",
  "printd",
  "printdln",
  "sprint",
  "sprintln",
  "sprintf",
  "sprintd",
  "exit",
  "error",
  "warn",
  "abort",
  "log",
  "assert",
]);

export function isBuiltin(name: string): boolean {
  return names.has(name);
}

/** One argument of print/println/printd: a long prints in decimal, a string as is. */
function printArg(g: Gen, a: Expr): string {
  const code = outputArg(g, a);
  return a.type === "string" ? code : `("" + ${code})`;
}

/**
 * An argument of a print function. A string literal is passed whole, as stap
 * passes it (a `const char *`): only strings held in variables and results
 * are cut at MAXSTRINGLEN.
 */
function outputArg(g: Gen, a: Expr): string {
  const inner = a.kind === "group" ? a.inner : a;
  return inner.kind === "string" ? stringLiteral(inner.value) : emitExpr(g, a);
}

function histArg(a: Expr | undefined): a is Expr & { kind: "hist" } {
  return a !== undefined && a.kind === "hist";
}

export function emitBuiltin(g: Gen, e: CallExpr, _unused: boolean): string {
  const args = e.args;
  const name = e.name;
  const toStream = !name.startsWith("s");
  const wrap = (s: string): string => (toStream ? `$out(${s})` : `$trunc(${s})`);
  switch (name) {
    case "print":
    case "println":
    case "sprint":
    case "sprintln": {
      const nl = name.endsWith("ln");
      if (args.length === 1 && histArg(args[0])) {
        const h = args[0];
        const spec = noteHist(g, h);
        const near = g.near(identifierAt(name, e.pos));
        const text = `$histText(${statObject(g, h.operand)}, ${spec}, ${near})`;
        return wrap(nl ? `${text} + "\\n"` : text);
      }
      if (args.length === 0) return nl ? wrap('"\\n"') : toStream ? "0" : '""';
      const parts = args.map((a) => printArg(g, a));
      if (nl) parts.push('"\\n"');
      return wrap(parts.join(" + "));
    }
    case "printd":
    case "printdln":
    case "sprintd": {
      const delim = args[0];
      if (!delim || delim.kind !== "string") return g.fail(`${name}: the delimiter must be a string literal`, e.pos);
      const d = stringLiteral(delim.value);
      const parts = args.slice(1).map((a) => printArg(g, a));
      let code = parts.length ? parts.join(` + ${d} + `) : '""';
      if (name === "printdln") code += ' + "\\n"';
      return wrap(code);
    }
    case "printf":
    case "sprintf": {
      const fmt = args[0];
      if (!fmt) return g.fail(`${name} needs a format string`, e.pos);
      const rest = args.slice(1).map((a) => outputArg(g, a));
      let formatter: string;
      if (fmt.kind === "string") {
        const problem = formatProblem(fmt.value);
        if (problem) return g.fail(`${name}: ${problem}`, fmt.pos);
        formatter = g.constant("$F", `$R.format(${stringLiteral(fmt.value)})`);
      } else formatter = `$R.format(${emitExpr(g, fmt)})`;
      return toStream ? `$out(${formatter}.p([${rest.join(", ")}]))` : `${formatter}.s([${rest.join(", ")}])`;
    }
    case "exit":
      return "$exit()";
    case "abort":
      return "$abort()";
    case "error":
      return `$error(${args[0] ? emitExpr(g, args[0]) : '""'})`;
    case "warn":
      return `$warn(${args[0] ? emitExpr(g, args[0]) : '""'})`;
    case "log":
      return `$out(${args[0] ? emitExpr(g, args[0]) : '""'} + "\\n")`;
    case "assert": {
      const cond = args[0] ? emitExpr(g, args[0]) : "0";
      const msg = args[1] ? emitExpr(g, args[1]) : '"Assertion failed"';
      return `(${cond} ? 0 : $error(${msg}))`;
    }
  }
  return g.fail(`unknown builtin '${name}'`, e.pos);
}
