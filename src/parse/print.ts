// -p1 output: the parse tree printed back as script text, in the shape of
// stap's own dump ("# parse tree dump", one declaration after another,
// every operand of a binary operator parenthesized so precedence shows).
// Parsing the output again gives the same tree, parentheses aside.

import type * as A from "./ast.js";

/** stap dumps a file's declarations grouped by kind, in this order, source order within a kind. */
export const declKindOrder: readonly A.Decl["kind"][] = ["embedded", "global", "alias", "probe", "function"];

export function printScript(file: A.ScriptFile): string {
  let out = `# parse tree dump\n# file ${file.name}\n`;
  for (const kind of declKindOrder) for (const d of file.decls) if (d.kind === kind) out += printDecl(d) + "\n";
  return out;
}

export function printDecl(d: A.Decl): string {
  switch (d.kind) {
    case "probe":
      return `probe ${d.points.map(printProbePoint).join(",")}${printBlock(d.body)}`;
    case "alias":
      return `probe ${d.names.map(printProbePoint).join(" = ")}${d.epilogue ? " += " : " = "}${d.targets.map(printProbePoint).join(", ")}${printBlock(d.body)}${d.epilogueBody ? ",\n" + printBlock(d.epilogueBody) : ""}`;
    case "global":
      return `${d.vars.some((v) => v.private) ? "private " : ""}global ${d.vars.map(printGlobalVar).join(", ")}`;
    case "function": {
      const head = `${d.private ? "private " : ""}function ${d.name}${d.returnType ? ":" + d.returnType : ""} (${d.params.map((p) => p.name + (p.type ? ":" + p.type : "")).join(", ")})`;
      const prio = d.priority !== undefined ? ` : ${d.priority}` : "";
      const body = d.body.kind === "embedded-code" ? `%{${d.body.code}%}` : printBlock(d.body);
      return `${head}${prio}\n${body}`;
    }
    case "embedded":
      return `%{${d.code}%}`;
  }
}

function printGlobalVar(v: A.GlobalVar): string {
  return v.name + (v.wrap ? "%" : "") + (v.size !== undefined ? `[${v.size}]` : "") + (v.init ? ` = ${printExpr(v.init)}` : "");
}

export function printProbePoint(p: A.ProbePoint): string {
  let s = p.components.map((c) => c.name + (c.arg ? `(${printExpr(c.arg)})` : "")).join(".");
  if (p.sufficient) s += "!";
  else if (p.optional) s += "?";
  if (p.condition) s += ` if (${printExpr(p.condition)})`;
  return s;
}

function printBlock(b: A.Block): string {
  const texts = b.stmts.map(printStmt);
  let s = "{\n";
  b.stmts.forEach((st, i) => {
    const next = texts[i + 1];
    s += texts[i]! + (next !== undefined && needsSemicolon(st, texts[i]!, next) ? ";" : "") + "\n";
  });
  return s + "}";
}

/**
 * A simple statement runs on into the next one when that begins with a
 * token that could continue it (`x` + `(y)` is a call, `f()` + `[k]` an
 * index, `+`/`-`/`&`/`++` an operator, adjacent strings join); a `;`
 * keeps them apart. stap's own dump omits it and so can misread.
 */
function needsSemicolon(st: A.Stmt, text: string, nextText: string): boolean {
  if (st.kind === "return" && !st.value) return true;
  if (!(st.kind === "expr" || st.kind === "return" || st.kind === "delete" || st.kind === "embedded-stmt")) return false;
  const first = nextText[0];
  const last = text[text.length - 1] ?? "";
  if (first === "-" || first === "+" || first === "&") return true;
  if (first === "(") return /[\w$]/.test(last);
  if (first === "[") return /[\w$)\]}]/.test(last);
  if (first === '"') return last === '"';
  return false;
}

export function printStmt(s: A.Stmt): string {
  switch (s.kind) {
    case "block":
      return printBlock(s);
    case "empty":
      return ";";
    case "expr":
      return printExpr(s.expr);
    case "if":
      if (!s.else) return `if (${printExpr(s.cond)}) ${printBody(s.then)}\n`;
      return `if (${printExpr(s.cond)}) ${printStmt(s.then)}\nelse ${printBody(s.else)}\n`;
    case "while":
      return `while (${printExpr(s.cond)}) ${printBody(s.body)}`;
    case "for":
      return `for (${s.init ? printExpr(s.init) : ""}; ${s.cond ? printExpr(s.cond) : ""}; ${s.step ? printExpr(s.step) : ""}) ${printBody(s.body)}`;
    case "foreach":
      return printForeach(s);
    case "break":
      return "break";
    case "continue":
      return "continue";
    case "next":
      return "next";
    case "return":
      return s.value ? `return ${printExpr(s.value)}` : "return";
    case "delete":
      return `delete ${printExpr(s.target)}`;
    case "try":
      return `try ${printBlock(s.body)} catch${s.catchVar ? `(${s.catchVar.name})` : ""} ${printBlock(s.handler)}`;
    case "embedded-stmt":
      return `%{${s.code}%}`;
  }
}

