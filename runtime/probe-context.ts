// The handler being run and the kernel event it answers for: what pp(),
// pid(), cpu(), $field... read. A leaf module: the run loop sets it, the
// context natives and the event dispatcher read it, and it imports nothing
// of theirs (it is what cuts context ↔ natives ↔ dispatch apart).

import type { Long } from "./int64.js";

/** The handler being run: set by the run loop before each call. */
export interface ProbeContext {
  probeId: number;
  pp: string;
  /** the kernel event that fired the handler (a KernelEventContext), if any */
  event?: unknown;
}

export const current: ProbeContext = { probeId: -1, pp: "" };

export type FieldValue = Long | string | readonly Long[];

/** One decoded event, as the kernel back end hands it over. */
export interface DecodedEvent {
  /** common_pid */
  tid: number;
  cpu: number;
  /** trace-clock ns */
  tsNs: bigint;
  /** a field by name (ints as Long, strings as byte strings, int arrays as Long[]) */
  get(name: string): FieldValue | undefined;
  /** the event's own fields in format order, for $$vars */
  names(): readonly string[];
  /** a fetched field the kernel could not read (a user string at a bad address) */
  faulted?(name: string): boolean;
  /** the user stack the kernel recorded with the event (innermost first), when the run records them */
  readonly ustack?: number[];
}

/** What a handler fired by a kernel event knows about it. */
export interface KernelEventContext {
  kind: "kernel-event";
  /** the task the probe is about: common_pid, or the child for process.begin */
  tid: number;
  cpu: number;
  /** event timestamp in the trace clock, ns */
  tsNs: bigint;
  /** the decoded record ($field reads) */
  ev?: DecodedEvent;
}

export function isKernelEvent(e: unknown): e is KernelEventContext {
  return typeof e === "object" && e !== null && (e as { kind?: unknown }).kind === "kernel-event";
}

/** The kernel event of the running handler, if a kernel event fired it. */
export function currentKernelEvent(): KernelEventContext | undefined {
  const e = current.event;
  return isKernelEvent(e) ? e : undefined;
}
