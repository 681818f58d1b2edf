// The process-level safety net behind every tracefs object: whatever way the
// process ends (normal exit, process.exit(), an uncaught exception, SIGINT,
// SIGTERM, SIGHUP), registered cleanups run, newest first, synchronously.
//
// Signals: when nobody else listens for the signal (no run loop), we clean
// up and re-raise it so the process dies of it as it would have. When the
// run loop listens, it is the one that stops the run and closes the session;
// we stay out of its way, except that a second signal of the same kind
// while the first is still being handled cleans up and exits at once.

type Cleanup = () => unknown;

const cleanups = new Set<Cleanup>();
let installed = false;
const seen = new Map<NodeJS.Signals, number>();
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** Runs every registered cleanup now (newest first); each runs once. */
export function runCleanups(): void {
  const list = [...cleanups].reverse();
  cleanups.clear();
  for (const c of list) {
    try {
      c();
    } catch {
      // cleanup on the way out: nothing more can be done here
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  const others = process.listeners(sig).filter((l) => l !== signalHandlers.get(sig));
  const n = (seen.get(sig) ?? 0) + 1;
  seen.set(sig, n);
  if (others.length > 0 && n === 1) return;
  runCleanups();
  for (const s of SIGNALS) process.off(s, signalHandlers.get(s)!);
  if (others.length > 0) process.exit(128 + (SIGNAL_NUMBERS[sig] ?? 1));
  process.kill(process.pid, sig);
}

const signalHandlers = new Map<NodeJS.Signals, () => void>(SIGNALS.map((s) => [s, () => onSignal(s)]));

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", runCleanups);
  // a monitor does not change Node's crash behaviour; when someone handles
  // uncaught exceptions the process lives on, and so must its sessions
  process.on("uncaughtExceptionMonitor", () => {
    if (process.listenerCount("uncaughtException") === 0) runCleanups();
  });
  for (const s of SIGNALS) process.on(s, signalHandlers.get(s)!);
}

/** Registers a cleanup; returns the function that unregisters it (call it after a normal close). */
export function guardCleanup(fn: Cleanup): () => void {
  install();
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
    // everything closed normally: a later run starts with no signal pending
    if (cleanups.size === 0) seen.clear();
  };
}

/** The cleanups still pending (tests). */
export function pendingCleanups(): number {
  return cleanups.size;
}
