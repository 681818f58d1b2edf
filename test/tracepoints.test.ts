// Tracepoint catalog and `format` parsing (src/targets/tracepoints.ts), on
// canned format text and on this kernel's own tracefs.

import { beforeAll, describe, expect, it } from "vitest";
import { requireKernelTracing } from "./support/kernel-gate.js";
import { globToRegExp, listVars, matchTracepoints, parseTracepointFormat, readTracepointFormat } from "../src/targets/tracepoints.js";

const SWITCH = `name: sched_switch
ID: 372
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:char prev_comm[16];	offset:8;	size:16;	signed:0;
	field:pid_t prev_pid;	offset:24;	size:4;	signed:1;
	field:long prev_state;	offset:32;	size:8;	signed:1;
	field:__data_loc char[] name;	offset:56;	size:4;	signed:0;
	field:unsigned long args[6];	offset:64;	size:48;	signed:0;
	field:__data_loc u8[] buf;	offset:112;	size:4;	signed:0;

print fmt: "x"
`;

describe("format parsing", () => {
  it("reads every field shape", () => {
    const f = parseTracepointFormat("sched", "sched_switch", SWITCH);
    expect(f.id).toBe(372);
    expect(f.fields).toEqual([
      { name: "prev_comm", cType: "char[16]", offset: 8, size: 16, signed: false, shape: "string", arrayLen: 16 },
      { name: "prev_pid", cType: "pid_t", offset: 24, size: 4, signed: true, shape: "int" },
      { name: "prev_state", cType: "long", offset: 32, size: 8, signed: true, shape: "int" },
      { name: "name", cType: "char[]", offset: 56, size: 4, signed: false, shape: "string", dynamic: "data_loc" },
      { name: "args", cType: "unsigned long[6]", offset: 64, size: 48, signed: false, shape: "int-array", arrayLen: 6, elemSize: 8 },
      { name: "buf", cType: "u8[]", offset: 112, size: 4, signed: false, shape: "bytes", dynamic: "data_loc" },
    ]);
    expect(listVars(f)).toBe(" $prev_comm:char[16] $prev_pid:pid_t $prev_state:long $name:char[] $args:unsigned long[6] $buf:u8[]");
  });
  it("matches stap wildcards", () => {
    const all = [
      { system: "sched", event: "sched_switch" },
      { system: "sched", event: "sched_wakeup" },
      { system: "syscalls", event: "sys_enter_getppid" },
      { system: "syscalls", event: "sys_exit_getppid" },
    ];
    expect(matchTracepoints("sched:sched_*", all).map((t) => t.event)).toEqual(["sched_switch", "sched_wakeup"]);
    expect(matchTracepoints("*getppid*", all).map((t) => t.event)).toEqual(["sys_enter_getppid", "sys_exit_getppid"]);
    expect(matchTracepoints("sched_switch", all)).toEqual([{ system: "sched", event: "sched_switch" }]);
    expect(matchTracepoints("s?hed:*wake[u]p", all).map((t) => t.event)).toEqual(["sched_wakeup"]);
    expect(matchTracepoints("nosuch:event", all)).toEqual([]);
    expect(globToRegExp("a.b").test("axb")).toBe(false);
  });
});

describe("this kernel", () => {
  beforeAll(requireKernelTracing);
  it("lists sched_process_exit with its types", () => {
    expect(listVars(readTracepointFormat("sched", "sched_process_exit")!)).toBe(" $comm:char[16] $pid:pid_t $prio:int $group_dead:bool");
    expect(matchTracepoints("sched:sched_process_e*").map((t) => t.event)).toEqual(["sched_process_exec", "sched_process_exit"]);
  });
});
