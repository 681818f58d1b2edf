// Expressions: stap's precedence levels (assignment, ternary, the binary
// levels by precedence climbing, unary, crement), target values, and the
// names and `@` operators a value can be.

import type { IToken } from "chevrotain";
import type * as A from "./ast.js";
import { EXPR_COST, ParserBase, formatFamily, posOf, printFamily } from "./grammar-base.js";
import { formatProblem } from "./format-check.js";
import { At, AtOther, DollarOnly, Embedded, Families, Identifier, KeywordCat, Kw, NumberTok, Op, StringTok, TargetName, type Tok } from "./tokens.js";

const closers = { comma: Op[","]!, rparen: Op[")"]!, semi: Op[";"]!, rbracket: Op["]"]!, rbrace: Op["}"]!, colon: Op[":"]! };
/** stap's binary precedence levels, loosest first; `in` sits at IN_LEVEL. */
const binaryLevel: Record<string, number> = {
  "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5,
  "==": 7, "!=": 7, "<": 7, ">": 7, "<=": 7, ">=": 7,
  "<<": 8, ">>": 8, ">>>": 8, ".": 9, "+": 10, "-": 10, "*": 11, "/": 11, "%": 11,
};
const IN_LEVEL = 6;
const COMPARE_LEVEL = 7;
/** stap's register and raw-memory operators (kernel ones need -g). */
const machineOps: Record<string, A.MachineAccessExpr["op"] | undefined> = {
  "@kregister": "kregister",
  "@uregister": "uregister",
  "@kderef": "kderef",
  "@uderef": "uderef",
};
const targetVarsNames = new Set(["vars", "parms", "locals", "return"]);

type Pretty = "" | "$" | "$$";

/** `$name$$` → ["name", "$$"] */
function splitPretty(s: string): [string, Pretty] {
  const m = /^(.*?)(\$*)$/.exec(s)!;
  const suffix = m[2]!;
  return [m[1]!, suffix === "" ? "" : suffix === "$" ? "$" : "$$"];
}

export class ExprParser extends ParserBase {
  // ---------------------------------------------------------------- precedence levels

  /** Is the next expression a lone name or literal (`f(a, 1)`, `x;`)? Then it skips the precedence levels. */
  private lonePrimaryNext(): boolean {
    const t1 = this.LA(1).tokenType;
    if (t1 !== Identifier && t1 !== NumberTok && t1 !== StringTok) return false;
    const t2 = this.LA(2).tokenType;
    return t2 === closers.comma || t2 === closers.rparen || t2 === closers.semi || t2 === closers.rbracket || t2 === closers.rbrace || t2 === closers.colon;
  }

  // cached: the alternatives only use `this`, so one array serves every call (chevrotain allocates none then)
  private expressionAlts?: { IGNORE_AMBIGUITIES: boolean; DEF: { GATE?: () => boolean; ALT: () => A.Expr }[] };

  expression = this.RULE("expression", (): A.Expr => {
    this.ACTION(() => this.enter(this.LA(1), EXPR_COST));
    const e = this.OR(
      (this.expressionAlts ??= {
        IGNORE_AMBIGUITIES: true,
        DEF: [{ GATE: () => this.lonePrimaryNext(), ALT: () => this.SUBRULE(this.primary) }, { ALT: () => this.SUBRULE(this.assignment) }],
      }),
    );
    this.ACTION(() => (this.depth -= EXPR_COST));
    return e;
  });

  /** A lone name or literal, built exactly as the full path would build it. */
  primary = this.RULE("primary", (): A.Expr => {
    return this.OR(this.cached("primary", () => ([
      {
        ALT: () => {
          const name = this.CONSUME(Identifier);
          return this.ACTION(() => ({ kind: "ident" as const, name: name.image, pos: posOf(name) }));
        },
      },
      { ALT: () => this.numberValue() },
      { ALT: () => this.SUBRULE(this.stringLiteral) },
    ])));
  });

  /** stap's parse_assignment over parse_ternary, in one rule (one less call per expression). */
  assignment = this.RULE("assignment", (): A.Expr => {
    const cond = this.SUBRULE(this.binary);
    let target = cond;
    this.OPTION(() => {
      const q = this.CONSUME(Op["?"]!);
      const then = this.SUBRULE(this.expression);
      this.CONSUME(Op[":"]!);
      const otherwise = this.SUBRULE(this.ternary);
      this.ACTION(() => (target = { kind: "ternary", cond, then, else: otherwise, pos: posOf(q) }));
    });
    let result = target;
    this.OPTION2(() => {
      const op = this.SUBRULE(this.assignOp);
      const value = this.SUBRULE2(this.expression);
      this.ACTION(() => (result = { kind: "assign", op: op.image as A.AssignOp, target, value, pos: posOf(op) }));
    });
    return result;
  });

