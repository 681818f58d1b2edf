// From ring-buffer pages to handlers, in timestamp order across CPUs.
//
// A page (events/header_page) is: u64 timestamp, a local_t `commit` whose
// low 27 bits are the data length and whose bits 31/30 say events were
// missed before this page (and, with bit 30, that their count is stored as
// a long right after the data), then the data: compressed event headers
// (events/header_event): u32 = type_len:5 | time_delta:27, then
//   type_len 1..28  data of type_len*4 bytes follows
//   type_len 0      array[0] = data length + 4, data follows it
//   29 padding      array[0] = length of the rest (time_delta 0: rest of page)
//   30 time extend  array[0] << 27 | time_delta added to the time
//   31 time stamp   absolute time (top 5 bits from the page's)
// (kernel ring_buffer.c, libtraceevent kbuffer.c). Little-endian: x86.
//
// Each CPU has a CpuStream of pages not yet fully dispatched. dispatch(limit)
// runs a k-way merge: take the stream whose next event is earliest, run it
// while it stays no later than the next stream's head and `limit` (the
// watermark: no event earlier than it can still arrive on another CPU).
// That loop is generated for the run's event ids (decode-loop.ts), with a
// call site per id; it allocates nothing: one EventView is refilled per
// event. Events registered off the hot path come back here, one by one.

import { EventView } from "./view.js";
import { compileDecodeLoop, LoopStop, type DecodeLoop } from "./decode-loop.js";

export const PAGE_HEADER = 16;
const COMMIT_MASK = (1 << 27) - 1;
const MISSED_EVENTS = 0x80000000;
const MISSED_STORED = 0x40000000;
const TS_SHIFT = 134217728; // 2^27
/**
 * Events the decode loop handles per call, about. A burst of a million
 * events in one call would have V8 optimize the loop twice: inside the call
 * (on-stack replacement), then again for the calls that follow (some 14 ms
 * each, inlined handlers included). Short calls are optimized once, at a
 * call, and cost a return and a merge per thousand events.
 */
const EVENTS_PER_CALL = 1024;
/** page buffers kept for reuse after a burst, in bytes (pages are 4 KiB or, with larger sub-buffers, more) */
const MAX_FREE_BYTES = 1 << 20;

export type EventHandler = (v: EventView) => void;

interface Page {
  buf: Buffer;
  u32: Uint32Array;
  /** end of data (16 + commit) */
  end: number;
}

class CpuStream {
  readonly pages: Page[] = [];
  /** index in pages of the page being read */
  head = 0;
  /** byte offset of the next record header in the head page */
  pos = PAGE_HEADER;
  // times start as doubles (NaN, never read before set): a field first
  // holding a small integer changes its representation at the first real
  // time, and code V8 optimized on the old one is thrown away
  /** time of the last record read (ns since base) */
  ts = NaN;
  /** the next data event, when hasNext */
  hasNext = false;
  nextTs = NaN;
  nextOff = 0;
  nextLen = 0;
  /** start time of the last page queued */
  lastPageStart = -Infinity;

  /** `lane`: which instance's buffer of that CPU (a session may read several, merged by time) */
  constructor(
    readonly cpu: number,
    readonly lane: number,
  ) {
    // `head` first moves at a page end, thousands of events after V8 may
    // have optimized the loop on the assumption that it never changes (a
    // field written only once is taken for a constant): moved here, it is
    // never taken for one
    this.head = 1;
    this.head = 0;
  }
}

export interface PipelineStats {
  events: number;
  pages: number;
  /** events the page headers say were missed (-1 when a page said "some" without a count) */
  missedInPages: number;
  pagesWithUnknownMissed: number;
}

export class EventPipeline {
  readonly view: EventView;
  /** handlers by event type id */
  readonly handlers: (EventHandler | undefined)[] = [];
  /** ids whose events the decode loop leaves to dispatch() (on's offHotPath) */
  private readonly offPath = new Set<number>();
  /** the loop for the handlers as they are (made at the first dispatch after on()) */
  private loop: DecodeLoop | undefined;
  private readonly streams: CpuStream[] = [];
  /** the stream whose event is being handled (for followingRecord) */
  private cur: CpuStream | undefined;
  private readonly free: Page[] = [];
  private readonly maxFree: number;
  readonly stats: PipelineStats = { events: 0, pages: 0, missedInPages: 0, pagesWithUnknownMissed: 0 };

  constructor(
    /** trace-clock ns that EventView.ts counts from */
    readonly base: bigint,
    readonly pageSize = 4096,
  ) {
    this.view = new EventView(base);
    this.maxFree = Math.max(4, Math.floor(MAX_FREE_BYTES / pageSize));
  }

  /** During a handler: which instance's buffer (lane) the record came from. */
  get lane(): number {
    return this.cur?.lane ?? 0;
  }

