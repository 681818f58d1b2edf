// The options tstap reads: stap's own set (so that a `#!` line or a habit
// written for stap parses the same way), tstap's two extra commands, the
// help text and the version text.

import type { OptionSpec } from "./getopt.js";
import { STAP_LANGUAGE_VERSION, VERSION } from "../version.js";

// stap's short options ("hVvtp:I:e:E:o:R:r:a:m:kgPc:x:D:bs:uqiwl:d:L:FS:B:J:jWG:T:")
const shortOptions = "hVvtp:I:e:E:o:R:r:a:m:kgPc:x:D:bs:uqiwl:d:L:FS:B:J:jWG:T:";

function shortSpecs(letters: string): OptionSpec[] {
  const out: OptionSpec[] = [];
  for (let i = 0; i < letters.length; i++) {
    const takesArg = letters[i + 1] === ":";
    out.push({ name: letters[i]!, arg: takesArg ? "required" : "none" });
    if (takesArg) i++;
  }
  return out;
}

const longSpecs: OptionSpec[] = [
  // stap's long options, with the kind of value each takes
  ...(
    [
      ["skip-badvars", "none"],
      ["vp", "required"],
      ["unprivileged", "none"],
      ["build-as", "optional"],
      ["client-options", "none"],
      ["help", "none"],
      ["disable-cache", "none"],
      ["poison-cache", "none"],
      ["clean-cache", "none"],
      ["compatible", "required"],
      ["ldd", "none"],
      ["use-server", "optional"],
      ["list-servers", "optional"],
      ["trust-servers", "optional"],
      ["use-server-on-error", "optional"],
      ["use-http-server", "required"],
      ["all-modules", "none"],
      ["sign-module", "optional"],
      ["remote", "required"],
      ["remote-prefix", "none"],
      ["check-version", "none"],
      ["version", "none"],
      ["tmpdir", "required"],
      ["download-debuginfo", "optional"],
      ["dump-probe-types", "none"],
      ["dump-probe-aliases", "none"],
      ["dump-functions", "none"],
      ["privilege", "required"],
      ["suppress-handler-errors", "none"],
      ["modinfo", "required"],
      ["rlimit-as", "required"],
      ["rlimit-cpu", "required"],
      ["rlimit-nproc", "required"],
      ["rlimit-stack", "required"],
      ["rlimit-fsize", "required"],
      ["sysroot", "required"],
      ["sysenv", "required"],
      ["suppress-time-limits", "none"],
      ["runtime", "required"],
      ["dyninst", "none"],
      ["bpf", "none"],
      ["color", "optional"],
      ["colour", "optional"],
      ["prologue-searching", "optional"],
      ["save-uprobes", "none"],
      ["target-namespaces", "required"],
      ["monitor", "optional"],
      ["interactive", "none"],
      ["example", "none"],
      ["no-global-var-display", "none"],
      ["language-server", "none"],
      ["debug", "none"],
      ["semantic-keep-going", "none"],
      // tstap's own
      ["check", "none"],
      ["cleanup", "none"],
    ] as const
  ).map(([name, arg]) => ({ name, arg })),
];

export const optionSpecs: readonly OptionSpec[] = [...shortSpecs(shortOptions), ...longSpecs];

/** stap options tstap refuses, and why (the others it reads: see src/cli/main.ts). */
export const unsupportedOptions: ReadonlyMap<string, string> = new Map([
  ["E", "a second script beside the main one is not supported yet"],
  ["R", "there is no C runtime to look for"],
  ["r", "tstap runs on this machine's kernel only"],
  ["a", "tstap runs on this machine's architecture only"],
  ["B", "tstap builds no kernel module"],
  ["d", "tstap reads the symbols of the files it probes by itself"],
  ["J", "tstap builds no kernel module"],
  ["j", "tstap builds no kernel module"],
  ["G", "setting a global from the command line is not supported yet"],
  ["i", "there is no interactive mode"],
  ["interactive", "there is no interactive mode"],
  ["unprivileged", "tstap needs write access to tracefs, which only root has"],
  ["privilege", "tstap needs write access to tracefs, which only root has"],
  ["runtime", "tstap has one runtime, tracefs"],
  ["dyninst", "tstap has one runtime, tracefs"],
  ["bpf", "tstap has one runtime, tracefs"],
  ["use-server", "there are no compile servers"],
  ["list-servers", "there are no compile servers"],
  ["trust-servers", "there are no compile servers"],
  ["use-server-on-error", "there are no compile servers"],
  ["use-http-server", "there are no compile servers"],
  ["client-options", "there are no compile servers"],
  ["remote", "tstap runs on this machine only"],
  ["remote-prefix", "tstap runs on this machine only"],
  ["sysroot", "tstap runs on this machine only"],
  ["sysenv", "tstap runs on this machine only"],
  ["target-namespaces", "not supported yet"],
  ["monitor", "not supported yet"],
  ["language-server", "there is no language server"],
  ["example", "there are no bundled examples to run"],
  ["modinfo", "tstap builds no kernel module"],
  ["sign-module", "tstap builds no kernel module"],
  ["save-uprobes", "tstap builds no kernel module"],
  ["build-as", "tstap builds no kernel module"],
  ["suppress-time-limits", "not supported yet"],
  ["download-debuginfo", "not supported"],
  ["tmpdir", "tstap makes no temporary directory"],
  ["rlimit-as", "not supported"],
  ["rlimit-cpu", "not supported"],
  ["rlimit-nproc", "not supported"],
  ["rlimit-stack", "not supported"],
  ["rlimit-fsize", "not supported"],
  ["check-version", "not supported yet"],
  ["semantic-keep-going", "not supported yet"],
  ["no-global-var-display", "not supported yet"],
  ["debug", "tstap builds no kernel module"],
  ["disable-cache", "not needed: tstap keeps no cache"],
  ["poison-cache", "not needed: tstap keeps no cache"],
  ["clean-cache", "not needed: tstap keeps no cache"],
  ["ldd", "tstap reads the symbols of the files it probes by itself"],
  ["all-modules", "tstap reads the kernel's symbols by itself"],
  ["color", "not supported yet"],
  ["colour", "not supported yet"],
]);

