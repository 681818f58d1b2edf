// One call to set a session up: events (with filters or dynamic event
// definitions), the pid filter, one handler for all events, then start.

import type { EventHandler } from "./pipeline.js";
import { TraceSession, type AddedEvent, type TraceEventSpec, type TraceSessionOptions } from "./session.js";

export interface OpenTraceSessionOptions extends TraceSessionOptions {
  events: TraceEventSpec[];
  /** set_event_pid: only these tasks (and, with followForks, their children) */
  pidFilter?: number[];
  followForks?: boolean;
  /** every event, in time order; view.type tells which (see `added[i].id`) */
  onEvent: EventHandler;
  /** start polling at once (default true) */
  start?: boolean;
}

/** Opens, configures and starts a session; on any failure nothing is left behind. */
export function openTraceSession(opts: OpenTraceSessionOptions): { session: TraceSession; added: AddedEvent[] } {
  const session = TraceSession.open(opts);
  try {
    if (opts.pidFilter !== undefined) session.setEventPids(opts.pidFilter, opts.followForks ?? false);
    const added = opts.events.map((e) => session.addEvent(e, opts.onEvent));
    if (opts.start !== false) session.start();
    return { session, added };
  } catch (err) {
    session.close({ flush: false });
    throw err;
  }
}
