// Target variables in handlers: `$name`, `$name$`, `$$vars`, @defined. What
// a variable is comes from its probe family (src/points, targetAccess);
// here it becomes a read of the decoded event through the field natives
// (runtime/context-kernel.ts), the same for every family.

import type { CallExpr, DefinedExpr, Expr, TargetVar, TargetVars } from "../parse/ast.js";
import { identifierAt } from "./near.js";
import { familyOf, targetAccess, variableNames, variablesOf } from "../points/registry.js";
import type { VariableRead } from "../points/family.js";
import { type Gen, longLiteral, stringLiteral } from "./gen-context.js";

function native(g: Gen, name: string, arity: number): string {
  return g.constant("$nat_", `$R.native(${stringLiteral(name)}, ${arity})`);
}

/**
 * JS reading one field of the probe's decoded event; `call` is the user_*
 * call a fault is reported near, `emitArg` emits its arguments the handler
 * evaluates (user_buffer_quoted's lengths).
 */
export function emitRead(g: Gen, r: VariableRead, pretty: boolean, call?: CallExpr, emitArg?: (e: Expr) => string): string {
  if (r.kind === "constant") return typeof r.value === "string" ? stringLiteral(r.value) : longLiteral(r.value);
  if (r.kind === "fields") return `${native(g, "__kernel_vars", 1)}(${stringLiteral(r.fields.join(" "))})`;
  if (r.kind === "element") {
    const read = `${native(g, "__kernel_element", 2)}(${stringLiteral(r.field)}, ${r.index})`;
    return pretty ? `${native(g, "__kernel_pretty_long", 2)}(${read}, ${stringLiteral(r.pretty)})` : read;
  }
  if (pretty) return `${native(g, "__kernel_pretty", 2)}(${stringLiteral(r.field)}, ${stringLiteral(r.pretty)})`;
  const f = r.fault;
  if (f) {
    // a fault raises stap's error near the call, as stap names its function's call site
    const near = call ? `, ${g.near(identifierAt(call.name, call.pos))}` : "";
    const address = [stringLiteral(f.address?.field ?? ""), stringLiteral(f.address?.check ?? ""), longLiteral(f.address?.offset ?? 0n)];
    if (f.buffer) {
      if (!call || !emitArg) return g.fail(`internal: ${f.fn}() lowered without its call`, undefined);
      const b = f.buffer;
      const fn = g.constant("$nat_", `$R.native("__kernel_uread_buffer", 11${near})`);
      const fields = [b.chunks.join(" "), b.first, b.last].map(stringLiteral);
      return `${fn}(${[...fields, longLiteral(BigInt(b.bytes)), stringLiteral(f.mode), stringLiteral(f.text ?? ""), ...address, emitArg(call.args[1]!), emitArg(call.args[2]!)].join(", ")})`;
    }
    if (r.shape === "int") {
      const fn = g.constant("$nat_", `$R.native("__kernel_uread_long", 7${near})`);
      return `${fn}(${[stringLiteral(r.field), stringLiteral(f.check ?? r.field), stringLiteral(f.mode), stringLiteral(f.text ?? ""), ...address].join(", ")})`;
    }
    const fn = g.constant("$nat_", `$R.native("__kernel_uread_string", 9${near})`);
    const shape = [stringLiteral(f.fallback ?? ""), longLiteral(BigInt(f.maxLength ?? -1)), f.quote ? "1" : "0"];
    return `${fn}(${[stringLiteral(r.field), stringLiteral(f.mode), stringLiteral(f.text ?? ""), ...shape, ...address].join(", ")})`;
  }
  return `${native(g, "__kernel_field", 1)}(${stringLiteral(r.field)})`;
}

/** JS for `$name`, `$$vars` and friends in the probe being emitted. */
export function emitTarget(g: Gen, e: TargetVar | TargetVars, emitIndex: (e: Expr) => string): string {
  const probe = g.probe;
  // in a function there is no event: stap resolves target variables per probe only
  if (!probe || g.fn !== undefined) return g.fail(`target variables and @cast/@var/@entry are not available in this probe`, e.pos);
  // what the probe's family lowered itself (a USDT marker's $$parms)
  const lowered = g.reads?.get(e);
  if (lowered) return emitRead(g, lowered, false);
  const access = targetAccess(probe.point, e, probe.pp);
  if (!access.ok) {
    if (access.unresolved && e.kind === "target") {
      const fam = familyOf(probe.point);
      const names = variableNames(probe.point);
      return g.fail(`unable to find ${fam.variableNoun ?? "target variable"} '$${e.name}' (alternatives: ${names.join(" ") || "none"})`, e.pos);
    }
    return g.fail(access.problem, access.pos);
  }
  if ("bundle" in access) {
    if (e.pretty === "") return `${native(g, "__kernel_vars", 0)}()`;
    const spec = variablesOf(probe.point)
      .flatMap((v) => (v.read.kind === "field" || v.read.kind === "element" ? [`${v.read.field}:${v.read.pretty}`] : []))
      .join(" ");
    return `${native(g, "__kernel_vars_pretty", 1)}(${stringLiteral(spec)})`;
  }
  const r: VariableRead = access.variable.read;
  const t = e as TargetVar;
  if (r.kind === "field" && r.shape === "int-array" && t.pretty === "") {
    const step = t.steps[0]!;
    return `${native(g, "__kernel_element", 2)}(${stringLiteral(r.field)}, Number(${emitIndex((step as { index: Expr }).index)}))`;
  }
  return emitRead(g, r, t.pretty !== "");
}

/** @defined(...) that pass 2 did not fold (hand-built programs): the same answer pass 2 gives. */
export function emitDefined(g: Gen, e: DefinedExpr): string {
  const inner = e.operand.kind === "group" ? e.operand.inner : e.operand;
  if (inner.kind !== "target" && inner.kind !== "target-vars") return "0";
  const probe = g.probe;
  if (!probe || g.fn !== undefined) return "0";
  return targetAccess(probe.point, inner, probe.pp).ok ? "1" : "0";
}
