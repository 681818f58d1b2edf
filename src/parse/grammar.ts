// The SystemTap grammar as a chevrotain parser that builds the AST directly.
//
// The rules follow stap's recursive-descent parser (parse.cxx) one for one,
// so precedence, associativity and the odd corners (`[a,b] in x` only where
// an array_in may start, one regex per comparison, `?:`'s false branch a
// ternary) fall out of the rule structure. Expression rules live in
// grammar-expr.ts; this file has the declarations and statements.

import type { IToken } from "chevrotain";
import type * as A from "./ast.js";
import { ExprParser } from "./grammar-expr.js";
import { posOf } from "./grammar-base.js";
import { At, Embedded, Identifier, Kw, KeywordCat, Op, type Tok } from "./tokens.js";

export class StapParser extends ExprParser {
  constructor(validate = false) {
    super(validate);
    this.performSelfAnalysis();
  }

  // ---------------------------------------------------------------- top level

  script = this.RULE("script", () => {
    this.MANY(() => {
      const d = this.SUBRULE(this.declaration);
      this.ACTION(() => this.decls.push(d));
    });
  });

  declaration = this.RULE("declaration", (): A.Decl => {
    return this.OR({
      DEF: [
        { ALT: () => this.SUBRULE(this.probeDecl) },
        { ALT: () => this.SUBRULE(this.globalDecl) },
        { ALT: () => this.SUBRULE(this.privateDecl) },
        { ALT: () => this.SUBRULE(this.functionDecl) },
        { ALT: () => this.SUBRULE(this.embeddedDecl) },
      ],
      ERR_MSG: "'probe', 'global', 'private', 'function', or '%{'",
    });
  });

  probeDecl = this.RULE("probeDecl", (): A.ProbeDecl | A.AliasDecl => {
    const t = this.CONSUME(Kw.probe);
    const names: A.ProbePoint[][] = [];
    let epilogue = false;
    let points = this.SUBRULE(this.probePoints);
    this.MANY(() => {
      const op = this.OR([{ ALT: () => this.CONSUME(Op["="]!) }, { ALT: () => this.CONSUME(Op["+="]!) }]);
      this.ACTION(() => {
        if (points.length !== 1) this.err("expected probe point specifier", op);
        else if (points[0]!.optional || points[0]!.sufficient)
          this.err("probe point alias name cannot be optional nor sufficient", op);
        if (op.image === "+=") epilogue = true;
        names.push(points);
      });
      points = this.SUBRULE2(this.probePoints);
    });
    this.ACTION(() => (this.inFunction = false));
    const body = this.SUBRULE(this.block);
    const second = this.OPTION(() => {
      const comma = this.CONSUME(Op[","]!);
      const b = this.SUBRULE2(this.block);
      this.ACTION(() => {
        if (names.length === 0) this.err("expected 'probe', 'global', 'private', 'function', or '%{'", comma);
        else if (epilogue) this.err("Combined prologue and epilogue cannot be defined with '+='", comma);
      });
      return b;
    });
    return this.ACTION(() => {
      if (names.length === 0) return { kind: "probe", points, body, pos: posOf(t) } satisfies A.ProbeDecl;
      return { kind: "alias", names: names.flat(), epilogue, targets: points, body, epilogueBody: second, pos: posOf(t) } satisfies A.AliasDecl;
    });
  });

  probePoints = this.RULE("probePoints", (): A.ProbePoint[] => {
    const pts: A.ProbePoint[] = [];
    this.AT_LEAST_ONE_SEP({
      SEP: Op[","]!,
      ERR_MSG: "identifier or '*' or '{'",
      DEF: () => {
        const p = this.SUBRULE(this.probePoint);
        this.ACTION(() => pts.push(...p));
      },
    });
    return pts;
  });