  assignOp = this.RULE("assignOp", (): IToken => {
    return this.CONSUME(Families.assign.cat);
  });

  ternary = this.RULE("ternary", (): A.Expr => {
    const cond = this.SUBRULE(this.binary);
    let result = cond;
    this.OPTION(() => {
      const q = this.CONSUME(Op["?"]!);
      const then = this.SUBRULE(this.expression);
      this.CONSUME(Op[":"]!);
      const otherwise = this.SUBRULE(this.ternary);
      this.ACTION(() => (result = { kind: "ternary", cond, then, else: otherwise, pos: posOf(q) }));
    });
    return result;
  });

  /**
   * Everything between the ternary and the unary operators, by precedence
   * climbing over stap's levels (see binaryLevel). stap's quirks are gates:
   * `in` is not associative and ends its operand's comparison level, a
   * regex match takes one literal and no comparison may follow or precede
   * it at its level, and `[k1, k2] in arr` starts only where an array_in may.
   * `minLevel` 7 parses what stap's parse_comparison_or_regex_query does.
   */
  binary = this.RULE("binary", (minLevel: number = 0): A.Expr => {
    const operands: A.Expr[] = [];
    const ops: IToken[] = [];
    let afterIn = false;
    let afterRegex = false;
    let cmpInGroup = false;
    const reduceDownTo = (level: number): void => {
      while (ops.length > 0 && binaryLevel[ops[ops.length - 1]!.image]! >= level) {
        const op = ops.pop()!;
        const right = operands.pop()!;
        const left = operands.pop()!;
        const image = op.image;
        operands.push(
          image === "||" || image === "&&"
            ? { kind: "logical", op: image, left, right, pos: posOf(op) }
            : { kind: "binary", op: image as A.BinaryOp, left, right, pos: posOf(op) },
        );
      }
    };
    const first = this.OR([
      { GATE: () => minLevel <= IN_LEVEL, ALT: () => this.SUBRULE(this.bracketIn) },
      { ALT: () => this.SUBRULE(this.unary) },
    ]);
    this.ACTION(() => {
      operands.push(first);
      afterIn = first.kind === "in";
    });
    this.MANY({
      GATE: () => {
        const t = this.LA(1);
        if (t.tokenType === Kw.in) return !afterIn && minLevel <= IN_LEVEL;
        const level = binaryLevel[t.image];
        if (level === undefined) return !afterIn && !afterRegex && !cmpInGroup; // a regex operator
        if (level < minLevel) return false;
        if (afterIn) return level < IN_LEVEL;
        if (afterRegex) return level < COMPARE_LEVEL;
        return true;
      },
      DEF: () => {
        this.OR2([
          {
            ALT: () => {
              const op = this.CONSUME(Families.binary.cat);
              const right = this.OR3([
                { GATE: () => binaryLevel[op.image]! < IN_LEVEL, ALT: () => this.SUBRULE2(this.bracketIn) },
                { ALT: () => this.SUBRULE2(this.unary) },
              ]);
              this.ACTION(() => {
                const level = binaryLevel[op.image]!;
                reduceDownTo(level);
                ops.push(op);
                operands.push(right);
                if (level < IN_LEVEL) {
                  afterRegex = cmpInGroup = false;
                  afterIn = right.kind === "in";
                } else if (level === COMPARE_LEVEL) cmpInGroup = true;
              });
            },
          },
          {
            ALT: () => {
              const t = this.CONSUME(Kw.in);
              const array = this.SUBRULE(this.indexable);
              this.ACTION(() => {
                reduceDownTo(COMPARE_LEVEL);
                const key = operands.pop()!;
                operands.push({ kind: "in", keys: [key], array, pos: posOf(t) });
                afterIn = true;
              });
            },
          },
          {
            ALT: () => {
              const op = this.CONSUME(Families.regex.cat);
              const pattern = this.SUBRULE(this.stringLiteral);
              this.ACTION(() => {
                reduceDownTo(COMPARE_LEVEL + 1);
                const subject = operands.pop()!;
                operands.push({ kind: "regex", op: op.image as "=~" | "!~", subject, pattern, pos: posOf(op) });
                afterRegex = true;
              });
            },
          },
        ]);
      },
    });
    return this.ACTION(() => {
      reduceDownTo(0);
      return operands[0]!;
    });
  });

