// Event definitions: the one typed value pass 3 produces, pass 4 checks
// against this kernel and the runtime arms (DESIGN decisions 1 and 8).
// Plain data, defined on the runtime side (the runtime never imports the
// compiler), importing nothing.
//
//   TracepointEventDef  a static tracepoint, events/SYSTEM/EVENT
//   DynamicEventDef     a line of uprobe_events/kprobe_events in the run's
//                       own group, with the fetch arguments it records
//
// Both carry who listens (dispatch), the pushed-down filter, and whether
// the task table follows them.

/** process.* probes: which moment of a process's (or thread's) life. */
export type ProcessWhat = "begin" | "end" | "thread.begin" | "thread.end" | "syscall" | "syscall.return";

/** Who an event fires, and how the dispatcher picks the task it is about. */
export type KernelDispatch = (
  /** every event fires the probe; `pid`: only events of that process (process(PID) probes) */
  | { how: "direct"; probe: number; pid?: number }
  | { how: "process"; what: ProcessWhat; probe: number; path?: string; pid?: number }
) & { pn?: string };

/** What the event dispatcher needs of any event definition. */
export interface KernelEventPlan {
  kind: "tracepoint" | "dynamic";
  /** the event's system: the tracepoint's, or GROUP_TOKEN for a dynamic event until it is armed */
  system: string;
  event: string;
  dispatch: KernelDispatch[];
  /** the task table follows this event (fork/exec/exit/rename, set*id) */
  tracksTasks: boolean;
  /** tracefs filter text (may hold TARGET_TOKEN) */
  filter?: string;
  /** set_event_pid: only the target process and its children */
  targetProcess: boolean;
  /**
   * set_event_pid: only this process and its children (process(PID)
   * probes: the kernel's selection follows forks, a superset of the
   * process's threads that the dispatcher narrows)
   */
  pidScope?: number;
  /** a dynamic event's control-file line (GROUP_TOKEN for the group), defined before it is enabled */
  definition?: string;
  /** handlers call the user-stack functions: the kernel records the user stack after each event */
  userStack?: boolean;
  /** a uprobe's: the file it is placed in, as pass 2 read it */
  object?: ProbedObject;
  /**
   * counted in the kernel: every listener only counts (src/translate/count-only.ts),
   * so the event fetches nothing and records no hit of the processes it
   * selects; at the end of the run its hits are read from uprobe_profile
   * (less the records of processes outside the target's tree, when there is
   * one) and handed to the listeners' counter functions
   */
  counted?: boolean;
  /** why an event whose every listener only counts is recorded per hit all the same (said by -p3 and -v) */
  notCounted?: string;
}

interface EventDefCommon extends KernelEventPlan {
  /** the text -p3 shows first: SYSTEM:EVENT, or the control-file line */
  definition: string;
  /** the handler ids (ProbeMeta.id) run for this event */
  probes: number[];
}

export interface TracepointEventDef extends EventDefCommon {
  kind: "tracepoint";
}

/** Types of a dynamic event's fetch argument (uprobetracer.rst). */
export type FetchType = IntFetchType | "string" | "ustring" | "symbol" | BitfieldType | ArrayFetchType;

export type IntFetchType = "s8" | "s16" | "s32" | "s64" | "u8" | "u16" | "u32" | "u64" | "x8" | "x16" | "x32" | "x64";

/** `TYPE[N]`: N consecutive values in memory, N <= 64 (the kernel's MAX_ARRAY_LEN); the field decodes as an int array. */
export type ArrayFetchType = `${IntFetchType}[${number}]`;

/** `bWIDTH@OFFSET/CONTAINER`: bits of a value, shifted down, unsigned (`%ah` is `%ax:b8@8/64`). */
export type BitfieldType = `b${number}@${number}/${number}`;

/** One `name=FETCHARG:TYPE` of a dynamic event, and how its field decodes. */
export interface FetchArg {
  /** the field name in the event's format */
  name: string;
  /** the fetch expression: `%di`, `$retval`, `+0(%si)`, `$stack3` ... */
  fetch: string;
  type: FetchType;
  /** how the script reads the field */
  scriptType: "long" | "string";
}

export type DynamicProbeType = "uprobe" | "uretprobe" | "kprobe" | "kretprobe";

/**
 * The file a uprobe is placed in, as pass 2 read it: its offsets are that
 * version's, so arming checks the file at `path` is still it, and the end
 * of the run says when it changed meanwhile.
 */
export interface ProbedObject {
  path: string;
  buildId?: string;
  /** stat identity when it was read: a file not rewritten keeps all four */
  identity: { dev: number; ino: number; size: number; mtimeMs: number };
}

export interface DynamicEventDef extends EventDefCommon {
  kind: "dynamic";
  probeType: DynamicProbeType;
  /** GROUP_TOKEN: the run's group is named when the run starts */
  system: string;
  /** the exact control-file line, with GROUP_TOKEN for the group */
  definition: string;
  /** the probed place as the line has it: `/path:0xOFF[(0xREF)]` or `symbol+off` */
  place: string;
  fetchArgs: FetchArg[];
  /**
   * a uprobe on a function's first instruction: the frame pointer is still
   * the caller's there, so the kernel's frame walk of the user stack skips
   * the direct caller; when stacks are recorded, the return address at the
   * top of the stack is fetched with the event (CALLER_FIELD) and put back
   */
  functionEntry?: boolean;
}

/** The fetch argument that holds a function entry's return address (`$stack0`) when user stacks are recorded. */
export const CALLER_FIELD = "__caller";

export type EventDef = TracepointEventDef | DynamicEventDef;

/** Where target()'s pid goes in a pushed-down filter text. */
export const TARGET_TOKEN = "${target}";

/** Where the run's dynamic event group goes in a definition line (`p:${group}/p0 ...`). */
export const GROUP_TOKEN = "${group}";

/** The filter text with target()'s pid in place. */
export function instantiateFilter(filter: string, targetPid: number | undefined): string {
  return filter.split(TARGET_TOKEN).join(String(targetPid ?? 0));
}

/**
 * A dynamic event's line for the run's group, its event name made unique to
 * the run too: uprobe_profile names a probe by its file and event name
 * alone, so another run's (or tool's) `p0` on the same file would read as
 * ours. `p:${group}/p0 FILE:OFF` becomes `p:GROUP/p0_GROUP FILE:OFF`.
 */
export function instantiateDefinition(line: string, group: string): string {
  return line.split(GROUP_TOKEN).join(group).replace(/^([a-z]\d*:[^/\s]+\/)(\w+)/, `$1$2_${group}`);
}

/** The event name a definition line (planned or instantiated) defines: `p0` of `p:GROUP/p0 ...`. */
export function eventOfDefinition(line: string): string {
  return /^[a-z]\d*:[^/\s]+\/(\S+)/.exec(line)?.[1] ?? "";
}

/** The kernel's control file a dynamic event of this type is written to. */
export function controlFileOf(t: DynamicProbeType): "uprobe_events" | "kprobe_events" {
  return t === "uprobe" || t === "uretprobe" ? "uprobe_events" : "kprobe_events";
}