  /**
   * H handles the events of type TYPE. `offHotPath`: rare events with work
   * of their own (the task table's): the decode loop gives them no call site
   * and leaves them to dispatch(), so that the loop's type feedback is that
   * of the frequent events alone.
   */
  on(type: number, h: EventHandler, offHotPath = false): void {
    // kept dense (no holes): dynamic events have ids in the thousands, past
    // the static ones, and `handlers[2400] = h` on a short array turns it into
    // a hash table in V8 (the loop reads it once, but dispatch() per event off the hot path)
    while (this.handlers.length < type) this.handlers.push(undefined);
    this.handlers[type] = h;
    if (offHotPath) this.offPath.add(type);
    else this.offPath.delete(type);
    this.loop = undefined;
  }

  /** The stream of CPU's buffer (of `lane`), made now: a reader adds its streams before the first page, so the loop's merge sees them all from the start. */
  addStream(cpu: number, lane = 0): void {
    this.stream(cpu, lane);
  }

  private stream(cpu: number, lane: number): CpuStream {
    let s = this.streams.find((x) => x.cpu === cpu && x.lane === lane);
    if (!s) {
      s = new CpuStream(cpu, lane);
      this.streams.push(s);
    }
    return s;
  }

  /** A page buffer to read into (from the free list when possible). */
  takePage(): Page {
    const p = this.free.pop();
    if (p) return p;
    const buf = Buffer.allocUnsafeSlow(this.pageSize);
    return { buf, u32: new Uint32Array(buf.buffer, buf.byteOffset, this.pageSize >>> 2), end: 0 };
  }

  /**
   * Queues a page read from CPU's trace_pipe_raw (`n` bytes read into
   * page.buf); `lane` tells apart the buffers of several instances read
   * together (their events merge by time like those of different CPUs).
   */
  pushPage(cpu: number, page: Page, n: number, lane = 0): void {
    const buf = page.buf;
    if (n < PAGE_HEADER) {
      this.free.push(page);
      return;
    }
    const flags = buf.readUInt32LE(8);
    const commit = flags & COMMIT_MASK;
    page.end = Math.min(PAGE_HEADER + commit, n);
    if (flags & MISSED_EVENTS) {
      if (flags & MISSED_STORED && PAGE_HEADER + commit + 8 <= n) this.stats.missedInPages += Number(buf.readBigUInt64LE(PAGE_HEADER + commit));
      else this.stats.pagesWithUnknownMissed++;
    }
    this.stats.pages++;
    const s = this.stream(cpu, lane);
    s.lastPageStart = Number(buf.readBigUInt64LE(0) - this.base);
    const wasEmpty = !s.hasNext && s.head >= s.pages.length;
    s.pages.push(page);
    if (wasEmpty) this.startPage(s);
    if (!s.hasNext) this.advance(s);
  }

  /** Where the last page queued for CPU (of `lane`) starts (ns since base): what follows it there is no earlier. */
  lastPageStart(cpu: number, lane = 0): number {
    const s = this.streams.find((x) => x.cpu === cpu && x.lane === lane);
    return s ? s.lastPageStart : -Infinity;
  }

  /** Copies a captured page (bench, tests) into the pipeline. */
  pushCopy(cpu: number, data: Buffer, lane = 0): void {
    const p = this.takePage();
    const n = Math.min(data.length, this.pageSize);
    data.copy(p.buf, 0, 0, n);
    this.pushPage(cpu, p, n, lane);
  }

  private startPage(s: CpuStream): void {
    const p = s.pages[s.head];
    if (!p) return;
    s.pos = PAGE_HEADER;
    s.ts = Number(p.buf.readBigUInt64LE(0) - this.base);
  }

  /** Finds the stream's next data event (consuming time records and padding). */
  private advance(s: CpuStream): void {
    for (;;) {
      const p = s.pages[s.head];
      if (!p) {
        s.hasNext = false;
        return;
      }
      const u32 = p.u32;
      const end = p.end;
      let pos = s.pos;
      let ts = s.ts;
      while (pos + 4 <= end) {
        const h = u32[pos >>> 2]!;
        const typeLen = h & 31;
        const delta = h >>> 5;
        if (typeLen <= 28) {
          ts += delta;
          let off: number;
          let len: number;
          if (typeLen === 0) {
            len = ((u32[(pos >>> 2) + 1]! - 4 + 3) & ~3) >>> 0;
            off = pos + 8;
          } else {
            len = typeLen << 2;
            off = pos + 4;
          }
          s.pos = off + len;
          s.ts = ts;
          s.nextTs = ts;
          s.nextOff = off;
          s.nextLen = len;
          s.hasNext = true;
          return;
        }
        if (typeLen === 29) {
          if (delta === 0) break; // the rest of the page is padding
          ts += delta;
          pos += 4 + u32[(pos >>> 2) + 1]!;
        } else if (typeLen === 30) {
          ts += u32[(pos >>> 2) + 1]! * TS_SHIFT + delta;
          pos += 8;
        } else {
          ts = this.absolute(p.buf, pos, ts);
          pos += 8;
        }
      }
      // page done: recycle it, go on with the next one
      s.pages[s.head] = undefined as unknown as Page;
      this.free.push(p);
      s.head++;
      if (s.head >= s.pages.length) {
        s.pages.length = 0;
        s.head = 0;
        s.hasNext = false;
        return;
      }
      if (s.head > 64) {
        s.pages.splice(0, s.head);
        s.head = 0;
      }
      this.startPage(s);
    }
  }