  /** `[k1, *, k3] in arr` */
  bracketIn = this.RULE("bracketIn", (): A.Expr => {
    this.CONSUME(Op["["]!);
    const keys: A.Expr[] = [];
    this.AT_LEAST_ONE_SEP({
      SEP: Op[","]!,
      DEF: () => {
        const k = this.OR([{ ALT: () => this.wildcard() }, { ALT: () => this.SUBRULE(this.binary, { ARGS: [COMPARE_LEVEL] }) }]);
        this.ACTION(() => keys.push(k));
      },
    });
    this.CONSUME(Op["]"]!);
    const t = this.CONSUME(Kw.in);
    const array = this.SUBRULE(this.indexable);
    return this.ACTION(() => ({ kind: "in" as const, keys, array, pos: posOf(t) }));
  });

  /** Prefix `+ - ! ~` (right-associative), then stap's parse_crement: `++x`, `x--`, or a value. */
  unary = this.RULE("unary", (): A.Expr => {
    return this.OR(this.cached("unary", () => ({ ERR_MSG: "literal string or number", DEF: [
      {
        ALT: () => {
          const op = this.CONSUME(Families.unary.cat);
          this.ACTION(() => this.enter(op));
          const operand = this.SUBRULE(this.unary);
          return this.ACTION(() => {
            this.depth--;
            return { kind: "unary" as const, op: op.image as A.UnaryExpr["op"], operand, pos: posOf(op) };
          });
        },
      },
      {
        ALT: () => {
          const op = this.CONSUME(Families.crement.cat);
          const operand = this.SUBRULE(this.dwarfValue);
          return this.ACTION(() => ({ kind: "crement" as const, op: op.image as "++" | "--", prefix: true, operand, pos: posOf(op) }));
        },
      },
      {
        ALT: () => {
          const operand = this.SUBRULE2(this.dwarfValue);
          let result = operand;
          this.OPTION(() => {
            const op = this.CONSUME2(Families.crement.cat);
            this.ACTION(() => (result = { kind: "crement", op: op.image as "++" | "--", prefix: false, operand, pos: posOf(op) }));
          });
          return result;
        },
      },
    ]})));
  });

  /** A value, possibly a target value: `&`, `$var`, `@cast`, `@var`, then `->member` / `[index]` steps and a `$`/`$$` suffix. */
  dwarfValue = this.RULE("dwarfValue", (): A.Expr => {
    const amp = this.OPTION(() => this.CONSUME(Op["&"]!));
    const base = this.OR(this.cached("dwarfValue", () => ({
      DEF: [
        { ALT: () => this.SUBRULE(this.value) },
        { ALT: () => this.SUBRULE(this.targetSymbol) },
        { ALT: () => this.SUBRULE(this.castOp) },
        { ALT: () => this.SUBRULE(this.atVarOp) },
      ],
      ERR_MSG: "literal string or number",
    })));
    const steps: A.MemberStep[] = [];
    let pretty: Pretty = "";
    let prettyTok: IToken | undefined;
    this.MANY(() => {
      this.OR2([
        {
          ALT: () => {
            const arrow = this.CONSUME(Op["->"]!);
            const m = this.OR3({
              DEF: [{ ALT: () => this.CONSUME(Identifier) }, { ALT: () => this.CONSUME(KeywordCat) }, { ALT: () => this.CONSUME(DollarOnly) }],
              ERR_MSG: "identifier or keyword",
            });
            this.ACTION(() => {
              if (pretty) this.err("-> and [ are not accepted for a pretty-printing variable", arrow);
              const [name, p] = splitPretty(m.image);
              if (name) steps.push({ kind: "member", name, pos: posOf(arrow) });
              if (p) {
                pretty = p;
                prettyTok = arrow;
              }
            });
          },
        },
        {
          ALT: () => {
            const open = this.CONSUME(Op["["]!);
            const index = this.SUBRULE(this.expression);
            this.CONSUME(Op["]"]!);
            this.ACTION(() => {
              if (pretty) this.err("-> and [ are not accepted for a pretty-printing variable", open);
              steps.push({ kind: "index", index, pos: posOf(open) });
            });
          },
        },
      ]);
    });
    this.OPTION2(() => {
      const d = this.CONSUME2(DollarOnly);
      this.ACTION(() => {
        if (!pretty) pretty = d.image === "$" ? "$" : "$$";
        else this.err("-> and [ are not accepted for a pretty-printing variable", d);
        prettyTok = d;
      });
    });
    return this.ACTION((): A.Expr => {
      void prettyTok;
      const addressOf = amp !== undefined;
      if (base.kind === "target" || base.kind === "cast" || base.kind === "atvar") {
        if (base.pretty && (steps.length > 0 || pretty)) this.err("-> and [ are not accepted for a pretty-printing variable", base.pos);
        base.steps.push(...steps);
        if (pretty) base.pretty = pretty;
        base.addressOf = addressOf;
        if (amp) base.pos = posOf(amp);
        return base;
      }
      if (base.kind === "target-vars") {
        if (steps.length > 0) this.err("-> and [ are not accepted for a pretty-printing variable", base.pos);
        return base;
      }
      if (!addressOf && steps.length === 0 && !pretty) return base;
      return { kind: "cast", autocast: true, operand: base, typeName: "", steps, pretty, addressOf, pos: amp ? posOf(amp) : base.pos };
    });
  });