  /**
   * `a.b("x").c?  if (cond)`. A `{p1, p2}` slot stands for each of its
   * points, so `x.{a, b}.c` gives x.a.c and x.b.c (stap expands it here too).
   */
  probePoint = this.RULE("probePoint", (): A.ProbePoint[] => {
    let pts: A.ProbePoint[] = [];
    this.AT_LEAST_ONE_SEP({
      SEP: Op["."]!,
      ERR_MSG: "identifier or '*' or '{'",
      DEF: () => {
        const slot = this.OR({
          ERR_MSG: "identifier or '*' or '{'",
          DEF: [
          { ALT: () => [this.SUBRULE(this.probeComponent)] },
          {
            ALT: () => {
              this.CONSUME(Op["{"]!);
              const inner = this.SUBRULE(this.probePoints);
              this.CONSUME(Op["}"]!);
              return inner;
            },
          },
          ],
        });
        this.ACTION(() => (pts = this.appendSlot(pts, slot)));
      },
    });
    let suffix: IToken | undefined;
    let condition: A.Expr | undefined;
    this.OPTION(() => {
      suffix = this.OR2([{ ALT: () => this.CONSUME(Op["?"]!) }, { ALT: () => this.CONSUME(Op["!"]!) }]);
    });
    this.OPTION2(() => {
      this.CONSUME(Kw.if);
      this.CONSUME2(Op["("]!);
      condition = this.SUBRULE(this.expression);
      this.CONSUME2(Op[")"]!);
    });
    return this.ACTION(() => {
      for (const p of pts) {
        if (suffix) {
          if (p.optional) this.err("'?' or '!' respecified", suffix);
          p.optional = true;
          p.sufficient = suffix.image === "!";
        }
        if (condition) {
          if (p.condition) this.err("condition respecified", condition.pos);
          p.condition = condition;
        }
      }
      return pts;
    });
  });

  /** The product of the points so far with a slot: one component, or the points of a `{...}` group. */
  appendSlot(pts: A.ProbePoint[], slot: (A.ProbeComponent | A.ProbePoint)[]): A.ProbePoint[] {
    const suffixes: A.ProbePoint[] = slot.map((x) =>
      "components" in x ? x : { components: [x], optional: false, sufficient: false, pos: x.pos },
    );
    if (pts.length === 0) return suffixes.map((x) => ({ ...x, components: [...x.components] }));
    const out: A.ProbePoint[] = [];
    for (const p of pts) {
      if (p.optional || p.condition) this.err("'?', '!' or condition must only be specified in suffix", p.pos);
      for (const x of suffixes)
        out.push({ components: [...p.components, ...x.components], optional: x.optional, sufficient: x.sufficient, condition: x.condition, pos: p.pos });
    }
    return out;
  }

  /** A name glued from adjacent words and `*`s (`sys*`, `*_foo`, `**`), and an optional literal argument. */
  probeComponent = this.RULE("probeComponent", (): A.ProbeComponent => {
    const first = this.SUBRULE(this.componentWord);
    let name = "";
    this.ACTION(() => (name = first.image));
    this.MANY({
      GATE: () => !(this.LA(1) as Tok).ws,
      DEF: () => {
        const w = this.SUBRULE2(this.componentWord);
        this.ACTION(() => (name += w.image));
      },
    });
    let arg: A.StringLit | A.NumberLit | undefined;
    this.OPTION(() => {
      this.CONSUME(Op["("]!);
      arg = this.SUBRULE(this.literal);
      this.CONSUME(Op[")"]!);
    });
    return this.ACTION(() => ({ name, arg, pos: posOf(first) }));
  });

  componentWord = this.RULE("componentWord", (): IToken => {
    return this.OR({
      DEF: [{ ALT: () => this.CONSUME(Identifier) }, { ALT: () => this.CONSUME(KeywordCat) }, { ALT: () => this.CONSUME(Op["*"]!) }],
      ERR_MSG: "identifier or '*' or '{'",
    });
  });

  globalDecl = this.RULE("globalDecl", (): A.GlobalDecl => {
    const t = this.CONSUME(Kw.global);
    const vars = this.SUBRULE(this.globalVars, { ARGS: [false] });
    return this.ACTION(() => ({ kind: "global", vars, pos: posOf(t) }));
  });

