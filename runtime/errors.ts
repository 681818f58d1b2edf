// Run-time errors of a script, as SystemTap reports them:
// `ERROR: <message> near <token> at <file:line:col>`.
//
// A script error is a JS exception carrying the message (what `catch (e)`
// sees) and the "near" text (the token stap's translator records in
// c->last_stmt). Everything else that escapes a handler is a tstap bug and is
// reported as `ERROR: internal: ...`, never with a stack.

export class ScriptError extends Error {
  /** e.g. "operator '/' at x.stp:3:10"; undefined for error("...") (stap prints no "near") */
  readonly near: string | undefined;
  constructor(message: string, near?: string) {
    super(message);
    this.near = near;
  }
}

/** MAXACTION exceeded: stap checks the action budget before a catch block runs, so try/catch cannot hold it. */
export class ActionLimitError extends ScriptError {}

/**
 * stap's overload (STP_OVERLOAD): handlers took too much of the CPU. It ends
 * the run whatever MAXERRORS, try/catch or --suppress-handler-errors say
 * ("a system safety metric", stap's tapsets.cxx).
 */
export class OverloadError extends ScriptError {}

/** What a script's try/catch may catch: every script failure but the action limit and overload. */
export function isCatchable(e: unknown): boolean {
  return isScriptFailure(e) && !(e instanceof ActionLimitError) && !(e instanceof OverloadError);
}

/** `abort()`: ends the handler at once; not catchable by try/catch. */
export class AbortHandler {
  static readonly instance = new AbortHandler();
}

/** Errors the runtime leaves raise for a script's own mistakes (not tstap bugs). */
const leafScriptErrors = new Set(["StatError", "FormatRuntimeError", "RegexError"]);

/** A script-level run-time error: printed as `ERROR: ...` and catchable by try/catch. */
export function isScriptFailure(e: unknown): e is Error {
  return e instanceof ScriptError || (e instanceof Error && leafScriptErrors.has(e.name));
}

/** The text stap prints for an error after "ERROR: ". */
export function errorText(e: unknown): string {
  if (e instanceof ScriptError) return e.near !== undefined ? `${e.message} near ${e.near}` : e.message;
  if (isScriptFailure(e)) return e.message;
  if (e instanceof RangeError && /call stack/i.test(e.message)) return "MAXNESTING exceeded";
  // the engine's own size limits: memory the script asked for, not a tstap bug
  if (e instanceof RangeError && /Invalid (string|array|typed array) length|maximum size exceeded|allocation failed/i.test(e.message))
    return `out of memory: ${e.message} (lower -D MAXSTRINGLEN or MAXMAPENTRIES)`;
  const msg = e instanceof Error ? e.message : String(e);
  return `internal: ${msg}`;
}

/** The message a script's `catch (msg)` receives. */
export function caughtMessage(e: unknown): string {
  if (e instanceof ScriptError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export function divisionByZero(near: string): never {
  throw new ScriptError("division by 0", near);
}