  targetSymbol = this.RULE("targetSymbol", (): A.TargetVar | A.TargetVars => {
    const t = this.CONSUME(TargetName);
    return this.ACTION(() => {
      const [name, pretty] = splitPretty(t.image.slice(1));
      if (name.startsWith("$") && targetVarsNames.has(name.slice(1)))
        return { kind: "target-vars" as const, which: name.slice(1) as A.TargetVars["which"], pretty, pos: posOf(t) };
      return { kind: "target" as const, name, steps: [], pretty, addressOf: false, pos: posOf(t) };
    });
  });

  castOp = this.RULE("castOp", (): A.CastExpr => {
    const t = this.CONSUME(At.cast);
    this.CONSUME(Op["("]!);
    const operand = this.SUBRULE(this.expression);
    this.CONSUME(Op[","]!);
    const type = this.SUBRULE(this.stringLiteral);
    const mod = this.OPTION(() => {
      this.CONSUME2(Op[","]!);
      return this.SUBRULE2(this.stringLiteral);
    });
    this.CONSUME(Op[")"]!);
    return this.ACTION(() => {
      if (type.value === "") this.err("expected non-empty string", type.pos);
      return { kind: "cast" as const, operand, typeName: type.value, module: mod?.value, steps: [], pretty: "" as Pretty, addressOf: false, pos: posOf(t) };
    });
  });

  atVarOp = this.RULE("atVarOp", (): A.AtVarExpr => {
    const t = this.CONSUME(At.var);
    this.CONSUME(Op["("]!);
    const name = this.SUBRULE(this.stringLiteral);
    const mod = this.OPTION(() => {
      this.CONSUME(Op[","]!);
      return this.SUBRULE2(this.stringLiteral);
    });
    this.CONSUME(Op[")"]!);
    return this.ACTION(() => ({ kind: "atvar" as const, name: name.value, module: mod?.value, steps: [], pretty: "" as Pretty, addressOf: false, pos: posOf(t) }));
  });

