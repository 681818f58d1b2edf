// One private tracefs instance per run (instances/tstap_<pid>_<n>) holding
// its buffers, enables, filters and options, plus the run's dynamic event
// group of the same name. close() undoes all of it and may be called any
// number of times, from any exit path (it is synchronous so it can run in
// process 'exit' handlers).

import { close as closeAsync, closeSync, constants, mkdirSync, openSync, readFileSync, rmdirSync, write as writeAsync } from "node:fs";
import { join } from "node:path";
import { newRunName, ownerPid } from "./names.js";
import { safeDynamicEventLine, safeEventName, safeFilter, safeIdent, safeNumber, safePids, safeRemoveGroupLine, safeRemoveLine } from "./safe-text.js";
import { assertWritable, exists, findTracefs, isDir, listDir, readText, TraceFsError, writeControl } from "./tracefs.js";
import { guardCleanup } from "./guard.js";

export interface InstanceOptions {
  /** per-CPU buffer size in KiB (buffer_size_kb); default 16 MiB */
  bufferKb?: number;
  /** trace clock; default `mono` (the clock process.hrtime reads) */
  clock?: string;
  /** tracefs root (default: found/mounted by findTracefs) */
  root?: string;
  /**
   * The slow writes (trace_clock, the sub-buffer and buffer sizes: each
   * waits for an RCU grace period or allocates the buffer) are started on
   * libuv's thread pool instead of being waited for: the caller goes on
   * (compiling the script) while the kernel works, and awaits settle()
   * before it uses the instance.
   */
  deferred?: boolean;
}

/** A control write to start later, its file opened already. */
interface QueuedWrite {
  rel: string;
  text: string;
  fd: number;
}

/** A control write running on the thread pool: its fd, and how it ended. */
interface PendingWrite {
  rel: string;
  text: string;
  fd: number;
  /** the fd was closed (by the write's end, or by close() on the way out) */
  closed: boolean;
  done: Promise<NodeJS.ErrnoException | undefined>;
}

// (bin/tstap's early instance writes these two, and mono, before node runs:
// adopt() checks what it wrote, so a value changed here alone costs speed)
export const DEFAULT_BUFFER_KB = 16 * 1024;
/** ring-buffer sub-buffer ("page") size asked for, KiB */
export const SUBBUF_KB = 64;
/**
 * The kernel allocates a resized buffer in the one write(2) to
 * buffer_size_kb, some 2 ms per MB per CPU; a large -s grows by this much at
 * a time, the event loop (and so a signal) running between steps.
 */
export const BUFFER_GROW_STEP_KB = 64 * 1024;

export class TraceInstance {
  readonly root: string;
  /** instance and dynamic event group name: tstap_<pid>_<n> */
  readonly name: string;
  /** instances/NAME, relative to root */
  readonly rel: string;
  readonly dir: string;
  /** the trace clock (`local` where the kernel refused the one asked for at a deferred create) */
  get clock(): string {
    return this.clockName;
  }
  private clockName: string;
  /** every line that defined an event of this run's group or added a probe to one */
  private readonly definedLines = new Set<string>();
  /** a dynamic event definition was attempted: the group must be removed at close */
  private definedAny = false;
  private readonly enabled: { system: string; event: string }[] = [];
  private closed = false;
  private readonly unguard: () => void;
  /** deferred writes still running or not yet checked (settle()) */
  private pending: PendingWrite[] = [];
  /** deferred writes that wait for those, their files open (settle() makes them) */
  private queued: QueuedWrite[] = [];
  /** bin/tstap's shell that began this instance (adopt), stopped once its writes are done or the instance goes */
  private writer: number | undefined;
  /** the buffer size (KiB) create() asked for in a deferred write */
  private deferredKb: number | undefined;

  private constructor(root: string, name: string, clock: string) {
    this.root = root;
    this.name = name;
    this.rel = `instances/${name}`;
    this.dir = join(root, this.rel);
    this.clockName = clock;
    this.unguard = guardCleanup(() => this.close());
  }