export function versionText(): string {
  return (
    `tstap ${VERSION} (SystemTap language ${STAP_LANGUAGE_VERSION} compatible)\n` +
    "This is free software; see the source for copying conditions.\n" +
    "probes through tracefs: no kernel module, no BPF, no compiler\n"
  );
}

export function helpText(): string {
  return `${versionText()}
Usage: tstap [options] FILE [ARGS ...]           Run script in file.
   or: tstap [options] - [ARGS ...]              Run script on stdin.
   or: tstap [options] -e SCRIPT [ARGS ...]      Run given script.
   or: tstap [options] -l PROBE                  List matching probes.
   or: tstap [options] -L PROBE                  List matching probes and local variables.
   or: tstap [options] --dump-probe-types        List available probe types.
   or: tstap [options] --dump-probe-aliases      List available probe aliases.
   or: tstap [options] --dump-functions          List available functions.

Options may come anywhere before '--'; the first word that is not an option
is the script file (unless -e), the words after it are the script's
arguments ($1.., @1..).

Options:
   --         end of options, script arguments follow
   -h --help  show help
   -V --version
              show version
   -p NUM     stop after pass NUM 1-5, instead of 5
              (parse, elaborate, translate, load, run)
   -v         add verbosity to all passes (a report line per pass; more
              with -vv, -vvv)
   --vp {N}+  add per-pass verbosity [00000]
   -k         keep temporary directory (tstap makes none: accepted)
   -u         unoptimized translation: keep unused code, no filter pushdown
   -w         suppress warnings
   -W         turn warnings into errors
   -g         guru mode (embedded C parses, and is refused at pass 2)
   -P         prologue-searching for function probes
   --prologue-searching[=WHEN]
              prologue-searching for function probes (always, auto, never)
   -b         bulk mode (accepted; output stays one merged stream)
   -s NUM     per-CPU trace buffer size in megabytes (1-4095)
   -I DIR     look in DIR for additional .stp script files
   -D NM=VAL  set a limit or macro (MAXSTRINGLEN, MAXMAPENTRIES, MAXACTION, ...)
   -m MODULE  set the probe module name (shown in the -v report)
   -o FILE    send script output to FILE instead of stdout
   -c CMD     start the probes, run CMD, and exit when it finishes
   -x PID     sets target() to PID
   -S size[,n]
              accepted (tstap writes one output file)
   -t         collect probe timing information (a report after the run)
   -T TIME    terminate the script after TIME seconds
   -q         tapset coverage (accepted; tstap keeps no coverage database)
   -l PROBE   list the probe points matching PROBE
   -L PROBE   list the probe points matching PROBE, with their variables
   --compatible=VERSION
              suppress incompatible language/tapset changes beyond VERSION,
              instead of ${STAP_LANGUAGE_VERSION}
   --skip-badvars
              substitute zero for bad context $variables
   --suppress-handler-errors
              catch all runtime errors, quietly skip probe handlers
   --dump-probe-types
              show a list of available probe types.
   --dump-probe-aliases
              show a list of available probe aliases.
   --dump-functions
              show a list of available functions.
   --check    report what this kernel's tracefs can do, then exit
   --cleanup  remove tracefs leftovers of killed tstap runs, then exit
`;
}