  /**
   * A plain value: a name, call, array element, `@` operator, literal,
   * parenthesized expression or embedded C (stap's parse_value and
   * parse_symbol, in one rule: one less call per value).
   */
  value = this.RULE("value", (): A.Expr => {
    return this.OR(this.cached("value", () => ({
      DEF: [
        { ALT: () => this.SUBRULE(this.call) },
        {
          ALT: () => {
            const name = this.CONSUME(Identifier);
            this.CONSUME2(Op["["]!);
            const indices = this.SUBRULE(this.indexList);
            this.CONSUME2(Op["]"]!);
            return this.ACTION(() => ({
              kind: "index" as const,
              array: { kind: "ident" as const, name: name.image, pos: posOf(name) },
              indices,
              pos: posOf(name),
            }));
          },
        },
        {
          ALT: () => {
            const name = this.CONSUME2(Identifier);
            return this.ACTION(() => ({ kind: "ident" as const, name: name.image, pos: posOf(name) }));
          },
        },
        { ALT: () => this.SUBRULE(this.wrappedOp) },
        { ALT: () => this.SUBRULE(this.statOp) },
        {
          ALT: () => {
            const h = this.SUBRULE(this.histOp);
            let result: A.Expr = h;
            this.OPTION(() => {
              this.CONSUME(Op["["]!);
              const index = this.SUBRULE(this.expression);
              this.CONSUME(Op["]"]!);
              this.ACTION(() => (result = { kind: "index", array: h, indices: [index], pos: h.pos }));
            });
            this.ACTION(() => {
              if (result === h) this.err("base histogram operator where expression expected", h.pos);
            });
            return result;
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(AtOther);
            // `@kregister(N)`, `@kderef(SIZE, ADDR)` and their user-space twins
            const args: A.Expr[] = [];
            const open = this.OPTION2(() => {
              const p = this.CONSUME4(Op["("]!);
              this.MANY_SEP({ SEP: Op[","]!, DEF: () => args.push(this.SUBRULE3(this.expression)) });
              this.CONSUME4(Op[")"]!);
              return p;
            });
            return this.ACTION((): A.Expr => {
              const op = machineOps[t.image];
              if (!op) {
                this.err(`unknown operator ${t.image}`, t);
                return { kind: "ident" as const, name: t.image, pos: posOf(t) };
              }
              if (op.startsWith("k")) this.checkPrivileged(t, `using @${op} operator not permitted; need stap -g`);
              const want = op.endsWith("deref") ? 2 : 1;
              if (!open) this.err("expected '('", t);
              else if (args.length !== want || args[0]!.kind !== "number") this.err(args[0]?.kind !== "number" ? "expected number" : want === 2 ? "expected ','" : "expected ')'", args[0]?.pos ?? t);
              return { kind: "machine-access", op, args, pos: posOf(t) };
            });
          },
        },
        {
          ALT: () => {
            const e = this.CONSUME(Embedded);
            return this.ACTION(() => {
              this.checkPrivileged(e, "embedded expression code in unprivileged script; need stap -g");
              return { kind: "embedded-expr" as const, code: (e as Tok).value!, pos: posOf(e) };
            });
          },
        },
        {
          ALT: () => {
            const open = this.CONSUME(Op["("]!);
            const inner = this.SUBRULE2(this.expression);
            this.CONSUME(Op[")"]!);
            return this.ACTION(() => ({ kind: "group" as const, inner, pos: posOf(open) }));
          },
        },
        { ALT: () => this.SUBRULE(this.stringLiteral) },
        { ALT: () => this.numberValue() },
      ],
      ERR_MSG: "literal string or number",
    })));
  });

  /** `@defined(e)`, `@entry(e)`, `@probewrite(v)`, `@const("NAME")` */
  wrappedOp = this.RULE("wrappedOp", (): A.Expr => {
    return this.OR([
      {
        ALT: () => {
          const t = this.OR2([{ ALT: () => this.CONSUME(At.defined) }, { ALT: () => this.CONSUME(At.entry) }]);
          this.CONSUME(Op["("]!);
          const operand = this.SUBRULE(this.expression);
          this.CONSUME(Op[")"]!);
          return this.ACTION(() => ({ kind: t.image === "@defined" ? ("defined" as const) : ("entry" as const), operand, pos: posOf(t) }));
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(At.probewrite);
          this.CONSUME2(Op["("]!);
          const v = this.CONSUME(Identifier);
          this.CONSUME2(Op[")"]!);
          return this.ACTION(() => ({ kind: "probewrite" as const, operand: { kind: "ident" as const, name: v.image, pos: posOf(v) }, pos: posOf(t) }));
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(At.const);
          this.CONSUME3(Op["("]!);
          const s = this.SUBRULE(this.stringLiteral);
          this.CONSUME3(Op[")"]!);
          return this.ACTION(() => {
            this.checkPrivileged(t, "using @const operator not permitted; need stap -g");
            if (s.value === "") this.err("expected non-empty string", s.pos);
            return { kind: "const" as const, name: s.value, pos: posOf(t) };
          });
        },
      },
    ]);
  });

  statOp = this.RULE("statOp", (): A.StatOpExpr => {
    const t = this.OR(
      (["count", "sum", "min", "max", "avg", "variance"] as const).map((k) => ({ ALT: () => this.CONSUME(At[k]) })),
    );
    this.CONSUME(Op["("]!);
    const operand = this.SUBRULE(this.expression);
    const args: A.Expr[] = [];
    this.MANY(() => {
      const comma = this.CONSUME(Op[","]!);
      const n = this.SUBRULE(this.literal);
      this.ACTION(() => {
        const max = t.image === "@variance" ? 1 : 0;
        if (args.length >= max) this.err(`not more than ${max + 1} parameter${max + 1 === 1 ? "" : "s"} allowed`, comma);
        if (n.kind !== "number") this.err("expected number", n.pos);
        args.push(n);
      });
    });
    this.CONSUME(Op[")"]!);
    return this.ACTION(() => ({ kind: "statop", op: t.image.slice(1) as A.StatOp, operand, args, pos: posOf(t) }));
  });

