// Turning chevrotain's recognition errors into stap-shaped messages:
// "expected ';', saw identifier 'foo'", "expected statement, saw operator '}'".

import type { IParserErrorMessageProvider, IToken, TokenType } from "chevrotain";
import type { Tok } from "./tokens.js";

function label(t: TokenType): string {
  return t.LABEL ?? t.name;
}

function alternatives(paths: TokenType[][][] | TokenType[][]): string {
  const firsts = new Set<string>();
  for (const p of paths.flat(1) as (TokenType[] | TokenType)[]) {
    const first = Array.isArray(p) ? p[0] : p;
    if (first) firsts.add(label(first));
  }
  return firsts.size === 1 ? [...firsts][0]! : "one of " + [...firsts].join(", ");
}

export const messageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected }) {
    return `expected ${label(expected)}`;
  },
  buildNotAllInputParsedMessage() {
    return "expected 'probe', 'global', 'private', 'function', or '%{'";
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, customUserDescription }) {
    if (customUserDescription) return `expected ${customUserDescription}`;
    return `expected ${alternatives(expectedPathsPerAlt)}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, customUserDescription }) {
    if (customUserDescription) return `expected ${customUserDescription}`;
    return `expected ${alternatives(expectedIterationPaths)}`;
  },
};

/** How stap names a token in "saw ..." (non-printable bytes shown as '?'). */
export function describeToken(t: IToken): string {
  const tok = t as Tok;
  if (!tok.kind) return "end of file";
  if (tok.kind === "embedded-code") return "embedded-code";
  const shown = [...tok.image].map((c) => (c >= " " && c <= "~" ? c : "?")).join("");
  const clipped = shown.length > 60 ? shown.slice(0, 57) + "..." : shown;
  return `${tok.kind} '${clipped}'`;
}