  /** Creates the instance (after reaping leftovers of dead runs is the caller's choice). */
  static create(opts: InstanceOptions = {}): TraceInstance {
    const root = opts.root ?? findTracefs();
    assertWritable(root);
    let name = newRunName();
    for (let tries = 0; ; tries++) {
      try {
        mkdirSync(join(root, "instances", name));
        break;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        // a leftover of a dead process that had our pid (not reaped: reap off, or it failed): take the next name
        if (e.code === "EEXIST" && tries < 100) {
          name = newRunName();
          continue;
        }
        throw new TraceFsError(`cannot create tracefs instance ${root}/instances/${name}: ${e.code ?? e.message}`, e.code);
      }
    }
    const wanted = opts.clock ?? "mono";
    // deferred: no read of the clocks first (mono is in every kernel with
    // instances); a kernel that refuses it gets `local` at settleFormat()
    const clock = opts.deferred || new RegExp(`(^|[\\s\\[])${wanted}($|[\\s\\]])`).test(readText(root, `instances/${name}/trace_clock`)) ? wanted : "local";
    const inst = new TraceInstance(root, name, clock);
    try {
      inst.write("tracing_on", "0");
      // producer/consumer: when we fall behind, new events are dropped and counted, never old ones overwritten silently
      if (inst.has("options/overwrite")) inst.write("options/overwrite", "0");
      // wake readers as soon as there is data (we poll anyway)
      if (inst.has("buffer_percent")) inst.write("buffer_percent", "0");
      const slow: [string, string][] = [["trace_clock", safeIdent("trace clock", clock)]];
      // larger sub-buffers: a read(2) of trace_pipe_raw returns one
      // sub-buffer, so a burst drains in a sixteenth of the system calls,
      // and the writer crosses fewer page ends. Older kernels have no such
      // file; a kernel that refuses the size keeps its own. (Before the
      // buffer grows, when written one after the other: the kernel
      // reallocates the buffer at the new size.)
      if (inst.has("buffer_subbuf_size_kb")) slow.push(["buffer_subbuf_size_kb", String(SUBBUF_KB)]);
      // a larger buffer is grown in steps afterwards (growBuffer)
      slow.push(["buffer_size_kb", safeNumber("buffer size", Math.min(BUFFER_GROW_STEP_KB, Math.max(4, Math.floor(opts.bufferKb ?? DEFAULT_BUFFER_KB))))]);
      if (opts.deferred) {
        // the clock and the sub-buffer size at once (the kernel takes them one
        // at a time); the buffer size once the sub-buffer size is done:
        // written at the same time, the two race in this kernel (6.18), which
        // can size the buffer in pages of the old sub-buffer size and give it
        // 16 times the size asked for
        // Every file is opened before the first write starts: the kernel
        // holds trace_types_lock through each of these writes (grace
        // periods, the allocation), and an open or close of an instance's
        // file takes it too, so an open on the main thread would wait there,
        // the compiler stopped, for tens of ms.
        const opened: QueuedWrite[] = [];
        try {
          for (const [rel, text] of slow) opened.push({ rel, text, fd: inst.openForWrite(rel) });
        } catch (err) {
          for (const o of opened) closeSync(o.fd);
          throw err;
        }
        const size = opened.pop()!;
        inst.queued.push(size);
        inst.deferredKb = Number(size.text);
        const [clock, sub] = opened;
        inst.pending.push(inst.startWrite(clock!));
        if (sub) {
          const w = inst.startWrite(sub);
          inst.pending.push(w);
          // (when the event loop next turns: the caller lets it between passes)
          void w.done.then(() => inst.startQueued());
        } else inst.startQueued();
      } else {
        for (const [rel, text] of slow) inst.writeSlow(rel, text);
      }
    } catch (err) {
      inst.close();
      throw err;
    }
    return inst;
  }