  histOp = this.RULE("histOp", (): A.HistExpr => {
    const t = this.OR([{ ALT: () => this.CONSUME(At.hist_linear) }, { ALT: () => this.CONSUME(At.hist_log) }]);
    this.CONSUME(Op["("]!);
    const operand = this.SUBRULE(this.expression);
    const args: A.Expr[] = [];
    this.MANY(() => {
      const comma = this.CONSUME(Op[","]!);
      const n = this.SUBRULE(this.literal);
      this.ACTION(() => {
        if (n.kind !== "number") this.err("expected number", n.pos);
        else if (t.image === "@hist_log" || args.length >= 3) this.err("expected ')'", comma);
        args.push(n);
      });
    });
    const close = this.CONSUME(Op[")"]!);
    return this.ACTION(() => {
      if (t.image === "@hist_linear" && args.length < 3) this.err("expected ','", close);
      return { kind: "hist" as const, hist: t.image === "@hist_log" ? ("log" as const) : ("linear" as const), operand, args, pos: posOf(t) };
    });
  });

  call = this.RULE("call", (): A.CallExpr => {
    const name = this.CONSUME(Identifier);
    this.CONSUME(Op["("]!);
    const args: A.Expr[] = [];
    // stap reports a bad format at the token after it
    let afterFirst: IToken | undefined;
    this.MANY_SEP({
      SEP: Op[","]!,
      DEF: () => {
        const a = this.OR([
          {
            // print(@hist_log(x)) prints the histogram itself
            GATE: () => args.length === 0 && printFamily.has(name.image),
            ALT: () => {
              const h = this.SUBRULE(this.histOp);
              let result: A.Expr = h;
              this.OPTION(() => {
                this.CONSUME(Op["["]!);
                const index = this.SUBRULE(this.expression);
                this.CONSUME(Op["]"]!);
                this.ACTION(() => (result = { kind: "index", array: h, indices: [index], pos: h.pos }));
              });
              return result;
            },
          },
          { ALT: () => this.SUBRULE2(this.expression) },
        ]);
        this.ACTION(() => {
          if (args.length === 0) afterFirst = this.LA(1);
          args.push(a);
        });
      },
    });
    const close = this.CONSUME(Op[")"]!);
    return this.ACTION(() => {
      this.checkPrintArgs(name.image, args, afterFirst ?? close, close);
      return { kind: "call" as const, name: name.image, args, pos: posOf(name) };
    });
  });

  /** stap's own checks of the print family's arguments, made while parsing the call. */
  private checkPrintArgs(name: string, args: A.Expr[], afterFirst: IToken, close: IToken): void {
    if (formatFamily.has(name) && args[0]?.kind !== "string") {
      this.err("expected literal string", args[0]?.pos ?? posOf(close));
      return;
    }
    // print()/sprint() print nothing: stap wants a value where the ')' is
    if ((name === "print" || name === "sprint") && args.length === 0) this.err("expected literal string or number", close);
    const format = args[0];
    if ((name === "printf" || name === "sprintf") && format?.kind === "string") {
      const problem = formatProblem(format.value);
      if (problem !== undefined) this.err(problem, afterFirst);
    }
    // printd and kin want a delimiter and two values; stap notices once past the ')'
    if (/^s?printd(ln)?$/.test(name) && args.length < 3) {
      const next = this.LA(1) as Tok;
      this.err("expected literal string or number", next.kind ? next : close);
    }
  }

  /** What `in` and `foreach` iterate: an array name or a histogram. */
  indexable = this.RULE("indexable", (): A.Expr => {
    return this.OR({
      DEF: [
        { ALT: () => this.SUBRULE(this.histOp) },
        {
          ALT: () => {
            const name = this.CONSUME(Identifier);
            return this.ACTION(() => ({ kind: "ident" as const, name: name.image, pos: posOf(name) }));
          },
        },
      ],
      ERR_MSG: "identifier or statistical operation",
    });
  });

  /** Indices of an element or a slice: expressions or `*` */
  indexList = this.RULE("indexList", (): A.Expr[] => {
    const out: A.Expr[] = [];
    this.AT_LEAST_ONE_SEP({
      SEP: Op[","]!,
      DEF: () => {
        const e = this.OR([{ ALT: () => this.wildcard() }, { ALT: () => this.SUBRULE(this.expression) }]);
        this.ACTION(() => out.push(e));
      },
    });
    return out;
  });
}
