// The one gate between script-derived text and tracefs control files.
//
// A control file write is a command to the kernel: `dynamic_events` takes
// several definitions separated by newlines, `-:` lines remove events, a
// filter or trigger line could carry a second command. So nothing reaches a
// control file unless it matches the narrow grammar of what we mean to
// write: names are identifiers, paths are plain absolute paths, symbols are
// linker names, filters are one printable line with balanced quotes, and
// dynamic event definitions are parsed piece by piece. Anything else is
// refused with an UnsafeTextError naming what was wrong; there is no
// escaping, only refusal.

export class UnsafeTextError extends Error {
  constructor(
    readonly what: string,
    readonly text: string,
    readonly why: string,
  ) {
    super(`refusing to write ${what} '${printable(text)}' to tracefs: ${why}`);
    this.name = "UnsafeTextError";
  }
}

/** The text with control characters shown as \xNN (for messages only). */
export function printable(s: string): string {
  let out = "";
  for (let i = 0; i < s.length && i < 200; i++) {
    const c = s.charCodeAt(i);
    out += c < 0x20 || c > 0x7e ? `\\x${c.toString(16).padStart(2, "0")}` : s[i];
  }
  return s.length > 200 ? out + "..." : out;
}

function refuse(what: string, text: string, why: string): never {
  throw new UnsafeTextError(what, text, why);
}

function firstBad(s: string, ok: RegExp): string | undefined {
  for (const ch of s) if (!ok.test(ch)) return ch;
  return undefined;
}

function describeChar(ch: string): string {
  const c = ch.charCodeAt(0);
  if (ch === "\n") return "a newline";
  if (ch === " " || ch === "\t") return "whitespace";
  if (c < 0x20 || c > 0x7e) return `the non-printable character \\x${c.toString(16).padStart(2, "0")}`;
  return `the character '${ch}'`;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A tracefs name: event, group/system, instance, option or field name. */
export function safeIdent(what: string, s: string, maxLen = 64): string {
  if (s.length === 0) refuse(what, s, "it is empty");
  if (s.length > maxLen) refuse(what, s, `it is longer than ${maxLen} characters`);
  if (!IDENT.test(s)) {
    const bad = firstBad(s, /[A-Za-z0-9_]/) ?? s[0]!;
    refuse(what, s, `it contains ${describeChar(bad)} (only letters, digits and '_' are allowed, not starting with a digit)`);
  }
  return s;
}

/** A tracepoint system or event name as tracefs lists them (some event names carry '-' or '.'). */
export function safeEventName(what: string, s: string): string {
  if (s.length === 0 || s.length > 128) refuse(what, s, "its length is out of range");
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.\-]*$/.test(s) || s.includes("..")) {
    refuse(what, s, `it contains ${describeChar(firstBad(s, /[A-Za-z0-9_.\-]/) ?? ".")}`);
  }
  return s;
}

/**
 * An absolute file path for a uprobe place: no whitespace, quotes, shell,
 * glob or comment characters, no ':' (the kernel splits PATH:OFFSET on it),
 * no '.' or '..' segments, printable ASCII only.
 */
export function safePath(what: string, s: string): string {
  if (s.length === 0) refuse(what, s, "it is empty");
  if (s.length > 1024) refuse(what, s, "it is longer than 1024 characters");
  if (!s.startsWith("/")) refuse(what, s, "it is not an absolute path");
  const bad = firstBad(s, /[A-Za-z0-9_.\/+\-@~,=]/);
  if (bad !== undefined) refuse(what, s, `it contains ${describeChar(bad)}`);
  for (const seg of s.split("/").slice(1)) {
    if (seg === "..") refuse(what, s, "it contains a '..' segment");
    if (seg === ".") refuse(what, s, "it contains a '.' segment");
    if (seg === "") refuse(what, s, "it contains an empty segment ('//' or a trailing '/')");
  }
  return s;
}

/** A linker symbol (C, C++ mangled, versioned `name@@VER`). */
export function safeSymbol(what: string, s: string): string {
  if (s.length === 0 || s.length > 512) refuse(what, s, "its length is out of range");
  if (!/^[A-Za-z_.$][A-Za-z0-9_.$@]*$/.test(s)) refuse(what, s, `it contains ${describeChar(firstBad(s, /[A-Za-z0-9_.$@]/) ?? s[0]!)}`);
  return s;
}

/**
 * A filter expression (events/S/E/filter): one line of printable ASCII with
 * balanced double-quoted strings and no backslash (the kernel filter syntax
 * has no escapes we rely on).
 */
export function safeFilter(what: string, s: string): string {
  if (s.length > 4096) refuse(what, s, "it is longer than 4096 characters");
  const bad = firstBad(s, /[\x20-\x7e]/);
  if (bad !== undefined) refuse(what, s, `it contains ${describeChar(bad)}`);
  if (s.includes("\\")) refuse(what, s, "it contains a backslash");
  if (s.includes("'") || s.includes("`")) refuse(what, s, "it contains a single quote or backquote");
  if ((s.split('"').length - 1) % 2 !== 0) refuse(what, s, "it has an unbalanced double quote");
  return s;
}

/** A decimal number list (set_event_pid). */
export function safePids(what: string, pids: readonly number[]): string {
  for (const p of pids) if (!Number.isSafeInteger(p) || p < 0 || p > 0x3fffffff) refuse(what, String(p), "it is not a pid");
  return pids.join(" ");
}