  /**
   * Takes over instances/NAME, made for this process before it ran (bin/tstap
   * starts the kernel's slow writes in a shell `writer` while node starts):
   * like a deferred create(), settle() waits for that shell, then checks what
   * it wrote and writes what is missing. Undefined when there is no such
   * instance (the shell could not make it).
   */
  static adopt(name: string, writer: number, opts: { bufferKb?: number; root?: string } = {}): TraceInstance | undefined {
    const root = opts.root ?? findTracefs();
    const rel = `instances/${safeIdent("instance", name)}`;
    // the shell's mkdir is some ms old when node runs its first line: waited for if it is not there yet
    for (let tries = 0; !isDir(root, rel) && writing(writer) && tries < 200; tries++) sleepMs(1);
    if (!isDir(root, rel)) return undefined;
    const inst = new TraceInstance(root, name, "mono");
    inst.writer = writer;
    const kb = Math.min(BUFFER_GROW_STEP_KB, Math.max(4, Math.floor(opts.bufferKb ?? DEFAULT_BUFFER_KB)));
    inst.deferredKb = kb;
    const w: PendingWrite = { rel: "launcher", text: "", fd: -1, closed: true, done: Promise.resolve(undefined) };
    w.done = new Promise((resolve) => {
      const poll = (): void => {
        if (inst.closed) return resolve(undefined);
        if (writing(writer)) return void setTimeout(poll, 1);
        stop(writer);
        try {
          inst.checkLaunched(kb);
          resolve(undefined);
        } catch (err) {
          resolve(err as NodeJS.ErrnoException);
        }
      };
      poll();
    });
    inst.pending.push(w);
    return inst;
  }

  /** What the launcher's shell should have written (create()'s set), written where it is not so. */
  private checkLaunched(kb: number): void {
    if (this.read("tracing_on").trim() !== "0") this.write("tracing_on", "0");
    if (this.has("options/overwrite") && this.read("options/overwrite").trim() !== "0") this.write("options/overwrite", "0");
    if (!/\[mono\]/.test(this.read("trace_clock"))) this.redo({ rel: "trace_clock", text: "mono" });
    if (this.has("buffer_subbuf_size_kb") && Number(this.read("buffer_subbuf_size_kb").trim()) !== SUBBUF_KB) this.writeSlow("buffer_subbuf_size_kb", String(SUBBUF_KB));
    if (Number(this.read("buffer_size_kb").trim().replace(/\s.*$/, "")) < kb) this.write("buffer_size_kb", safeNumber("buffer size", kb));
  }

  /** A write of create()'s slow set: the sub-buffer size may be refused (the default one works, only with more reads). */
  private writeSlow(rel: string, text: string): void {
    try {
      this.write(rel, text);
    } catch (err) {
      if (rel !== "buffer_subbuf_size_kb") throw err;
    }
  }

  private openForWrite(rel: string): number {
    return openSync(join(this.dir, rel), constants.O_WRONLY | constants.O_TRUNC);
  }

  /** Writes TEXT to its file, opened beforehand, on the thread pool. */
  private startWrite({ rel, text, fd }: QueuedWrite): PendingWrite {
    const w: PendingWrite = { rel, text, fd, closed: false, done: Promise.resolve(undefined) };
    const buf = Buffer.from(text, "latin1");
    w.done = new Promise((resolve) => {
      writeAsync(fd, buf, 0, buf.length, null, (err, n) => {
        if (!w.closed) {
          w.closed = true;
          // on the thread pool too: the close waits for trace_types_lock while another write holds it
          closeAsync(fd, () => undefined);
        }
        resolve(err ?? (n === buf.length ? undefined : Object.assign(new Error("short write"), { code: "EIO" })));
      });
    });
    return w;
  }

  /** Starts the deferred writes that waited for the others. */
  private startQueued(): void {
    if (this.closed) return;
    for (const q of this.queued.splice(0)) this.pending.push(this.startWrite(q));
  }