  /** `private function ...`, `private global ...`, and `private NAME` (short for `private global NAME`). */
  privateDecl = this.RULE("privateDecl", (): A.GlobalDecl | A.FunctionDecl => {
    const t = this.CONSUME(Kw.private);
    return this.OR({
      DEF: [
        {
          ALT: () => {
            this.CONSUME(Kw.function);
            return this.SUBRULE(this.functionRest, { ARGS: [t, true] });
          },
        },
        {
          ALT: () => {
            this.CONSUME(Kw.global);
            const vars = this.SUBRULE(this.globalVars, { ARGS: [true] });
            return this.ACTION(() => ({ kind: "global" as const, vars, pos: posOf(t) }));
          },
        },
        {
          ALT: () => {
            const vars = this.SUBRULE2(this.globalVars, { ARGS: [true] });
            return this.ACTION(() => ({ kind: "global" as const, vars, pos: posOf(t) }));
          },
        },
      ],
      ERR_MSG: "'function' or identifier",
    });
  });

  globalVars = this.RULE("globalVars", (priv: boolean): A.GlobalVar[] => {
    const vars: A.GlobalVar[] = [];
    this.AT_LEAST_ONE_SEP({
      SEP: Op[","]!,
      DEF: () => {
        const v = this.SUBRULE(this.globalVar, { ARGS: [priv] });
        this.ACTION(() => vars.push(v));
      },
    });
    this.OPTION(() => this.CONSUME(Op[";"]!));
    return vars;
  });

  globalVar = this.RULE("globalVar", (priv: boolean): A.GlobalVar => {
    const name = this.CONSUME(Identifier);
    let wrap = false;
    let size: number | undefined;
    let init: A.Expr | undefined;
    this.OPTION(() => {
      this.CONSUME(Op["%"]!);
      wrap = true;
    });
    this.OPTION2(() => {
      this.CONSUME(Op["["]!);
      const n = this.SUBRULE(this.literal);
      const close = this.CONSUME(Op["]"]!);
      this.ACTION(() => {
        if (n.kind !== "number") this.err("expected number", close);
        else if (n.value <= 0n || n.value > 2147483647n) this.err("array size out of range", close);
        else size = Number(n.value);
      });
    });
    this.OPTION3(() => {
      this.CONSUME2(Op["%"]!);
      wrap = true;
    });
    this.OPTION4(() => {
      const eq = this.CONSUME(Op["="]!);
      init = this.SUBRULE2(this.literal);
      this.ACTION(() => {
        if (size !== undefined) this.err("only scalar globals can be initialized", eq);
      });
    });
    return this.ACTION(() => ({ name: name.image, init, size, wrap, private: priv, pos: posOf(name) }));
  });

  functionDecl = this.RULE("functionDecl", (): A.FunctionDecl => {
    const t = this.CONSUME(Kw.function);
    return this.SUBRULE(this.functionRest, { ARGS: [t, false] });
  });

