// GNU getopt_long, as stap reads its command line: options may come
// anywhere before `--` (the words that are not options keep their order and
// become the operands), short options cluster (`-vvp2`), a short option's
// value is the rest of its word or the next word, a long option's value
// follows `=` or (when it requires one) is the next word, an optional value
// is only ever `--name=VALUE`, and a long name may be shortened to any
// unambiguous prefix. The messages are glibc's, with our program name.

export type ArgKind = "none" | "required" | "optional";

export interface OptionSpec {
  /** one character for `-x`, a word for `--word` */
  name: string;
  arg: ArgKind;
}

/** One option as read, in command-line order. */
export interface ParsedOption {
  name: string;
  /** the value (undefined for a flag, or an optional value not given) */
  value?: string;
}

/**
 * What getopt read. `error` (glibc's message) stops the reading where it
 * happened; the options before it stand, as stap acts on each in turn (so
 * `-V --bogus` still prints the version).
 */
export interface GetoptResult {
  options: ParsedOption[];
  operands: string[];
  error?: string;
}

export function getoptLong(argv: readonly string[], specs: readonly OptionSpec[], program: string): GetoptResult {
  const shorts = new Map(specs.filter((s) => s.name.length === 1).map((s) => [s.name, s]));
  const longs = specs.filter((s) => s.name.length > 1);
  const options: ParsedOption[] = [];
  const operands: string[] = [];
  const fail = (error: string): GetoptResult => ({ options, operands, error });
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = word.slice(2, eq < 0 ? undefined : eq);
      const exact = longs.find((s) => s.name === name);
      const candidates = exact ? [exact] : longs.filter((s) => s.name.startsWith(name));
      if (candidates.length === 0) return fail(`${program}: unrecognized option '${word}'`);
      if (candidates.length > 1) return fail(`${program}: option '--${name}' is ambiguous; possibilities:${candidates.map((c) => ` '--${c.name}'`).join("")}`);
      const spec = candidates[0]!;
      if (eq >= 0) {
        if (spec.arg === "none") return fail(`${program}: option '--${spec.name}' doesn't allow an argument`);
        options.push({ name: spec.name, value: word.slice(eq + 1) });
      } else if (spec.arg === "required") {
        if (i + 1 >= argv.length) return fail(`${program}: option '--${spec.name}' requires an argument`);
        options.push({ name: spec.name, value: argv[++i]! });
      } else {
        options.push({ name: spec.name });
      }
      continue;
    }
    if (word.startsWith("-") && word !== "-") {
      for (let j = 1; j < word.length; j++) {
        const c = word[j]!;
        const spec = shorts.get(c);
        if (!spec) return fail(`${program}: invalid option -- '${c}'`);
        if (spec.arg === "none") {
          options.push({ name: c });
          continue;
        }
        if (j + 1 < word.length) options.push({ name: c, value: word.slice(j + 1) });
        else if (spec.arg === "optional") options.push({ name: c });
        else if (i + 1 < argv.length) options.push({ name: c, value: argv[++i]! });
        else return fail(`${program}: option requires an argument -- '${c}'`);
        break;
      }
      continue;
    }
    operands.push(word);
  }
  return { options, operands };
}
