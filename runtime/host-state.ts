// What a process remembers of its host: tracefs's root and capabilities,
// tracepoint formats, the kernel config, ELF files, /proc/self. Each such
// cache is made here (hostCache, onForget), so that one call forgets them
// all: the startup snapshot is taken from a process that ran the passes
// (src/cli/warm.ts), and a run started from it on another machine, kernel or
// tracefs must find nothing of the build host's answers. A leaf module: the
// runtime and the compiler both import it.

const forgetters: (() => void)[] = [];

/** A Map that forgetHostState() empties. */
export function hostCache<K, V>(): Map<K, V> {
  const m = new Map<K, V>();
  forgetters.push(() => m.clear());
  return m;
}

/** Runs `forget` at forgetHostState(): it resets a cache held in module variables. */
export function onForget(forget: () => void): void {
  forgetters.push(forget);
}

/** Forgets everything every module learned of this host. */
export function forgetHostState(): void {
  for (const f of forgetters) f();
}