  functionRest = this.RULE("functionRest", (start: IToken, priv: boolean): A.FunctionDecl => {
    const name = this.OR({
      DEF: [{ ALT: () => this.CONSUME(Identifier) }, { ALT: () => this.CONSUME(Kw.string) }, { ALT: () => this.CONSUME(Kw.long) }],
      ERR_MSG: "identifier",
    });
    let returnType: A.Type | undefined;
    this.OPTION(() => {
      this.CONSUME(Op[":"]!);
      returnType = this.SUBRULE(this.typeName);
    });
    this.CONSUME(Op["("]!);
    const params: A.Param[] = [];
    this.MANY_SEP({
      SEP: Op[","]!,
      DEF: () => {
        const p = this.CONSUME2(Identifier);
        let type: A.Type | undefined;
        this.OPTION2(() => {
          this.CONSUME2(Op[":"]!);
          type = this.SUBRULE2(this.typeName);
        });
        this.ACTION(() => {
          if (params.some((q) => q.name === p.image)) this.err("duplicate parameter names", p);
          params.push({ name: p.image, type, pos: posOf(p) });
        });
      },
    });
    this.CONSUME(Op[")"]!);
    let priority: number | undefined;
    this.OPTION3(() => {
      const colon = this.CONSUME3(Op[":"]!);
      const n = this.SUBRULE(this.literal);
      this.ACTION(() => {
        if (n.kind !== "number") this.err("expected literal number", colon);
        else if (n.value < 1n) this.err("specified priority must be > 0", colon);
        else priority = Number(n.value);
      });
    });
    this.ACTION(() => (this.inFunction = true));
    const body = this.OR2({
      DEF: [
        {
          ALT: () => {
            const e = this.CONSUME(Embedded);
            return this.ACTION(() => {
              this.checkPrivileged(e, "embedded code in unprivileged script; need stap -g");
              return { kind: "embedded-code" as const, code: (e as Tok).value!, pos: posOf(e) };
            });
          },
        },
        { ALT: () => this.SUBRULE(this.block) },
      ],
      ERR_MSG: "'{'",
    });
    return this.ACTION(() => {
      this.inFunction = false;
      return {
        kind: "function",
        name: name.image,
        returnType,
        params,
        body,
        private: priv,
        pragmas: body.kind === "embedded-code" ? pragmasOf(body.code) : [],
        priority,
        pos: posOf(start),
      };
    });
  });

  typeName = this.RULE("typeName", (): A.Type => {
    return this.OR({
      DEF: [
        { ALT: () => (this.CONSUME(Kw.string), "string" as const) },
        { ALT: () => (this.CONSUME(Kw.long), "long" as const) },
      ],
      ERR_MSG: "'string' or 'long'",
    });
  });

  embeddedDecl = this.RULE("embeddedDecl", (): A.EmbeddedDecl => {
    const e = this.CONSUME(Embedded);
    return this.ACTION(() => {
      this.checkPrivileged(e, "embedded code in unprivileged script; need stap -g");
      return { kind: "embedded", code: (e as Tok).value!, pos: posOf(e) };
    });
  });

  // ---------------------------------------------------------------- statements

  block = this.RULE("block", (): A.Block => {
    const t = this.CONSUME(Op["{"]!);
    const stmts: A.Stmt[] = [];
    this.MANY(() => {
      const s = this.SUBRULE(this.statement);
      this.ACTION(() => stmts.push(s));
    });
    this.CONSUME(Op["}"]!);
    return this.ACTION(() => ({ kind: "block", stmts, pos: posOf(t) }));
  });

  statement = this.RULE("statement", (): A.Stmt => {
    this.ACTION(() => this.enter(this.LA(1)));
    const s = this.OR(this.cached("statement", () => ({
      DEF: [
        { ALT: () => ({ kind: "empty" as const, pos: posOf(this.CONSUME(Op[";"]!)) }) },
        { ALT: () => this.SUBRULE(this.block) },
        { ALT: () => this.SUBRULE(this.tryStmt) },
        { ALT: () => this.SUBRULE(this.ifStmt) },
        { ALT: () => this.SUBRULE(this.forStmt) },
        { ALT: () => this.SUBRULE(this.foreachStmt) },
        { ALT: () => this.SUBRULE(this.whileStmt) },
        { ALT: () => this.SUBRULE(this.simpleStmt) },
      ],
      ERR_MSG: "statement",
    })));
    this.ACTION(() => this.depth--);
    return s;
  });

