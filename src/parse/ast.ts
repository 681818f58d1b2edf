// The abstract syntax tree handed from pass 1 to pass 2.
//
// Every node carries the position of the token SystemTap gives it (its
// `tok`), so diagnostics point where stap's do: the operator for binary,
// logical, assignment, ternary (`?`), regex, `in` and crement expressions;
// the first token for everything else (statements, calls, names, literals,
// target values; `&` for an address-of; `(` for a group; the name for an
// array element). Pass 2 annotates expression nodes in place (`type`,
// `sym`); pass 1 never sets those fields.
//
// Strings (literal values, names) are byte strings: each JS char code is one
// byte 0..255, as SystemTap's C strings are. Source text is UTF-8; the parser
// converts string literals to byte strings.

export interface Pos {
  file: string;
  line: number; // 1-based
  col: number; // 1-based, in characters of the source line
  offset: number; // 0-based character offset into the file text
}

/** The value types of the language. */
export type Type = "long" | "string" | "stats" | "unknown";

// ---------------------------------------------------------------- top level

export interface ScriptFile {
  kind: "file";
  name: string; // path, "<input>" for -e, or a tapset path
  decls: Decl[];
  /** true when the file is a tapset (from tapsets/ or -I), false for the user script */
  isTapset: boolean;
}

export type Decl = ProbeDecl | AliasDecl | GlobalDecl | FunctionDecl | EmbeddedDecl;

/** One component of a probe point: `kernel`, `function("foo")`, `ms(100)`, `sys*`, `**`. */
export interface ProbeComponent {
  name: string; // may contain `*`; `**` alone matches any number of components
  arg?: StringLit | NumberLit;
  pos: Pos;
}

export interface ProbePoint {
  components: ProbeComponent[];
  optional: boolean; // trailing `?`
  sufficient: boolean; // trailing `!` (implies optional)
  condition?: Expr; // `if (expr)`
  pos: Pos;
}

export interface ProbeDecl {
  kind: "probe";
  points: ProbePoint[];
  body: Block;
  pos: Pos;
}

/** `probe NAME[, NAME] = P1, P2 { prologue }` or `probe NAME += P { epilogue }` */
export interface AliasDecl {
  kind: "alias";
  names: ProbePoint[];
  epilogue: boolean; // true for `+=`
  targets: ProbePoint[];
  body: Block;
  /** `probe a = b { prologue }, { epilogue }`: the second block, run after the user's handler */
  epilogueBody?: Block;
  pos: Pos;
}

export interface GlobalVar {
  name: string;
  init?: Expr; // a literal (possibly negated) as SystemTap allows
  size?: number; // `global a[100]`
  wrap: boolean; // `global a%` or `global a[100]%`
  private: boolean;
  pos: Pos;
}

export interface GlobalDecl {
  kind: "global";
  vars: GlobalVar[];
  pos: Pos;
}

export interface Param {
  name: string;
  type?: Type; // `p:long`, `p:string`
  pos: Pos;
}

export interface FunctionDecl {
  kind: "function";
  name: string;
  returnType?: Type; // `function f:long (...)`
  params: Param[];
  /** a statement block, or embedded C (`%{ ... %}`) */
  body: Block | EmbeddedCode;
  private: boolean;
  /** pragmas found in an embedded-C body, e.g. ["pure", "unprivileged"] */
  pragmas: string[];
  /** `function f() : 2 { }`: the overload priority, when written */
  priority?: number;
  pos: Pos;
}

/** Top-level `%{ ... %}` */
export interface EmbeddedDecl {
  kind: "embedded";
  code: string;
  pos: Pos;
}

export interface EmbeddedCode {
  kind: "embedded-code";
  code: string;
  pos: Pos;
}

// ---------------------------------------------------------------- statements

export type Stmt =
  | Block
  | EmptyStmt
  | ExprStmt
  | IfStmt
  | WhileStmt
  | ForStmt
  | ForeachStmt
  | BreakStmt
  | ContinueStmt
  | NextStmt
  | ReturnStmt
  | DeleteStmt
  | TryStmt
  | EmbeddedStmt;

export interface Block {
  kind: "block";
  stmts: Stmt[];
  pos: Pos;
}

export interface EmptyStmt {
  kind: "empty";
  pos: Pos;
}

export interface ExprStmt {
  kind: "expr";
  expr: Expr;
  pos: Pos;
}

export interface IfStmt {
  kind: "if";
  cond: Expr;
  then: Stmt;
  else?: Stmt;
  pos: Pos;
}

export interface WhileStmt {
  kind: "while";
  cond: Expr;
  body: Stmt;
  pos: Pos;
}

export interface ForStmt {
  kind: "for";
  init?: Expr;
  cond?: Expr;
  step?: Expr;
  body: Stmt;
  pos: Pos;
}

