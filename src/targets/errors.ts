// TargetError: the one error type src/targets/ throws, carrying a message fit for users.

/**
 * What went wrong, for callers that react differently (a missing symbol
 * suggests names, a missing file does not).
 */
export type TargetErrorCode =
  | "not-found" // no such file, program, library, process or symbol
  | "not-elf" // a file that is not an ELF object (script, data, directory)
  | "unsupported" // ELF, but a class/byte order/machine/type tstap cannot probe
  | "malformed" // truncated or inconsistent ELF, maps or ld.so.cache
  | "changed" // the file was replaced between two reads
  | "io" // the system refused (permissions, I/O error)
  | "tool"; // a helper program (c++filt) failed

/**
 * Thrown by every reader under src/targets/. `message` is complete and
 * printable as is (it names the file); no stack trace is meant for users.
 */
export class TargetError extends Error {
  override readonly name = "TargetError";
  constructor(
    readonly code: TargetErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The system error's own words without Node's "ENOENT: " prefix and syscall suffix. */
export function systemReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case "ENOENT":
      return "No such file or directory";
    case "EACCES":
      return "Permission denied";
    case "EPERM":
      return "Operation not permitted";
    case "EISDIR":
      return "Is a directory";
    case "ENOTDIR":
      return "Not a directory";
    case "ELOOP":
      return "Too many levels of symbolic links";
    case "ESRCH":
      return "No such process";
    default:
      return e.message ?? String(err);
  }
}

export function codeOfSystemError(err: unknown): TargetErrorCode {
  const c = (err as NodeJS.ErrnoException).code;
  return c === "ENOENT" || c === "ESRCH" || c === "ENOTDIR" ? "not-found" : "io";
}
