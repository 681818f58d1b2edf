// Diagnostics: what every pass reports instead of printing or exiting.
// A pass returns them; the session prints them together and picks the exit status.

import type { Pos } from "./parse/ast.js";

export type Severity = "error" | "warning";

/** The family of a message, as SystemTap names them at the start of the line. */
export type DiagnosticKind =
  | "parse error" // pass 1
  | "semantic error" // pass 2
  | "translate error" // pass 3
  | "load error" // pass 4
  | "WARNING"; // any pass, severity "warning"

export interface Diagnostic {
  severity: Severity;
  kind: DiagnosticKind;
  message: string;
  pos?: Pos;
  /** extra lines printed after the message, e.g. "did you mean: foo, bar" */
  notes?: string[];
}

export function error(kind: Exclude<DiagnosticKind, "WARNING">, message: string, pos?: Pos, notes?: string[]): Diagnostic {
  return { severity: "error", kind, message, pos, notes };
}

export function warning(message: string, pos?: Pos, notes?: string[]): Diagnostic {
  return { severity: "warning", kind: "WARNING", message, pos, notes };
}

/** Source texts by file name, so a diagnostic can show its line and a caret. */
export type SourceMap = ReadonlyMap<string, string>;

/**
 * Format a diagnostic the way stap does:
 *
 *     parse error: expected ';', saw identifier 'foo'
 *             at: file.stp:3:7
 *         source: x = 1 foo
 *                       ^
 */
export function formatDiagnostic(d: Diagnostic, sources: SourceMap): string {
  const lines = [`${d.kind}: ${d.message}`];
  if (d.pos) {
    lines.push(`        at: ${d.pos.file}:${d.pos.line}:${d.pos.col}`);
    const text = sources.get(d.pos.file);
    if (text !== undefined) {
      const srcLine = text.split("\n")[d.pos.line - 1];
      if (srcLine !== undefined) {
        const shown = srcLine.replace(/\t/g, " ");
        lines.push(`    source: ${shown}`);
        lines.push(`            ${" ".repeat(Math.max(0, d.pos.col - 1))}^`);
      }
    }
  }
  for (const n of d.notes ?? []) lines.push(`    ${n}`);
  return lines.join("\n") + "\n";
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === "error");
}