  /**
   * Waits for the deferred writes of create() that decide the pages' form:
   * the clock and the sub-buffer size (a reader's page size). The buffer's
   * size may still be allocated meanwhile (some 30 ms for 16 MB per CPU
   * here): events can be enabled and filters set during it, on other
   * kernel locks; settle() before tracing starts.
   */
  async settleFormat(): Promise<void> {
    const first = this.pending.filter((w) => w.rel !== "buffer_size_kb");
    const failed = await Promise.all(first.map((w) => w.done));
    this.pending = this.pending.filter((w) => !first.includes(w));
    first.forEach((w, i) => {
      if (failed[i] !== undefined) this.redo(w);
    });
  }

  /**
   * Waits for the deferred writes of create(); one that failed is done
   * again here, synchronously, so that its error says what the kernel said
   * (a refused sub-buffer size is not an error: the default one works).
   */
  async settle(): Promise<void> {
    while (this.pending.length > 0) {
      const pending = this.pending;
      this.pending = [];
      const failed = await Promise.all(pending.map((w) => w.done));
      pending.forEach((w, i) => {
        if (failed[i] !== undefined) this.redo(w);
      });
    }
    for (const q of this.queued.splice(0)) {
      closeSync(q.fd);
      this.writeSlow(q.rel, q.text);
    }
  }

  /**
   * A deferred write that failed, done again synchronously so that its error
   * says what the kernel said; a refused sub-buffer size is no error (the
   * default one works, only with more reads), a refused clock falls back
   * to `local` (create() did not read the kernel's list first).
   */
  private redo(w: { rel: string; text: string }): void {
    if (w.rel === "buffer_subbuf_size_kb") return;
    if (w.rel === "launcher") {
      this.checkLaunched(this.deferredKb ?? DEFAULT_BUFFER_KB);
      return;
    }
    if (w.rel === "trace_clock" && this.clockName !== "local") {
      try {
        this.write(w.rel, w.text);
      } catch {
        this.write("trace_clock", "local");
        this.clockName = "local";
      }
      return;
    }
    this.write(w.rel, w.text);
  }

  /**
   * Grows the per-CPU buffer to `kb` in steps, yielding to the event loop
   * between them; stops early (the buffer as grown so far) when `cancelled()`
   * says the run is ending (a signal during arming).
   */
  async growBuffer(kb: number, cancelled: () => boolean = () => false): Promise<void> {
    const want = Math.max(4, Math.floor(kb));
    // create()'s deferred write asks for this much already: settle() waits for it before tracing starts
    if (this.deferredKb !== undefined && want <= this.deferredKb) return;
    await this.settle();
    let size = Number(this.read("buffer_size_kb").trim().replace(/\s.*$/, "")) || 0;
    while (size < want) {
      await new Promise((resolve) => setImmediate(resolve));
      if (cancelled() || this.closed) return;
      size = Math.min(want, size + BUFFER_GROW_STEP_KB);
      this.write("buffer_size_kb", safeNumber("buffer size", size));
    }
  }

  has(rel: string): boolean {
    return exists(this.root, `${this.rel}/${rel}`);
  }

  read(rel: string): string {
    return readText(this.root, `${this.rel}/${rel}`);
  }

  /** Writes a file of the instance (text already validated by the caller or a number). */
  write(rel: string, text: string): void {
    if (this.closed) throw new TraceFsError(`internal: instance ${this.name} is closed`);
    writeControl(this.root, `${this.rel}/${rel}`, text);
  }

  /**
   * Enables SYSTEM:EVENT in this instance with an optional filter; returns
   * its type id (`id`: already known from the event's format, not read again).
   */
  enableEvent(system: string, event: string, filter?: string, id?: number): number {
    const ev = `events/${safeEventName("event system", system)}/${safeEventName("event name", event)}`;
    const safe = filter !== undefined && filter.trim() !== "" ? safeFilter("event filter", filter) : undefined;
    // no existence check first: a missing event is the first write's ENOENT (arming is on the startup path)
    try {
      if (safe !== undefined) this.write(`${ev}/filter`, safe);
      this.write(`${ev}/enable`, "1");
    } catch (err) {
      if (err instanceof TraceFsError && err.code === "ENOENT" && !this.has(ev)) throw new TraceFsError(`no tracepoint ${system}:${event} in this kernel (${this.dir}/${ev} does not exist)`, "ENOENT");
      throw err;
    }
    this.enabled.push({ system, event });
    return id !== undefined && id >= 0 ? id : Number(this.read(`${ev}/id`).trim());
  }

