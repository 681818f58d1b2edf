// stap's wildcard patterns (fnmatch-like), shared by every family that matches names.

/** stap's wildcards: `*` any run, `?` one character, `[...]` a class. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 1);
      if (close < 0) re += "\\[";
      else {
        re += "[" + glob.slice(i + 1, close).replace(/\\/g, "\\\\").replace(/^!/, "^") + "]";
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

/** Whether a pattern holds any wildcard (a plain name is looked up exactly). */
export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}
