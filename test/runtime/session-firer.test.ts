// The run loop's prepared firer (SourceContext.firer), which the kernel
// event stream calls per event, against the generic fire: the same handler
// runs with the same state checks, errors and MAXERRORS stop.

import { describe, expect, it } from "vitest";
import { parse, defaultParseOptions } from "../../src/parse/index.js";
import { elaborate } from "../../src/elaborate/index.js";
import { translate } from "../../src/translate/index.js";
import { load } from "../../src/load/index.js";
import { Session } from "../../runtime/run-loop.js";
import { ProbeTiming } from "../../runtime/probe-timing.js";

const SCRIPT = 'global n; probe timer.s(1000) { n++; if (n == 3) error("boom") } probe end { println(n) }';

async function session(timed = false): Promise<{ s: Session; out: () => string; messages: string[] }> {
  const po = defaultParseOptions({ args: [] });
  const parsed = parse({ file: "<input>", text: SCRIPT, isTapset: false }, po);
  const el = elaborate(parsed.file!, { tapsetDirs: [], unoptimized: false, suppressWarnings: true, guru: false, args: [], defines: new Map(), parseOptions: po });
  const tr = translate(el.program!, {});
  const unit = (await load(tr.plan!, {})).unit!;
  const messages: string[] = [];
  const s = new Session(unit, undefined, (line) => messages.push(line));
  let out = "";
  s.output.write = (text: string): void => {
    out += text;
  };
  if (timed) s.timing = new ProbeTiming();
  expect(s.instantiate()).toBe(true);
  return { s, out: () => out, messages };
}

/** Fires the timer probe `times` times through `how`, then runs the end probes; what was printed and said. */
async function fireAndEnd(how: "fire" | "firer", times: number, timed = false): Promise<{ out: string; messages: string[]; state: string; errors: number }> {
  const { s, out, messages } = await session(timed);
  const ctx = s.sourceContext();
  const probe = s.unit.probes.find((p) => p.trigger.kind === "timer")!.id;
  const fire = how === "fire" ? (): void => ctx.fire(probe) : ctx.firer!(probe);
  fire(); // still starting: nothing runs
  s.state = "running";
  for (let i = 0; i < times; i++) fire();
  const state = s.state;
  s.requestStop();
  if (s.state === "stopping") s.runPhase("end", "stopping");
  return { out: out(), messages, state, errors: s.errors };
}

describe("the prepared firer", () => {
  it("runs the handler only while running, as fire does", async () => {
    const r = await fireAndEnd("firer", 2);
    expect(r).toEqual({ out: "2\n", messages: [], state: "running", errors: 0 });
  });

  it("reports a handler's error and stops at MAXERRORS exactly as fire does", async () => {
    const viaFirer = await fireAndEnd("firer", 5);
    const viaFire = await fireAndEnd("fire", 5);
    expect(viaFirer.state).toBe("error");
    expect(viaFirer.errors).toBe(1);
    expect(viaFirer.messages).toHaveLength(1);
    expect(viaFirer.messages[0]).toMatch(/^ERROR: boom/);
    // the fourth and fifth calls found the session in error: no handler ran
    expect(viaFirer).toEqual(viaFire);
  });

  it("under -t goes through the timed path", async () => {
    const { s } = await session(true);
    const probe = s.unit.probes.find((p) => p.trigger.kind === "timer")!.id;
    s.state = "running";
    s.sourceContext().firer!(probe)();
    expect(s.timing!.report(s.unit.probes)).toMatch(/timer\.s\(1000\).*hits: 1,/);
  });
});

describe("the stop request", () => {
  it("tells the sources at once, inside the handler that stopped the run, and once", async () => {
    const { s } = await session();
    const ctx = s.sourceContext();
    const probe = s.unit.probes.find((p) => p.trigger.kind === "timer")!.id;
    const seen: string[] = [];
    ctx.onStopRequest!(() => seen.push(`stop while ${s.state}`));
    s.state = "running";
    ctx.fire(probe);
    ctx.fire(probe);
    expect(seen).toEqual([]);
    // the third hit raises an error past MAXERRORS=0: the run stops in that handler
    ctx.fire(probe);
    expect(seen).toEqual(["stop while error"]);
    s.requestStop();
    expect(seen).toHaveLength(1);
  });
});