  /** Disables SYSTEM:EVENT in this instance (for a uprobe, the kernel waits until no handler of it runs). */
  disableEvent(system: string, event: string): void {
    this.write(`events/${safeEventName("event system", system)}/${safeEventName("event name", event)}/enable`, "0");
  }

  /** the control file dynamic events are written to: dynamic_events where the kernel has it */
  private dynamicFile(line: string): string {
    if (exists(this.root, "dynamic_events")) return "dynamic_events";
    return line.startsWith("p") || line.startsWith("r") ? (line.includes(" /") ? "uprobe_events" : "kprobe_events") : "dynamic_events";
  }

  /**
   * Defines a dynamic event (uprobe/kprobe/eprobe line) in this run's group
   * and returns its system (the group) and event name. The line must name
   * `this.name` as its group: `p:tstap_1_0/p0 /bin/true:0x1040`. A line
   * naming an event already defined adds a probe to it.
   */
  defineDynamicEvent(line: string): { system: string; event: string } {
    safeDynamicEventLine(line, this.name);
    const event = eventOf(line);
    // before the write: a refused write may still have left something of ours (close() removes the whole group)
    this.definedAny = true;
    writeControl(this.root, this.dynamicFile(line), line + "\n", "append");
    this.definedLines.add(line);
    return { system: this.name, event };
  }

  /** Whether this line was defined (by defineDynamicEvent or defineDynamicEvents). */
  defines(line: string): boolean {
    return this.definedLines.has(line);
  }

  /** How many probe lines of this run's group the kernel lists now. */
  private probesInGroup(file: string): number {
    const head = new RegExp(`^[a-z]\\d*:${this.name}/`);
    return readText(this.root, file)
      .split("\n")
      .filter((l) => head.test(l)).length;
  }

