// The TraceSession behind runtime/kernel-source.ts's KernelTraceSession
// interface: handles are event type ids, and each event reaches the
// run loop as a DecodedEvent. (That interface hands out one object per
// event; code that needs the allocation-free path uses TraceSession and
// EventView directly.)

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

  async setOption(name: string, on: boolean): Promise<void> {
    this.session.setOption(name, on);
  }

  async start(onEvent: (handle: number, ev: DecodedEvent) => void): Promise<void> {
    for (const added of this.session.events) {
      const names = added.format.fields.map((f) => f.name);
      const readers = added.readers;
      const id = added.id;
      this.session.on(id, (v) => onEvent(id, snapshot(v, readers, names)));
    }
    this.session.start();
  }

  catchUp(untilHrNs: bigint): void {
    this.session.catchUp(untilHrNs);
  }

  async drain(): Promise<void> {
    await this.session.drain();
  }

  async close(): Promise<{ lost: number }> {
    return { lost: this.session.close().lost };
  }
}

/** A DecodedEvent that owns a copy of the payload (the view's page is reused after the handler). */
function snapshot(v: EventView, readers: Map<string, FieldReader>, names: readonly string[]): DecodedEvent {
  const own = new EventView(v.base);
  own.buf = Buffer.from(v.buf.subarray(v.off, v.off + v.len));
  own.off = 0;
  own.len = v.len;
  own.type = v.type;
  own.cpu = v.cpu;
  own.ts = v.ts;
  own.pid = v.pid;
  return {
    tid: v.pid,
    cpu: v.cpu,
    tsNs: v.tsNs(),
    get: (name: string): FieldValue | undefined => {
      const r = readers.get(name);
      return r ? r(own) : undefined;
    },
    names: () => names,
  };
}

/** Opens a session for the run loop (OpenKernelSession of runtime/kernel-source.ts). */
export async function openKernelTraceSession(opts: TraceSessionOptions = {}): Promise<KernelTraceSession & { session: TraceSession }> {
  return new KernelSessionAdapter(TraceSession.open(opts));
}

export { lostEventsWarning };
