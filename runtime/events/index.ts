// The binary event pipeline: trace_pipe_raw pages -> decoded events, in
// timestamp order across CPUs -> handlers.
//
// API
//   openTraceSession({ events: [{system, event, filter?, define?}], bufferKb?, pidFilter?,
//     followForks?, onEvent(view), start? = true }) -> { session, added }: all of the below in one call
//   TraceSession.open({ bufferKb?, pollMs?, clock? = "mono", reap? = true })
//     reaps dead runs' leftovers, creates instances/tstap_<pid>_<n>
//   s.addEvent({ system, event, filter?, define? }, handler?) -> { id, format, readers }
//     `define`: a dynamic event line (uprobe) in group s.instance.name, created first
//     `readers`: Map field name -> (view) => FieldValue (common_* fields included)
//   s.on(id, handler)                handler(view: EventView) for events of type id
//   s.setEventPids(pids, followForks) / s.setOption(name, on)
//   s.start({ poll? = true })        opens readers, tracing_on=1, polls every pollMs
//                                    (50 ms idle; at once while pages keep coming)
//   s.poll(): number                 one synchronous round (when driving it yourself)
//   await s.drain()                  every event recorded before the call is delivered
//   s.lost(): LostReport             kernel per-CPU counters + page missed-events flags
//   s.close({ flush? = true }): LostReport
//                                    idempotent; delivers the rest, removes everything;
//                                    also run automatically on exit/signals (guard)
//   lostEventsWarning(report, bufferKb): string | undefined   text after "WARNING: "
//   s.onError                        called with a handler's exception in timer rounds
//
// EventView (reused for every event: read it inside the handler, never keep it)
//   type (event id = common_type), cpu, pid (common_pid), ts (number: trace-clock ns
//   since s.base, a bigint; view.tsNs() gives the bigint), buf/off/len (payload,
//   common fields included, as in the format file's offsets)
// Field readers: fieldReader(field), intReader(off, size, signed), formatReaders(fmt):
//   ints -> number (bigint beyond 2^53), char[N]/__data_loc char[] -> latin1 string up
//   to NUL, other arrays -> Long[], odd bytes -> latin1 string.
// Time: trace clock `mono` = CLOCK_MONOTONIC = process.hrtime.bigint(); wall clock =
//   mono + the wall-minus-monotonic offset paired once per run (runtime/clock.ts).
// EventPipeline: pushCopy(cpu, page) + dispatch(limit) to feed captured pages (bench).
// openKernelTraceSession(opts): the KernelTraceSession of runtime/kernel-source.ts.
// fieldAccessCode(field, "v", index?): JS expression text reading a field from view `v`
//   (for pass 3 to inline reads); it calls ACCESS_HELPERS ($long64, $long64w, $cstr, $dyn).
// compileFieldGetter(format) -> (view, name) => value: every field of a format by
//   name, at its fixed offset (PageEvent.get, what handlers' $field reads call).
// decode-loop.ts: the dispatch loop, generated per run for its event ids (pipeline.ts).

export { TraceSession, lostEventsWarning, type TraceEventSpec, type TraceSessionOptions, type AddedEvent, type LostReport } from "./session.js";
export { EventPipeline, PAGE_HEADER, type EventHandler, type PipelineStats } from "./pipeline.js";
export { EventView, fieldReader, intReader, formatReaders, type FieldReader, type FieldValue } from "./view.js";
export { parseTracepointFormat, readTracepointFormatAt, type TracepointField, type TracepointFormat } from "./format.js";
export { openKernelTraceSession } from "./kernel-session.js";
export { openTraceSession, type OpenTraceSessionOptions } from "./open.js";
export { fieldAccessCode, ACCESS_HELPERS, compileFieldGetter, fieldGetterSource, type FieldGetter } from "./access-code.js";
