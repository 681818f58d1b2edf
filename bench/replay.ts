// Captured trace_pipe_raw pages run through the live path: a script is
// compiled by the passes, its kernel events handled by the run loop's
// KernelEventSource, dispatcher, Session and the generated handlers, the
// pages decoded and merged by the TraceSession's own EventPipeline
// (pushPage, as TraceSession.readAll() feeds it after each read) and each
// event read through the adapter's PageEvent. Only the read(2) of the page
// is not the live one: the page comes from memory.

import { parse, defaultParseOptions } from "../src/parse/index.js";
import { elaborate } from "../src/elaborate/index.js";
import { translate } from "../src/translate/index.js";
import { load } from "../src/load/index.js";
import { Session } from "../runtime/run-loop.js";
import { KernelEventSource, type KernelTraceSession } from "../runtime/kernel-source.js";
import { kernelRun } from "../runtime/context-kernel.js";
import { EventPipeline, compileFieldGetter, readTracepointFormatAt, type TracepointFormat } from "../runtime/events/index.js";
import { PageEvent } from "../runtime/events/kernel-session.js";
import type { DecodedEvent } from "../runtime/context-kernel.js";
import type { EventListener } from "../runtime/kernel-dispatch.js";

export interface CapturedPage {
  cpu: number;
  buf: Buffer;
}

/** A KernelTraceSession whose pages come from memory; the rest is the live code. */
class ReplaySession implements KernelTraceSession {
  readonly traceClock = "mono";
  readonly pipeline: EventPipeline;
  private readonly formats: TracepointFormat[] = [];

  constructor(pageSize: number) {
    this.pipeline = new EventPipeline(0n, pageSize);
  }

  async addEvent(system: string, event: string): Promise<number> {
    const f = readTracepointFormatAt("/sys/kernel/tracing/events", system, event);
    if (!f) throw new Error(`no event ${system}:${event} here`);
    this.formats.push(f);
    return f.id;
  }
  async setEventPids(): Promise<void> {}
  async setOption(): Promise<void> {}
  async start(listen: (handle: number, ev: DecodedEvent) => EventListener): Promise<void> {
    for (const f of this.formats) {
      const ev = new PageEvent(this.pipeline.view, compileFieldGetter(f), f.fields.map((x) => x.name));
      const l = listen(f.id, ev);
      this.pipeline.on(f.id, l, l.offHotPath === true);
    }
  }
  catchUp(): void {}
  async drain(): Promise<void> {}
  async close(): Promise<{ lost: number }> {
    return { lost: 0 };
  }
}

export interface Replayer {
  /** one pass over the pages, 1 MiB at a time as the live reads deliver them; returns the events dispatched */
  pass(pages: readonly CapturedPage[]): number;
  /** what the script's end probes print now (its globals keep counting across passes) */
  end(): string;
}

/** Compiles SCRIPT (as with -c, target() = targetPid) and readies it to handle captured pages. */
export async function replayer(script: string, targetPid: number, pageSize = 4096): Promise<Replayer> {
  const po = defaultParseOptions({ args: [] });
  const parsed = parse({ file: "<input>", text: script, isTapset: false }, po);
  if (!parsed.file) throw new Error("bench script does not parse");
  const el = elaborate(parsed.file, { tapsetDirs: [], unoptimized: false, suppressWarnings: true, guru: false, args: [], defines: new Map(), parseOptions: po });
  if (!el.program) throw new Error(`bench script: ${el.diagnostics.map((d) => d.message).join("; ")}`);
  const tr = translate(el.program, { hasTargetCommand: true });
  if (!tr.plan) throw new Error("bench script does not translate");
  const loaded = await load(tr.plan, {});
  const unit = loaded.unit!;
  let out = "";
  const session = new Session(unit, undefined, () => undefined);
  session.output.write = (s: string): void => {
    out += s;
  };
  session.instantiate();
  kernelRun.target = targetPid;
  const replay = new ReplaySession(pageSize);
  const source = new KernelEventSource(KernelEventSource.plansOf(unit.events), async () => replay, { targetPid: () => targetPid, warn: () => undefined });
  await source.start(session.sourceContext());
  session.state = "running";
  const pl = replay.pipeline;
  // 1 MiB of pages between dispatches, as the live reads deliver them
  const batch = Math.max(1, Math.floor((1 << 20) / pageSize));
  return {
    pass(pages) {
      let n = 0;
      for (let i = 0; i < pages.length; i++) {
        const p = pages[i]!;
        const page = pl.takePage();
        p.buf.copy(page.buf, 0, 0, Math.min(p.buf.length, pl.pageSize));
        pl.pushPage(p.cpu, page, Math.min(p.buf.length, pl.pageSize));
        if (i % batch === batch - 1) n += pl.dispatch();
      }
      return n + pl.dispatch();
    },
    end() {
      out = "";
      session.state = "stopping";
      session.runPhase("end", "stopping");
      session.state = "running";
      return out;
    },
  };
}
