// The "near" text of a run-time error: SystemTap prints the token its
// translator last recorded (c->last_stmt) as `<kind> '<text>' at file:line:col`,
// keywords without their text ("keyword at ...").

import type { Expr, Pos, Stmt } from "../parse/ast.js";

export function at(pos: Pos): string {
  return `${pos.file}:${pos.line}:${pos.col}`;
}

function printable(s: string): string {
  let o = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    o += c >= 32 && c < 127 ? s[i] : "?";
  }
  return o;
}

export function identifierAt(name: string, pos: Pos): string {
  return `identifier '${printable(name)}' at ${at(pos)}`;
}

export function operatorAt(op: string, pos: Pos): string {
  return `operator '${printable(op)}' at ${at(pos)}`;
}

export function keywordAt(pos: Pos): string {
  return `keyword at ${at(pos)}`;
}

/** The first token of an expression, as stap's expression statements record it. */
export function firstToken(e: Expr): string {
  switch (e.kind) {
    case "number":
      return `number '${e.text}' at ${at(e.pos)}`;
    case "string":
      return `string '${printable(e.value)}' at ${at(e.pos)}`;
    case "ident":
      return identifierAt(e.name, e.pos);
    case "call":
      return identifierAt(e.name, e.pos);
    case "binary":
    case "logical":
      return firstToken(e.left);
    case "assign":
      return firstToken(e.target);
    case "ternary":
      return firstToken(e.cond);
    case "regex":
      return firstToken(e.subject);
    case "in":
      return e.keys.length === 1 && e.keys[0]!.pos.offset <= e.pos.offset ? firstToken(e.keys[0]!) : operatorAt("[", e.pos);
    case "index":
      return firstToken(e.array);
    case "crement":
      return e.prefix ? operatorAt(e.op, e.pos) : firstToken(e.operand);
    case "unary":
      return operatorAt(e.op, e.pos);
    case "group":
      return operatorAt("(", e.pos);
    case "statop":
      return operatorAt("@" + e.op, e.pos);
    case "hist":
      return operatorAt("@hist_" + e.hist, e.pos);
    case "target":
      return `identifier '$${printable(e.name)}' at ${at(e.pos)}`;
    case "wildcard":
      return operatorAt("*", e.pos);
    default:
      return `operator '${e.kind}' at ${at(e.pos)}`;
  }
}

/** The token stap records for a statement (its first token; keywords print as "keyword"). */
export function statementToken(s: Stmt): string {
  switch (s.kind) {
    case "expr":
      return firstToken(s.expr);
    case "block":
      return operatorAt("{", s.pos);
    case "empty":
      return operatorAt(";", s.pos);
    default:
      return keywordAt(s.pos);
  }
}