/** A plain decimal number (buffer_size_kb, enable, ...). */
export function safeNumber(what: string, n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) refuse(what, String(n), "it is not a non-negative integer");
  return String(n);
}

const FETCH_CHARS = /[A-Za-z0-9_%$@+\-().:\[\]\/,\\]/;

/** One `name=fetcharg[:type]` (or bare fetcharg) argument of a probe definition. */
function safeFetchArg(what: string, arg: string): void {
  const bad = firstBad(arg, /[A-Za-z0-9_%$@+\-().:\[\]\/,=\\]/);
  if (bad !== undefined) refuse(what, arg, `it contains ${describeChar(bad)}`);
  // `\` only starts an immediate number (`\42`, `\-7`: a USDT constant), never an immediate string
  if (/\\(?!-?[0-9])/.test(arg)) refuse(what, arg, "it contains '\\' that does not start an immediate number");
  const eq = arg.indexOf("=");
  if (eq >= 0) {
    safeIdent(`${what} name`, arg.slice(0, eq));
    const rest = arg.slice(eq + 1);
    if (rest.includes("=")) refuse(what, arg, "it contains two '='");
    if (firstBad(rest, FETCH_CHARS) !== undefined || rest.length === 0) refuse(what, arg, "its fetch argument is malformed");
  }
  let depth = 0;
  for (const ch of arg) {
    if (ch === "(") depth++;
    else if (ch === ")" && --depth < 0) refuse(what, arg, "it has unbalanced parentheses");
  }
  if (depth !== 0) refuse(what, arg, "it has unbalanced parentheses");
}

/**
 * A dynamic event definition for `dynamic_events`/`uprobe_events`/
 * `kprobe_events`, which must belong to `group`:
 *   p[:GROUP/EVENT] PLACE [ARGS]   r[N][:GROUP/EVENT] PLACE [ARGS]
 *   e[:GROUP/EVENT] SYS.EVENT [ARGS]
 * PLACE: /abs/path:0xOFF[(0xREF)] (uprobe) or SYMBOL[+OFF] | 0xADDR (kprobe).
 * Returns the line; throws UnsafeTextError otherwise.
 */
export function safeDynamicEventLine(line: string, group: string): string {
  const what = "dynamic event definition";
  const bad = firstBad(line, /[\x20-\x7e]/);
  if (bad !== undefined) refuse(what, line, `it contains ${describeChar(bad)}`);
  if (line.length > 4000) refuse(what, line, "it is too long");
  const words = line.split(" ");
  if (words.some((w) => w === "")) refuse(what, line, "it has empty words (double or trailing spaces)");
  const head = /^([pre])(\d*):([^/]+)\/(.+)$/.exec(words[0]!);
  if (!head) refuse(what, line, "it does not start with p:GROUP/EVENT, r:GROUP/EVENT or e:GROUP/EVENT");
  if (head[3] !== group) refuse(what, line, `its group is not this run's group '${group}'`);
  safeIdent("event name", head[4]!);
  if (head[2] !== "" && head[1] !== "r") refuse(what, line, "only return probes take a maxactive number");
  const place = words[1];
  if (place === undefined) refuse(what, line, "it has no probe place");
  if (head[1] === "e") {
    const m = /^([^.]+)\.(.+)$/.exec(place);
    if (!m) refuse(what, line, "an event probe needs SYSTEM.EVENT");
    safeEventName("attached system", m[1]!);
    safeEventName("attached event", m[2]!);
  } else if (place.startsWith("/")) {
    const m = /^(\/[^:]*):(0x[0-9a-fA-F]+|\d+)(\(0x[0-9a-fA-F]+\)|\(\d+\))?(%return)?$/.exec(place);
    if (!m) refuse(what, line, `the uprobe place '${printable(place)}' is not PATH:OFFSET[(REF_CTR_OFFSET)]`);
    safePath("probed file path", m[1]!);
  } else {
    const m = /^([A-Za-z_.$][A-Za-z0-9_.$@]*)(\+(0x[0-9a-fA-F]+|\d+))?$|^0x[0-9a-fA-F]+$/.exec(place);
    if (!m) refuse(what, line, `the kprobe place '${printable(place)}' is not SYMBOL[+OFFSET] or an address`);
    if (m[1]) safeSymbol("probed symbol", m[1]);
  }
  for (const arg of words.slice(2)) safeFetchArg("probe argument", arg);
  return line;
}

/** `-:GROUP/EVENT`, removing one of our own dynamic events. */
export function safeRemoveLine(group: string, event: string): string {
  return `-:${safeIdent("group", group)}/${safeIdent("event name", event)}`;
}

/** `-:GROUP/`, removing every dynamic event of one of our own groups (the kernel matches an empty event name to all of the group's). */
export function safeRemoveGroupLine(group: string): string {
  return `-:${safeIdent("group", group)}/`;
}

/** A path relative to the tracefs root, each component a tracefs name. */
export function safeRelPath(rel: string): string {
  if (rel.length === 0 || rel.startsWith("/")) refuse("tracefs file", rel, "it is not a relative path");
  for (const seg of rel.split("/")) {
    if (seg === "" || seg === "." || seg === "..") refuse("tracefs file", rel, "it has an empty, '.' or '..' component");
    if (!/^[A-Za-z0-9_.\-]+$/.test(seg)) refuse("tracefs file", rel, `it contains ${describeChar(firstBad(seg, /[A-Za-z0-9_.\-]/)!)}`);
  }
  return rel;
}
