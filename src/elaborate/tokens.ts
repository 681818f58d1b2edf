// How stap names the token a node stands for in a message
// ("identifier 'x'", "operator '='", "keyword"), and pass-2 diagnostics
// built from nodes.

import type { Diagnostic } from "../diagnostic.js";
import type { Expr, Pos, Stmt } from "../parse/ast.js";

/** stap prints a token as its kind and content; keywords print their kind only. */
export function describeExpr(e: Expr): string {
  switch (e.kind) {
    case "machine-access":
      return `operator '@${e.op}'`;
    case "number":
      return `number '${e.text}'`;
    case "string":
      return `string '${printable(e.raw ?? e.value)}'`;
    case "ident":
    case "call":
      return `identifier '${e.name}'`;
    case "index":
      return e.array.kind === "ident" ? `identifier '${e.array.name}'` : describeExpr(e.array);
    case "target":
      return e.addressOf ? "operator '&'" : `identifier '$${e.name}'`;
    case "target-vars":
      return `identifier '$$${e.which}${e.pretty}'`;
    case "binary":
    case "logical":
    case "assign":
    case "regex":
      return `operator '${e.op}'`;
    case "unary":
      return `operator '${e.op}'`;
    case "crement":
      return `operator '${e.op}'`;
    case "ternary":
      return "operator '?'";
    case "in":
      return "keyword";
    case "group":
      return "operator '('";
    case "wildcard":
      return "operator '*'";
    case "statop":
      return `operator '@${e.op}'`;
    case "hist":
      return `operator '@hist_${e.hist}'`;
    case "cast":
      return e.autocast ? describeExpr(e.operand) : "operator '@cast'";
    case "atvar":
      return "operator '@var'";
    case "entry":
      return "operator '@entry'";
    case "defined":
      return "operator '@defined'";
    case "probewrite":
      return "operator '@probewrite'";
    case "const":
      return "operator '@const'";
    case "embedded-expr":
      return "embedded-code";
  }
}

export function describeStmt(s: Stmt): string {
  switch (s.kind) {
    case "expr":
      return describeExpr(s.expr);
    case "block":
      return "operator '{'";
    case "empty":
      return "operator ';'";
    case "embedded-stmt":
      return "embedded-code";
    default:
      return "keyword";
  }
}

function printable(s: string): string {
  let out = "";
  for (const c of s) {
    const code = c.charCodeAt(0);
    out += code >= 0x20 && code < 0x7f ? c : "?";
  }
  return out;
}

/** A semantic error naming a token, in stap's layout. */
export function semErr(message: string, token: string, pos: Pos, token2?: { token: string; pos: Pos }, similar?: string): Diagnostic {
  return { severity: "error", kind: "semantic error", message, pos, token, ...(token2 ? { token2 } : {}), ...(similar ? { similar } : {}) };
}

export function semErrAt(message: string, e: Expr): Diagnostic {
  return semErr(message, describeExpr(e), e.pos);
}

/** A semantic error with no token (`semantic error: no probes found`). */
export function semErrPlain(message: string): Diagnostic {
  return { severity: "error", kind: "semantic error", message, token: "" };
}

export function warn(message: string, token: string, pos: Pos): Diagnostic {
  return { severity: "warning", kind: "WARNING", message, pos, token };
}

/** Thrown to stop elaborating one probe or function at its first error, as stap does. */
export class SemanticFailure extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics[0]?.message ?? "semantic error");
  }
}
