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
  /**
   * stap's description of the token at `pos` ("identifier 'x'", "operator '='",
   * "keyword"). When set, the diagnostic prints in stap's pass-2 layout
   * (`semantic error: MSG: identifier 'x' at f.stp:1:2` + `source:` + caret),
   * see formatDiagnostic. The empty string asks for that layout with no
   * token (`semantic error: no probes found` and its closing blank line).
   */
  token?: string;
  /** a second token stap names after the first (e.g. the function an arity mismatch is against) */
  token2?: { token: string; pos: Pos };
  /**
   * What makes two errors "similar" for stap (it prints the first, counts the
   * others): errors raised by the same check, whatever their details.
   * Defaults to the message.
   */
  similar?: string;
  /** the explanation stap chains to the error before it ("type was first inferred here") */
  chained?: boolean;
}

/**
 * What stap remembers while printing one run's messages: the messages
 * already printed (stap prints each once) and how many similar warnings it
 * held back.
 */
export interface PrintState {
  seen: Set<string>;
  suppressedWarnings: number;
  suppressedErrors: number;
  /** `-v`: warnings are told apart by their token too */
  verbose: boolean;
}

export function newPrintState(verbose = false): PrintState {
  return { seen: new Set(), suppressedWarnings: 0, suppressedErrors: 0, verbose };
}

/** stap's closing notes when it held back repeated messages (printed at the end of the run). */
export function suppressedWarningsNote(state: PrintState): string {
  let out = "";
  if (state.suppressedErrors > 0) out += `Number of similar error messages suppressed: ${state.suppressedErrors}.\n`;
  if (state.suppressedWarnings > 0) out += `Number of similar warning messages suppressed: ${state.suppressedWarnings}.\n`;
  if (state.suppressedErrors > 0 || state.suppressedWarnings > 0) out += "Rerun with -v to see them.\n";
  return out;
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
export function formatDiagnostic(d: Diagnostic, sources: SourceMap, state?: PrintState): string {
  return visible(formatPlainOrToken(d, sources, state));
}

// A control character from a script (an escape sequence in a string, a
// file name) must not reach the terminal as such: it is printed as \xHH.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

function visible(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** A source line shown under a diagnostic: control characters made visible, and the caret's lead to match. */
function shownLine(srcLine: string, col: number, keepTabs: boolean): { line: string; lead: string } {
  const before = visible(srcLine.slice(0, Math.max(0, col - 1)));
  const line = visible(srcLine);
  const lead = [...before].map((c) => (keepTabs && /\s/.test(c) ? c : " ")).join("");
  return { line: keepTabs ? line : line.replace(/\t/g, " "), lead };
}

function formatPlainOrToken(d: Diagnostic, sources: SourceMap, state?: PrintState): string {
  if (d.token !== undefined) return formatStapToken(d, sources, state ?? newPrintState());
  const lines = [`${d.kind}: ${d.message}`];
  if (d.pos) {
    lines.push(`        at: ${d.pos.file}:${d.pos.line}:${d.pos.col}`);
    const text = sources.get(d.pos.file);
    if (text !== undefined) {
      const srcLine = text.split("\n")[d.pos.line - 1];
      if (srcLine !== undefined) {
        const { line, lead } = shownLine(srcLine, d.pos.col, false);
        lines.push(`    source: ${line}`);
        lines.push(`            ${lead}^`);
      }
    }
  }
  for (const n of d.notes ?? []) lines.push(`    ${n}`);
  return lines.join("\n") + "\n";
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === "error");
}

/**
 * `TOKEN at FILE:L:C`. stap leaves the file out when the token printed just
 * before was in the same file (`at :7:7`); tstap always names it, so each
 * message stands on its own (and can be pasted, grepped, clicked).
 */
function tokenAt(token: string, pos: Pos): string {
  return `${token} at ${pos.file}:${pos.line}:${pos.col}`;
}

/** stap's print_error_source: the line, then a caret under the column (tabs kept so it lines up). */
function sourceLines(pos: Pos, sources: SourceMap, align: string): string {
  const text = sources.get(pos.file);
  if (text === undefined) return "";
  const srcLine = text.split("\n")[pos.line - 1];
  if (srcLine === undefined) return "";
  const { line, lead } = shownLine(srcLine, pos.col, true);
  return `${align}source: ${line}\n${align}        ${lead}^\n`;
}

/**
 * stap's semantic error / warning layout (session.cxx print_error,
 * print_warning): a blank line closes each error that names a token;
 * repeated messages print once; without -v, warnings differing only by
 * their token count as repeats.
 */
function formatStapToken(d: Diagnostic, sources: SourceMap, state: PrintState): string {
  const isWarning = d.severity === "warning";
  const head = isWarning ? `WARNING: ${d.message}` : `${d.kind}: ${d.message}`;
  const pos = d.pos;
  if (d.token === "" || pos === undefined) {
    if (state.seen.has(head)) return "";
    state.seen.add(head);
    return `${head}\n${isWarning ? "" : "\n"}${(d.notes ?? []).map((n) => n + "\n").join("")}`;
  }
  // -v: every message prints, repeats included
  // an error's chained explanation prints once per exact text, and is never counted
  if (d.chained) {
    const exact = `chain: ${head}: ${d.token} at ${pos.file}:${pos.line}:${pos.col}`;
    if (state.seen.has(exact)) return "";
    state.seen.add(exact);
  }
  const key = state.verbose || d.chained ? undefined : isWarning ? head : `error: ${d.similar ?? head}`;
  if (key !== undefined && state.seen.has(key)) {
    if (isWarning) state.suppressedWarnings++;
    else state.suppressedErrors++;
    return "";
  }
  if (key !== undefined) state.seen.add(key);
  const align = isWarning ? " " : "        ";
  let out = `${head}: ${tokenAt(d.token!, pos)}\n${sourceLines(pos, sources, align)}`;
  if (d.token2) out += `${tokenAt(d.token2.token, d.token2.pos)}\n${sourceLines(d.token2.pos, sources, align)}`;
  if (!isWarning) out += "\n";
  for (const n of d.notes ?? []) out += `${n}\n`;
  return out;
}