export type SortDir = "+" | "-";

/**
 * `foreach ([k1, k2-] in arr limit 5)`, `foreach (v = [k] in arr+)`,
 * `foreach (k in arr)`, `foreach ([a, b] in arr[*, 3])`,
 * `foreach (b in @hist_log(x))` (array is then a HistExpr).
 */
export interface ForeachStmt {
  kind: "foreach";
  keys: Identifier[];
  value?: Identifier; // `v = [k] in arr`
  /** the iterated array: an Identifier, a HistExpr, or an IndexExpr whose indices may be WildcardExpr (a slice) */
  array: Expr;
  /** which part is sorted: key index (0-based) or "value"; undefined means unsorted */
  sortBy?: number | "value";
  sortDir?: SortDir;
  /** `foreach ([k] in stats @sum+)`: the statistic the sort compares (statistics arrays) */
  sortAggr?: StatOp;
  limit?: Expr;
  body: Stmt;
  pos: Pos;
}

export interface BreakStmt {
  kind: "break";
  pos: Pos;
}

export interface ContinueStmt {
  kind: "continue";
  pos: Pos;
}

export interface NextStmt {
  kind: "next";
  pos: Pos;
}

export interface ReturnStmt {
  kind: "return";
  value?: Expr;
  pos: Pos;
}

/** `delete x`, `delete arr`, `delete arr[k]`, `delete arr[*, k]` */
export interface DeleteStmt {
  kind: "delete";
  target: Expr;
  pos: Pos;
}

export interface TryStmt {
  kind: "try";
  body: Block;
  catchVar?: Identifier;
  handler: Block;
  pos: Pos;
}

/** `%{ ... %}` in statement position (guru mode) */
export interface EmbeddedStmt {
  kind: "embedded-stmt";
  code: string;
  pos: Pos;
}

// ---------------------------------------------------------------- expressions

export type Expr =
  | MachineAccessExpr
  | NumberLit
  | StringLit
  | Identifier
  | WildcardExpr
  | TargetVar
  | TargetVars
  | BinaryExpr
  | LogicalExpr
  | UnaryExpr
  | CrementExpr
  | AssignExpr
  | TernaryExpr
  | RegexExpr
  | InExpr
  | IndexExpr
  | CallExpr
  | CastExpr
  | AtVarExpr
  | EntryExpr
  | DefinedExpr
  | ProbeWriteExpr
  | ConstExpr
  | StatOpExpr
  | HistExpr
  | EmbeddedExpr
  | GroupExpr;

/** Fields pass 2 fills in on every expression. */
export interface Typed {
  type?: Type;
}

export interface NumberLit extends Typed {
  kind: "number";
  value: bigint; // already wrapped to signed 64-bit
  text: string; // as written (e.g. "0x10", "0777"), for -p1
  pos: Pos;
}

export interface StringLit extends Typed {
  kind: "string";
  value: string; // byte string, escapes resolved
  /** the content as written (escapes unresolved, adjacent literals joined), for -p1 */
  raw?: string;
  pos: Pos;
}

export interface Identifier extends Typed {
  kind: "ident";
  name: string;
  pos: Pos;
  /** set by pass 2: what the name refers to */
  sym?: unknown;
}

/** `*` in an index position: `arr[*, 3]` (slices in foreach, delete, `in`) */
export interface WildcardExpr extends Typed {
  kind: "wildcard";
  pos: Pos;
}

/** One step after a target variable or a cast: `->name`, `[expr]` */
export type MemberStep =
  | { kind: "member"; name: string; pos: Pos }
  | { kind: "index"; index: Expr; pos: Pos };

/** `$var`, `$var->a[3]->b`, `$var$`, `$var$$`, `&$var->a` */
export interface TargetVar extends Typed {
  kind: "target";
  name: string; // without the `$`
  steps: MemberStep[];
  pretty: "" | "$" | "$$"; // `$var$` / `$var$$`
  addressOf: boolean; // `&$var...`
  pos: Pos;
}

/** `$$vars`, `$$parms`, `$$locals`, `$$return`, with `$` / `$$` suffixes */
export interface TargetVars extends Typed {
  kind: "target-vars";
  which: "vars" | "parms" | "locals" | "return";
  pretty: "" | "$" | "$$";
  pos: Pos;
}

export type BinaryOp =
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "."
  | "<<"
  | ">>"
  | ">>>"
  | "&"
  | "|"
  | "^"
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">=";

export interface BinaryExpr extends Typed {
  kind: "binary";
  op: BinaryOp;
  left: Expr;
  right: Expr;
  pos: Pos;
}

export interface LogicalExpr extends Typed {
  kind: "logical";
  op: "&&" | "||";
  left: Expr;
  right: Expr;
  pos: Pos;
}

