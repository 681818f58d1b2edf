// The TraceSession behind runtime/kernel-source.ts's KernelTraceSession
// interface: handles are event type ids, and each event reaches the run
// loop as a DecodedEvent that reads the record where it lies in its page:
// nothing is copied or allocated per event.

import type { DecodedEvent, FieldValue } from "../probe-context.js";
import type { KernelTraceSession } from "../kernel-source.js";
import { TraceSession, lostEventsWarning, type TraceSessionOptions } from "./session.js";
import { EventView, type FieldReader } from "./view.js";
import { instantiateDefinition } from "../event-def.js";

class KernelSessionAdapter implements KernelTraceSession {
  constructor(readonly session: TraceSession) {}

  get traceClock(): string {
    return this.session.traceClock;
  }

  async addEvent(system: string, event: string, filter?: string, define?: string): Promise<number> {
    if (define === undefined) return this.session.addEvent({ system, event, filter }).id;
    return this.session.addEvent({ system, event, filter, define: instantiateDefinition(define, this.session.instance.name) }).id;
  }

  async setEventPids(pids: number[], followForks: boolean): Promise<void> {
    this.session.setEventPids(pids, followForks);
  }

  async excludePids(pids: number[]): Promise<boolean> {
    return this.session.setEventNotracePids(pids);
  }

  async setOption(name: string, on: boolean): Promise<void> {
    this.session.setOption(name, on);
  }

  async start(listen: (handle: number, ev: DecodedEvent) => () => void): Promise<void> {
    for (const added of this.session.events) {
      const names = added.format.fields.map((f) => f.name);
      // one event object and one listener per event type, made here: nothing per event
      const ev = new PageEvent(this.session.pipeline.view, added.readers, names);
      this.session.on(added.id, listen(added.id, ev));
    }
    this.session.start();
  }

  catchUp(untilHrNs: bigint): void {
    this.session.catchUp(untilHrNs);
  }

  async drain(): Promise<void> {
    await this.session.drain();
  }

  async finish(): Promise<{ lost: number }> {
    return { lost: this.session.close({ keepInstance: true }).lost };
  }

  async close(): Promise<{ lost: number }> {
    return { lost: this.session.close().lost };
  }
}

/**
 * The event as handlers read it: fields straight from the record in its
 * ring-buffer page, through the pipeline's one EventView. Valid only while
 * the handlers of this event run (the page is reused after them), which is
 * all a handler can do with it: script values are longs and strings, copies.
 */
export class PageEvent implements DecodedEvent {
  constructor(
    private readonly view: EventView,
    private readonly readers: Map<string, FieldReader>,
    private readonly fieldNames: readonly string[],
  ) {}

  get tid(): number {
    return this.view.pid;
  }

  get cpu(): number {
    return this.view.cpu;
  }

  /** a bigint made only when a handler asks for the event's time */
  get tsNs(): bigint {
    return this.view.tsNs();
  }

  get(name: string): FieldValue | undefined {
    const r = this.readers.get(name);
    return r ? r(this.view) : undefined;
  }

  names(): readonly string[] {
    return this.fieldNames;
  }
}

/** Opens a session for the run loop (OpenKernelSession of runtime/kernel-source.ts). */
export async function openKernelTraceSession(opts: TraceSessionOptions = {}): Promise<KernelTraceSession & { session: TraceSession }> {
  const session = TraceSession.open(opts);
  try {
    await session.sizeBuffer(opts);
  } catch (err) {
    await session.close({ flush: false });
    throw err;
  }
  return new KernelSessionAdapter(session);
}

export { lostEventsWarning };