  /** The statements after which one `;` is swallowed. */
  simpleStmt = this.RULE("simpleStmt", (): A.Stmt => {
    const s = this.OR(this.cached("simpleStmt", () => ([
      {
        ALT: () => {
          const t = this.CONSUME(Kw.return);
          const value = this.OPTION(() => this.SUBRULE(this.expression));
          return this.ACTION(() => {
            if (!this.inFunction) this.err("found 'return' not in function context", t);
            return { kind: "return" as const, value, pos: posOf(t) };
          });
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(Kw.delete);
          const target = this.SUBRULE2(this.expression);
          return this.ACTION(() => ({ kind: "delete" as const, target, pos: posOf(t) }));
        },
      },
      { ALT: () => ({ kind: "break" as const, pos: posOf(this.CONSUME(Kw.break)) }) },
      { ALT: () => ({ kind: "continue" as const, pos: posOf(this.CONSUME(Kw.continue)) }) },
      { ALT: () => ({ kind: "next" as const, pos: posOf(this.CONSUME(Kw.next)) }) },
      {
        ALT: () => {
          const first = this.LA(1);
          const e = this.SUBRULE3(this.expression);
          return this.ACTION((): A.Stmt => {
            if (e.kind === "embedded-expr") return { kind: "embedded-stmt", code: e.code, pos: e.pos };
            // the statement starts at its first token (the expression's pos may be an operator's)
            return { kind: "expr", expr: e, pos: posOf(first) };
          });
        },
      },
    ])));
    this.OPTION2(() => this.CONSUME(Op[";"]!));
    return s;
  });

  tryStmt = this.RULE("tryStmt", (): A.TryStmt => {
    const t = this.CONSUME(Kw.try);
    const body = this.SUBRULE(this.block);
    this.CONSUME(Kw.catch);
    let catchVar: A.Identifier | undefined;
    this.OPTION(() => {
      this.CONSUME(Op["("]!);
      const v = this.CONSUME(Identifier);
      this.CONSUME(Op[")"]!);
      this.ACTION(() => (catchVar = { kind: "ident", name: v.image, pos: posOf(v) }));
    });
    const handler = this.SUBRULE2(this.block);
    return this.ACTION(() => ({ kind: "try", body, catchVar, handler, pos: posOf(t) }));
  });

  ifStmt = this.RULE("ifStmt", (): A.IfStmt => {
    const t = this.CONSUME(Kw.if);
    this.CONSUME(Op["("]!);
    const cond = this.SUBRULE(this.expression);
    this.CONSUME(Op[")"]!);
    const then = this.SUBRULE(this.statement);
    const otherwise = this.OPTION(() => {
      this.CONSUME(Kw.else);
      return this.SUBRULE2(this.statement);
    });
    return this.ACTION(() => ({ kind: "if", cond, then, else: otherwise, pos: posOf(t) }));
  });

  whileStmt = this.RULE("whileStmt", (): A.WhileStmt => {
    const t = this.CONSUME(Kw.while);
    this.CONSUME(Op["("]!);
    const cond = this.SUBRULE(this.expression);
    this.CONSUME(Op[")"]!);
    const body = this.SUBRULE(this.statement);
    return this.ACTION(() => ({ kind: "while", cond, body, pos: posOf(t) }));
  });

  forStmt = this.RULE("forStmt", (): A.ForStmt => {
    const t = this.CONSUME(Kw.for);
    this.CONSUME(Op["("]!);
    const init = this.OPTION(() => this.SUBRULE(this.expression));
    this.CONSUME(Op[";"]!);
    const cond = this.OPTION2(() => this.SUBRULE2(this.expression));
    this.CONSUME2(Op[";"]!);
    const step = this.OPTION3(() => this.SUBRULE3(this.expression));
    this.CONSUME(Op[")"]!);
    const body = this.SUBRULE(this.statement);
    return this.ACTION(() => ({ kind: "for", init, cond, step, body, pos: posOf(t) }));
  });