export interface UnaryExpr extends Typed {
  kind: "unary";
  op: "!" | "~" | "-" | "+";
  operand: Expr;
  pos: Pos;
}

/** `++x`, `x--` */
export interface CrementExpr extends Typed {
  kind: "crement";
  op: "++" | "--";
  prefix: boolean;
  operand: Expr;
  pos: Pos;
}

export type AssignOp =
  | "="
  | "+="
  | "-="
  | "*="
  | "/="
  | "%="
  | "<<="
  | ">>="
  | "&="
  | "|="
  | "^="
  | ".="
  | "<<<";

export interface AssignExpr extends Typed {
  kind: "assign";
  op: AssignOp;
  target: Expr;
  value: Expr;
  pos: Pos;
}

export interface TernaryExpr extends Typed {
  kind: "ternary";
  cond: Expr;
  then: Expr;
  else: Expr;
  pos: Pos;
}

/** `s =~ "re"`, `s !~ "re"` (the pattern must be a literal in SystemTap) */
export interface RegexExpr extends Typed {
  kind: "regex";
  op: "=~" | "!~";
  subject: Expr;
  pattern: Expr;
  pos: Pos;
}

/** `k in arr`, `[a, b] in arr` (keys may be WildcardExpr) */
export interface InExpr extends Typed {
  kind: "in";
  keys: Expr[];
  array: Expr;
  pos: Pos;
}

/** `arr[k1, k2]`, or `@hist_log(x)[3]` (histogram bucket) */
export interface IndexExpr extends Typed {
  kind: "index";
  array: Expr;
  indices: Expr[];
  pos: Pos;
}

export interface CallExpr extends Typed {
  kind: "call";
  name: string;
  args: Expr[];
  pos: Pos;
  /** set by pass 2 */
  sym?: unknown;
}

/**
 * `@cast(expr, "type"[, "module"])->a->b`, or, with `autocast`, member access
 * on a plain value (`f(x)->a`, `&arr[k]->b`) whose type pass 2 must find
 * (stap's autocast; typeName is then "").
 */
export interface CastExpr extends Typed {
  kind: "cast";
  operand: Expr;
  typeName: string;
  autocast?: boolean;
  module?: string;
  steps: MemberStep[];
  pretty: "" | "$" | "$$";
  addressOf: boolean;
  pos: Pos;
}

/** `@var("name[@cu]"[, "module"])->a` */
export interface AtVarExpr extends Typed {
  kind: "atvar";
  name: string;
  module?: string;
  steps: MemberStep[];
  pretty: "" | "$" | "$$";
  addressOf: boolean;
  pos: Pos;
}

/** `@entry(expr)` in a return probe */
export interface EntryExpr extends Typed {
  kind: "entry";
  operand: Expr;
  pos: Pos;
}

/** `@defined(expr)` */
export interface DefinedExpr extends Typed {
  kind: "defined";
  operand: Expr;
  pos: Pos;
}

/** `@probewrite(var)` */
export interface ProbeWriteExpr extends Typed {
  kind: "probewrite";
  operand: Expr;
  pos: Pos;
}

/** `@const("NAME")` */
export interface ConstExpr extends Typed {
  kind: "const";
  name: string;
  pos: Pos;
}

export type StatOp = "count" | "sum" | "min" | "max" | "avg" | "variance";

/** `@count(x)`, `@avg(arr[k])`, `@variance(x, 3)` (optional bit shift argument) */
export interface StatOpExpr extends Typed {
  kind: "statop";
  op: StatOp;
  operand: Expr;
  args: Expr[];
  pos: Pos;
}

/** `@hist_log(x)`, `@hist_linear(x, start, stop, interval)` */
export interface HistExpr extends Typed {
  kind: "hist";
  hist: "log" | "linear";
  operand: Expr;
  args: Expr[];
  pos: Pos;
}

/**
 * `@kregister(N)`, `@uregister(N)`, `@kderef(SIZE, ADDR)`, `@uderef(SIZE, ADDR)`:
 * a register or raw memory of the probed context (the kernel's need -g).
 * Parsed as stap parses them; pass 2 refuses them (tstap's probes have no
 * register set or memory to read at the event).
 */
export interface MachineAccessExpr extends Typed {
  kind: "machine-access";
  op: "kregister" | "uregister" | "kderef" | "uderef";
  args: Expr[];
  pos: Pos;
}

/** `%{ ... %}` in expression position (guru mode) */
export interface EmbeddedExpr extends Typed {
  kind: "embedded-expr";
  code: string;
  pos: Pos;
}

/** Parentheses, kept so -p1 prints what was written. */
export interface GroupExpr extends Typed {
  kind: "group";
  inner: Expr;
  pos: Pos;
}