  /** A TIME_STAMP record: absolute time without its top 5 bits, which come from the current time. */
  private absolute(buf: Buffer, pos: number, tsRel: number): number {
    const h = buf.readUInt32LE(pos);
    const abs = (BigInt(buf.readUInt32LE(pos + 4)) << 27n) | BigInt(h >>> 5);
    const cur = this.base + BigInt(tsRel);
    const msb = cur & (0x1fn << 59n);
    return Number((abs | msb) - this.base);
  }

  /** Earliest pending event time over all CPUs (Infinity when none). */
  earliest(): number {
    let t = Infinity;
    for (const s of this.streams) if (s.hasNext && s.nextTs < t) t = s.nextTs;
    return t;
  }

  pending(): boolean {
    for (const s of this.streams) if (s.hasNext) return true;
    return false;
  }

  /**
   * Makes the decode loop now, with the handlers as they are (it is
   * otherwise made at the first dispatch): a session calls it once tracing
   * is on, while it waits for its first events, so that the first dispatch
   * (at a -c command's exit, for a short one) does not wait for it.
   */
  prepare(): void {
    this.loop ??= this.compileLoop();
  }

  /** Dispatches, in time order, every queued event with ts <= limit; returns how many. */
  dispatch(limit = Infinity): number {
    const loop = (this.loop ??= this.compileLoop());
    let count = 0;
    for (;;) {
      const n = loop.run(limit, EVENTS_PER_CALL);
      count += n;
      const stop = loop.stop();
      if (stop === LoopStop.Done) {
        if (n < EVENTS_PER_CALL) break;
        continue;
      }
      const s = this.cur!;
      if (stop === LoopStop.OffPath) {
        // an event off the hot path, consumed by the loop and left in the view
        count++;
        const h = this.handlers[this.view.type];
        if (h !== undefined) h(this.view);
      }
      s.hasNext = false;
      this.advance(s);
    }
    this.stats.events += count;
    // a burst may have filled the free list: keep enough for the next rounds, let the rest go
    if (this.free.length > this.maxFree) this.free.length = this.maxFree;
    return count;
  }

  private compileLoop(): DecodeLoop {
    const hot: number[] = [];
    this.handlers.forEach((h, id) => {
      if (h !== undefined && !this.offPath.has(id)) hot.push(id);
    });
    return compileDecodeLoop(
      {
        streams: this.streams,
        view: this.view,
        handlers: this.handlers,
        setCurrent: (s) => {
          this.cur = s;
        },
      },
      hot,
      [...this.offPath].filter((id) => this.handlers[id] !== undefined),
    );
  }

  /**
   * During a handler: the record of type `type` the kernel wrote for the
   * event being handled right after it on the same CPU (the user stack of
   * options/userstacktrace), as [buffer, offset, length] of its payload, or
   * undefined. Records of events nested in between (an interrupt's, each
   * followed by its own such record) are stepped over; it must come from
   * task `pid`. Only the pages already read are searched: the kernel commits
   * it microseconds after the event, long before the read watermark.
   */
  followingRecord(type: number, pid: number): [Buffer, number, number] | undefined {
    const s = this.cur;
    if (s === undefined) return undefined;
    let page = s.head;
    let pos = s.pos;
    let nested = 0;
    for (let seen = 0; seen < 64; ) {
      const p = s.pages[page];
      if (p === undefined) return undefined;
      if (pos + 4 > p.end) {
        page++;
        pos = PAGE_HEADER;
        continue;
      }
      const h = p.u32[pos >>> 2]!;
      const typeLen = h & 31;
      if (typeLen <= 28) {
        let off: number;
        let len: number;
        if (typeLen === 0) {
          len = ((p.u32[(pos >>> 2) + 1]! - 4 + 3) & ~3) >>> 0;
          off = pos + 8;
        } else {
          len = typeLen << 2;
          off = pos + 4;
        }
        seen++;
        const t = p.buf[off]! | (p.buf[off + 1]! << 8);
        if (t === type) {
          if (nested === 0) return (p.u32[(off >>> 2) + 1]! | 0) === pid ? [p.buf, off, len] : undefined;
          nested--;
        } else nested++;
        pos = off + len;
      } else if (typeLen === 29) {
        if (h >>> 5 === 0) pos = p.end; // the rest of the page is padding
        else pos += 4 + p.u32[(pos >>> 2) + 1]!;
      } else pos += 8;
    }
    return undefined;
  }

  /** Drops everything queued (pages go back to the free list). */
  clear(): void {
    for (const s of this.streams) {
      for (let i = s.head; i < s.pages.length; i++) if (s.pages[i]) this.free.push(s.pages[i]!);
      s.pages.length = 0;
      s.head = 0;
      s.hasNext = false;
    }
  }
}

export type { Page as RingPage };