  foreachStmt = this.RULE("foreachStmt", (): A.ForeachStmt => {
    const t = this.CONSUME(Kw.foreach);
    this.CONSUME(Op["("]!);
    const keys: A.Identifier[] = [];
    let value: A.Identifier | undefined;
    let sortBy: number | "value" | undefined;
    let sortDir: A.SortDir | undefined;
    let sortAggr: A.StatOp | undefined;
    let limit: A.Expr | undefined;
    const setSort = (dir: IToken | undefined, by: number | "value"): void => {
      if (!dir) return;
      if (sortDir !== undefined) this.err("multiple sort directives", dir);
      sortDir = dir.image as A.SortDir;
      sortBy = by;
    };
    const ident = (tok: IToken): A.Identifier => ({ kind: "ident", name: tok.image, pos: posOf(tok) });
    this.OR([
      {
        // `k in`, `k+ in`, `v = [...] in`, `v- = k in`
        ALT: () => {
          const first = this.CONSUME(Identifier);
          const dir = this.OPTION(() => this.SUBRULE(this.sortDirective));
          const isValue = this.OPTION2(() => {
            const eq = this.CONSUME(Op["="]!);
            this.ACTION(() => {
              value = ident(first);
              setSort(dir, "value");
            });
            this.OR2([
              { ALT: () => this.SUBRULE(this.foreachKeys, { ARGS: [keys, setSort] }) },
              {
                ALT: () => {
                  const k = this.CONSUME2(Identifier);
                  const kdir = this.OPTION3(() => this.SUBRULE4(this.sortDirective));
                  this.ACTION(() => {
                    keys.push(ident(k));
                    setSort(kdir, 0);
                  });
                },
              },
            ]);
            return eq;
          });
          this.ACTION(() => {
            if (!isValue) {
              keys.push(ident(first));
              setSort(dir, 0);
            }
          });
        },
      },
      { ALT: () => this.SUBRULE2(this.foreachKeys, { ARGS: [keys, setSort] }) },
    ]);
    this.CONSUME(Kw.in);
    let array = this.SUBRULE(this.indexable);
    this.OPTION4(() => {
      this.CONSUME(Op["["]!);
      const indices = this.SUBRULE(this.indexList);
      this.CONSUME(Op["]"]!);
      this.ACTION(() => (array = { kind: "index", array, indices, pos: array.pos }));
    });
    this.OPTION5(() => {
      const agg = this.SUBRULE(this.statOpName);
      this.ACTION(() => (sortAggr = agg));
      const dir = this.SUBRULE2(this.sortDirective);
      this.ACTION(() => setSort(dir, "value"));
    });
    this.OPTION6(() => {
      const dir = this.SUBRULE3(this.sortDirective);
      this.ACTION(() => setSort(dir, "value"));
    });
    this.OPTION7(() => {
      this.CONSUME(Kw.limit);
      limit = this.SUBRULE(this.expression);
    });
    this.CONSUME(Op[")"]!);
    const body = this.SUBRULE(this.statement);
    return this.ACTION(() => ({ kind: "foreach", keys, value, array, sortBy, sortDir, sortAggr, limit, body, pos: posOf(t) }));
  });

  /** `[a, b-]` */
  foreachKeys = this.RULE("foreachKeys", (keys: A.Identifier[], setSort: (d: IToken | undefined, by: number) => void): void => {
    this.CONSUME(Op["["]!);
    this.AT_LEAST_ONE_SEP({
      SEP: Op[","]!,
      DEF: () => {
        const k = this.CONSUME(Identifier);
        const dir = this.OPTION(() => this.SUBRULE(this.sortDirective));
        this.ACTION(() => {
          keys.push({ kind: "ident", name: k.image, pos: posOf(k) });
          setSort(dir, keys.length - 1);
        });
      },
    });
    this.CONSUME(Op["]"]!);
  });

  sortDirective = this.RULE("sortDirective", (): IToken => {
    return this.OR([{ ALT: () => this.CONSUME(Op["+"]!) }, { ALT: () => this.CONSUME(Op["-"]!) }]);
  });

  statOpName = this.RULE("statOpName", (): A.StatOp => {
    const t = this.OR([
      { ALT: () => this.CONSUME(At.count) },
      { ALT: () => this.CONSUME(At.sum) },
      { ALT: () => this.CONSUME(At.min) },
      { ALT: () => this.CONSUME(At.max) },
      { ALT: () => this.CONSUME(At.avg) },
      { ALT: () => this.CONSUME(At.variance) },
    ]);
    return this.ACTION(() => t.image.slice(1) as A.StatOp);
  });

}

export function pragmasOf(code: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(/\/\*\s*([A-Za-z_][\w-]*)\s*\*\//g)) out.push(m[1]!);
  return out;
}