  /**
   * Defines many dynamic events at once (a USDT marker's thousand call
   * sites): lines are written several to a write(), which the kernel parses
   * line by line, so arming costs a few system calls, not one per probe.
   * The kernel stops at a line it refuses, having defined those before it:
   * they are counted, the refused line is redone alone (so the error names
   * it), and what was defined is still removed at close.
   */
  defineDynamicEvents(lines: readonly string[]): { system: string; event: string }[] {
    const out: { system: string; event: string }[] = [];
    const file = exists(this.root, "dynamic_events") ? "dynamic_events" : "uprobe_events";
    // the group's probe lines the kernel lists, known without reading them while every write succeeds
    let listed: number | undefined;
    const flush = (batch: string[]): void => {
      if (batch.length === 0) return;
      const before = (listed ??= this.probesInGroup(file));
      this.definedAny = true;
      try {
        writeControl(this.root, file, batch.join("\n") + "\n", "append");
        listed = before + batch.length;
      } catch {
        listed = undefined;
        const done = Math.max(0, Math.min(batch.length, this.probesInGroup(file) - before));
        for (const l of batch.slice(0, done)) {
          this.definedLines.add(l);
          out.push({ system: this.name, event: eventOf(l) });
        }
        for (const l of batch.slice(done)) out.push(this.defineDynamicEvent(l));
        return;
      }
      for (const l of batch) {
        this.definedLines.add(l);
        out.push({ system: this.name, event: eventOf(l) });
      }
    };
    let batch: string[] = [];
    let bytes = 0;
    for (const line of lines) {
      safeDynamicEventLine(line, this.name);
      if (!/^[pr]\d*:/.test(line) || !line.includes(" /")) {
        flush(batch);
        batch = [];
        bytes = 0;
        out.push(this.defineDynamicEvent(line));
        listed = undefined;
        continue;
      }
      // the kernel reads a write in 4 KiB pieces; stay under one
      if (bytes + line.length + 1 > 4000) {
        flush(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(line);
      bytes += line.length + 1;
    }
    flush(batch);
    return out;
  }

  /** set_event_pid (+ options/event-fork so children of those pids join). */
  setEventPids(pids: readonly number[], followForks: boolean): void {
    this.write("set_event_pid", safePids("event pid", pids));
    if (this.has("options/event-fork")) this.write("options/event-fork", followForks ? "1" : "0");
  }

  /**
   * set_event_notrace_pid: events of these tasks are not recorded (with
   * options/event-fork, their children's neither). False when this kernel
   * has no such file.
   */
  setEventNotracePids(pids: readonly number[]): boolean {
    if (!this.has("set_event_notrace_pid")) return false;
    this.write("set_event_notrace_pid", safePids("event pid", pids));
    return true;
  }

  setOption(name: string, on: boolean): void {
    const rel = `options/${safeEventName("option name", name)}`;
    if (!this.has(rel)) throw new TraceFsError(`this kernel's tracefs has no option '${name}'`, "ENOENT");
    this.write(rel, on ? "1" : "0");
  }

  tracingOn(on: boolean): void {
    this.write("tracing_on", on ? "1" : "0");
  }

  /** Number of CPUs with a per_cpu directory. */
  cpus(): number[] {
    const out: number[] = [];
    for (let c = 0; c < 4096 && this.has(`per_cpu/cpu${c}`); c++) out.push(c);
    return out;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * A deferred write still running holds its file (and the instance, EBUSY
   * to rmdir) until the kernel is done with it: the fd goes now, the
   * kernel's reference when the write returns (rmdirRetry and the reaper
   * wait for that).
   */
  private dropPending(): void {
    if (this.writer !== undefined) stop(this.writer);
    for (const w of this.pending) {
      if (w.closed) continue;
      w.closed = true;
      try {
        closeSync(w.fd);
      } catch {
        // already gone
      }
    }
    this.pending = [];
    for (const q of this.queued.splice(0)) {
      try {
        closeSync(q.fd);
      } catch {
        // already gone
      }
    }
  }

  /**
   * What close() would remove, in its order, for a reaper (reaper.ts) to
   * remove after this process is gone: the instance (its rmdir disables
   * every event and clears the pid lists, in one pass of the kernel's), then
   * the dynamic event group. Empty once closed.
   */
  teardownItems(): ({ instance: string } | { group: string })[] {
    if (this.closed) return [];
    return [...(exists(this.root, this.rel) ? [{ instance: this.name }] : []), ...(this.definedAny ? [{ group: this.name }] : [])];
  }

  /**
   * The reaper holds what teardownItems() listed: this instance is closed
   * without touching tracefs (its deferred writes' fds closed, its guard
   * off). Readers and writes must be done with it already.
   */
  handedOff(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropPending();
    this.definedLines.clear();
    this.unguard();
  }

  /**
   * Disables and removes everything this instance created. Idempotent.
   * Readers of trace_pipe_raw must be closed first (rmdir fails while a
   * file of the instance is open). Returns the problems met (empty: clean).
   */
  close(): string[] {
    if (this.closed) return [];
    this.closed = true;
    this.dropPending();
    const problems: string[] = [];
    const attempt = (what: string, fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    if (exists(this.root, this.rel)) {
      attempt("tracing_on", () => writeControl(this.root, `${this.rel}/tracing_on`, "0"));
      attempt("disable events", () => writeControl(this.root, `${this.rel}/events/enable`, "0"));
      attempt("remove instance", () => rmdirRetry(this.dir));
    }
    if (this.definedAny) for (const p of removeGroup(this.root, this.name)) problems.push(`remove ${this.name}/${p.event}: ${p.error}`);
    this.definedLines.clear();
    this.unguard();
    return problems;
  }
}

/**
 * Whether bin/tstap's shell `pid` (a child of ours) still writes: not gone,
 * not a zombie, and not yet the guard it becomes once its writes are done.
 */
function writing(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    if (stat.charAt(stat.lastIndexOf(")") + 2) === "Z") return false;
    return !readFileSync(`/proc/${pid}/cmdline`, "latin1").includes("tstap-early-guard");
  } catch {
    return false;
  }
}

/** The shell's writes are ours to finish now: it stops (as the guard, it would remove the instance once we are gone). */
function stop(pid: number): void {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    // gone already
  }
}

/** Sleeps without taking a CPU from the shell it waits for (a few ms at most, once). */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** GROUP/EVENT of a dynamic event line. */
function eventOf(line: string): string {
  return /^[pre]\d*:[^/]+\/(\S+)/.exec(line)![1]!;
}

/**
 * Removes every dynamic event of a group of ours: one `-:GROUP/` write where
 * the kernel takes a group (it removes that group's events and nothing
 * else), else one write for each event the kernel still lists under
 * events/GROUP. Events must be disabled first. Returns the events it could
 * not remove, with why.
 */
export function removeGroup(root: string, group: string): { event: string; error: string }[] {
  if (ownerPid(group) === undefined) throw new TraceFsError(`internal: '${group}' is not a tstap group: tstap removes only its own events`);
  const file = exists(root, "dynamic_events") ? "dynamic_events" : "uprobe_events";
  try {
    writeControl(root, file, safeRemoveGroupLine(group) + "\n", "append");
  } catch {
    // an older kernel, or an event still busy: one by one below
  }
  const problems: { event: string; error: string }[] = [];
  const dir = `events/${safeIdent("group", group)}`;
  const left = isDir(root, dir) ? listDir(root, dir).filter((e) => isDir(root, `${dir}/${e}`)) : [];
  for (const ev of left) {
    try {
      writeControl(root, file, safeRemoveLine(group, ev) + "\n", "append");
    } catch (err) {
      problems.push({ event: ev, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return problems;
}

/** rmdir of an instance can meet EBUSY for a moment after its last reader closed. */
function rmdirRetry(dir: string): void {
  for (let i = 0; ; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EBUSY" || i >= 50) throw err;
      const until = Date.now() + 10;
      while (Date.now() < until) {
        // short synchronous wait: close() must work inside 'exit' handlers
      }
    }
  }
}

/**
 * Why `-s MB` cannot be had here, or undefined: the kernel allocates MB for
 * every online CPU in each of the run's instances, and more than half of the memory available would starve
 * the system (or wake the OOM killer) instead of failing cleanly.
 */
export function bufferSizeProblem(mb: number, cpus: number, availableKb: number, instances = 1): string | undefined {
  const totalMb = mb * cpus * instances;
  const limitMb = Math.floor(availableKb / 1024 / 2);
  if (totalMb <= limitMb) return undefined;
  const most = Math.floor(limitMb / cpus / instances);
  return (
    `-s ${mb}: ${mb} MB of trace buffer for each of ${cpus} CPUs${instances > 1 ? ` in each of ${instances} instances` : ""} (${totalMb} MB) is more than half of the ${Math.floor(availableKb / 1024)} MB of memory available; ` +
    (most >= 1 ? `use -s ${most} or less` : "there is not enough memory for a trace buffer")
  );
}

/** Online CPUs (the kernel sizes a buffer for each) and MemAvailable in KiB; undefined where unreadable. */
export function hostBufferCapacity(): { cpus: number; availableKb: number } | undefined {
  try {
    const online = readFileSync("/sys/devices/system/cpu/online", "latin1").trim();
    let cpus = 0;
    for (const r of online.split(",")) {
      const [a, b] = r.split("-").map(Number);
      cpus += b === undefined ? 1 : b! - a! + 1;
    }
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "latin1"));
    if (!m || cpus < 1) return undefined;
    return { cpus, availableKb: Number(m[1]) };
  } catch {
    return undefined;
  }
}