function printForeach(s: A.ForeachStmt): string {
  const dir = (by: number | "value"): string => (s.sortDir !== undefined && s.sortBy === by && !(by === "value" && s.sortAggr) ? s.sortDir : "");
  let head = "foreach (";
  if (s.value) head += `${s.value.name}${s.sortAggr ? "" : dir("value")} = `;
  head += `[${s.keys.map((k, i) => k.name + dir(i)).join(", ")}] in ${printExpr(s.array)}`;
  if (s.sortAggr) head += ` @${s.sortAggr}${s.sortDir ?? ""}`;
  else if (!s.value) head += dir("value");
  if (s.limit) head += ` limit ${printExpr(s.limit)}`;
  return `${head}) ${printBody(s.body)}`;
}

/** A statement that ends a compound statement: a simple one gets its `;` so what follows cannot join it. */
function printBody(s: A.Stmt): string {
  const text = printStmt(s);
  return s.kind === "expr" || s.kind === "return" || s.kind === "delete" || s.kind === "embedded-stmt" ? text + ";" : text;
}

function quote(raw: string): string {
  return `"${raw.replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

function escapeValue(v: string): string {
  let s = "";
  for (const ch of v) {
    const c = ch.charCodeAt(0);
    if (ch === "\\") s += "\\\\";
    else if (ch === "\n") s += "\\n";
    else if (ch === "\t") s += "\\t";
    else if (ch === "\r") s += "\\r";
    else if (c < 32 || c === 127) s += "\\" + c.toString(8).padStart(3, "0");
    else s += ch;
  }
  return s;
}

function paren(e: A.Expr): string {
  while (e.kind === "group") e = e.inner;
  return `(${printExpr(e)})`;
}

function printSteps(steps: A.MemberStep[]): string {
  return steps.map((st) => (st.kind === "member" ? `->${st.name}` : `[${printExpr(st.index)}]`)).join("");
}

export function printExpr(e: A.Expr): string {
  switch (e.kind) {
    case "number":
      // wrapped or negated literals keep their spelling so they read back the same
      return e.value >= 0n ? e.value.toString() : e.text;
    case "string":
      return quote(e.raw ?? escapeValue(e.value));
    case "ident":
      return e.name;
    case "wildcard":
      return "*";
    case "target":
      return `${e.addressOf ? "&" : ""}$${e.name}${printSteps(e.steps)}${e.pretty}`;
    case "target-vars":
      return `$$${e.which}${e.pretty}`;
    case "binary":
    case "logical":
      return `${paren(e.left)} ${e.op} ${paren(e.right)}`;
    case "unary":
      return `${e.op}${paren(e.operand)}`;
    case "crement":
      return e.prefix ? `${e.op}${paren(e.operand)}` : `${paren(e.operand)}${e.op}`;
    case "assign":
      // stap's assignment is a binary expression and prints like one
      return `${paren(e.target)} ${e.op} ${paren(e.value)}`;
    case "ternary":
      return `${paren(e.cond)}?${paren(e.then)}:${paren(e.else)}`;
    case "regex":
      return `${paren(e.subject)} ${e.op} ${printExpr(e.pattern)}`;
    case "in":
      return `[${e.keys.map(printExpr).join(", ")}] in ${printExpr(e.array)}`;
    case "index":
      return `${printExpr(e.array)}[${e.indices.map(printExpr).join(", ")}]`;
    case "call":
      return `${e.name}(${e.args.map(printExpr).join(", ")})`;
    case "cast": {
      const amp = e.addressOf ? "&" : "";
      if (e.autocast) {
        const base = e.operand.kind === "call" || e.operand.kind === "index" ? printExpr(e.operand) : paren(e.operand);
        return `${amp}${base}${printSteps(e.steps)}${e.pretty}`;
      }
      const mod = e.module !== undefined ? `, ${quote(escapeValue(e.module))}` : "";
      return `${amp}@cast(${printExpr(e.operand)}, ${quote(escapeValue(e.typeName))}${mod})${printSteps(e.steps)}${e.pretty}`;
    }
    case "atvar": {
      const mod = e.module !== undefined ? `, ${quote(escapeValue(e.module))}` : "";
      return `${e.addressOf ? "&" : ""}@var(${quote(escapeValue(e.name))}${mod})${printSteps(e.steps)}${e.pretty}`;
    }
    case "entry":
      return `@entry(${printExpr(e.operand)})`;
    case "defined":
      return `@defined(${printExpr(e.operand)})`;
    case "probewrite":
      return `@probewrite(${printExpr(e.operand)})`;
    case "const":
      return `@const(${quote(escapeValue(e.name))})`;
    case "machine-access":
      return `@${e.op}(${e.args.map(printExpr).join(", ")})`;
    case "statop":
      return `@${e.op}(${[e.operand, ...e.args].map(printExpr).join(", ")})`;
    case "hist":
      return `@hist_${e.hist}(${[e.operand, ...e.args].map(printExpr).join(", ")})`;
    case "embedded-expr":
      return `%{${e.code}%}`;
    case "group":
      // operators already parenthesize their operands, as stap's dump does
      return printExpr(e.inner);
  }
}
