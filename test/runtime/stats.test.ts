import { describe, expect, it } from "vitest";
import { Stat, StatError, formatHistLinear, formatHistLog } from "../../runtime/stats.js";
import { logBucket, logBucketValue, linearBucket, validateLinear } from "../../runtime/hist.js";
import { limits, resetLimits } from "../../runtime/limits.js";

const LOG = { type: "log" } as const;

function statOf(values: Array<number | bigint>, config = {}): Stat {
  const s = new Stat(config);
  for (const v of values) s.add(v);
  return s;
}

function repeat(pairs: Array<[number, number]>): number[] {
  const out: number[] = [];
  for (const [v, n] of pairs) for (let k = 0; k < n; k++) out.push(v);
  return out;
}

describe("Stat extractors", () => {
  it("count, sum, min, max, truncating avg", () => {
    const s = statOf([1, 2, 4]);
    expect(s.count).toBe(3);
    expect(s.sum).toBe(7);
    expect(s.min()).toBe(1);
    expect(s.max()).toBe(4);
    expect(s.avg()).toBe(2); // 7/3 truncated
    expect(statOf([-7, 0]).avg()).toBe(-3); // C truncation toward zero
  });

  it("empty aggregate: count/sum are 0, the rest raise", () => {
    const s = new Stat();
    expect(s.isEmpty()).toBe(true);
    expect(s.count).toBe(0);
    expect(s.sum).toBe(0);
    for (const f of [() => s.min(), () => s.max(), () => s.avg(), () => s.variance()]) {
      expect(f).toThrow(StatError);
      expect(f).toThrow("empty aggregate");
    }
  });

  it("sum wraps at 64 bits", () => {
    const s = statOf([9223372036854775807n, 1]);
    expect(s.sum).toBe(-9223372036854775808n);
  });

  it("variance: Welford in integers, sample variance (n-1)", () => {
    // 2,4,4,4,5,5,7,9 (true sample variance 32/7): stap's integer Welford keeps
    // avg_s at 3 (increments 2/2, then 1/3, 1/4, 2/5, 2/6, 4/7, 6/8 truncate to 0)
    // and M2 = 2+1+1+4+4+16+36 = 64, var_s = 64/7 = 9; the read-out adds
    // S1 = 8*(3-5)^2 = 32 to S2 = 7*9 = 63: (32+63)/7 = 13.
    expect(statOf([2, 4, 4, 4, 5, 5, 7, 9]).variance()).toBe(13);
    // With a shift of 8 the scaled arithmetic is close to exact: 32/7 = 4.
    expect(statOf([2, 4, 4, 4, 5, 5, 7, 9], { varianceShift: 8 }).variance()).toBe(4);
    expect(statOf([5]).variance()).toBe(0); // one value: division by 0 yields 0 in stap
    // 1,2: avg_s stays 1 (1/2 truncates), M2 = 1*(2-1) = 1, var_s = 1; S1 = 0: 1/1 = 1
    expect(statOf([1, 2]).variance()).toBe(1);
    // 1,2 with shift 4: values 16,32; avg_s 24; M2 = 16*8 = 128; var_s = 128; >> 8 = 0
    expect(statOf([1, 2], { varianceShift: 4 }).variance()).toBe(0);
    // 0,10,20: Welford avg_s 0,5,10; M2 = 10*5 + 15*10 = 200; /2 = 100
    expect(statOf([0, 10, 20]).variance()).toBe(100);
  });

  it("variance shows stap's rounding between running and aggregate averages", () => {
    // 1,2,2: running avg_s: 1, 1+(1/2=0)=1, 1+(1/3=0)=1; M2 = 1*1 + 1*1 = 2; var_s=1.
    // aggregate avg_s = 5/3 = 1; S1 = 3*0 = 0; S2 = 2*1 = 2; 2/2 = 1.
    expect(statOf([1, 2, 2]).variance()).toBe(1);
    // 0,3: running avg_s 0 then 0+(3/2=1)=1; M2 = 3*(3-1)=6; var_s=6.
    // aggregate avg_s = 3/2 = 1; S1 = 0; S2 = 1*6; 6/1 = 6 (true variance 4.5)
    expect(statOf([0, 3]).variance()).toBe(6);
  });

  it("clear empties everything", () => {
    const s = statOf([3, 4], { hists: [LOG] });
    s.clear();
    expect(s.isEmpty()).toBe(true);
    expect(s.histBuckets(LOG).every((b) => b === 0)).toBe(true);
    s.add(10);
    expect(s.min()).toBe(10);
    expect(s.variance()).toBe(0);
  });
});

describe("log buckets", () => {
  it("maps values like stap's _stp_val_to_bucket", () => {
    expect(logBucket(0)).toBe(64);
    expect(logBucket(1)).toBe(65);
    expect(logBucket(2)).toBe(66);
    expect(logBucket(3)).toBe(66);
    expect(logBucket(4)).toBe(67);
    expect(logBucket(-1)).toBe(63);
    expect(logBucket(-3)).toBe(62);
    expect(logBucket(9223372036854775807n)).toBe(127);
    expect(logBucket(-9223372036854775808n)).toBe(0);
    expect(logBucket(2 ** 40)).toBe(64 + 41);
  });
  it("labels buckets like _stp_bucket_to_val", () => {
    expect(logBucketValue(64)).toBe(0);
    expect(logBucketValue(65)).toBe(1);
    expect(logBucketValue(67)).toBe(4);
    expect(logBucketValue(63)).toBe(-1);
    expect(logBucketValue(61)).toBe(-4);
    expect(logBucketValue(0)).toBe(-9223372036854775808n);
    expect(logBucketValue(127)).toBe(4611686018427387904n);
  });
  it("bucket indexing is raw and range-checked", () => {
    const s = statOf([1, 1, 5], { hists: [LOG] });
    expect(s.histBucket(LOG, 65)).toBe(2);
    expect(s.histBucket(LOG, 67)).toBe(1);
    expect(s.histBucket(LOG, 0)).toBe(0);
    expect(() => s.histBucket(LOG, 128)).toThrow("histogram index out of range");
    expect(() => s.histBucket(LOG, -1)).toThrow("histogram index out of range");
  });
});

describe("linear buckets", () => {
  const spec = { type: "linear", start: 0, stop: 100, interval: 10 } as const;
  it("underflow, ranges, overflow", () => {
    expect(linearBucket(spec, -1)).toBe(0);
    expect(linearBucket(spec, 0)).toBe(1);
    expect(linearBucket(spec, 9)).toBe(1);
    expect(linearBucket(spec, 10)).toBe(2);
    expect(linearBucket(spec, 99)).toBe(10);
    expect(linearBucket(spec, 100)).toBe(11);
    expect(linearBucket(spec, 5000)).toBe(12);
  });
  it("validates parameters as stap does", () => {
    expect(validateLinear(0, 100, 10)).toBeUndefined();
    expect(validateLinear(0, 100, 0)).toBe("histogram: interval cannot be zero.");
    expect(validateLinear(0, 1000, 1)).toMatch(/^histogram: Number of buckets must be between 1 and 126\n/);
  });
});

// Real stap output, from SystemTap's examples (io/deviceseeks.txt).
const DEVICESEEKS = `       value |-------------------------------------------------- count
-34359738368 |                                                     0
-17179869184 |                                                     0
 -8589934592 |                                                     1
 -4294967296 |                                                     0
 -2147483648 |                                                     0
             ~
  -268435456 |                                                     0
  -134217728 |                                                     0
   -67108864 |                                                     1
   -33554432 |                                                     0
   -16777216 |                                                     0
             ~
      -32768 |                                                     0
      -16384 |                                                     0
       -8192 |@@@@@@@@@                                           47
       -4096 |@@@@@@@@@@@@@@@@@@@@@@@                            115
       -2048 |@@@@@@                                              31
       -1024 |                                                     0
        -512 |                                                     0
             ~
          -2 |                                                     0
          -1 |                                                     0
           0 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@  246
           1 |                                                     0
           2 |                                                     0
             ~
           8 |                                                     0
          16 |                                                     0
          32 |                                                     1
          64 |                                                     3
         128 |                                                     1
         256 |                                                     1
         512 |@                                                    8
        1024 |@                                                    7
        2048 |@@@@@@@@@@@@@@@@@@@@                               102
        4096 |@@@@@@@@@@@@@@@@@@@@                               102
        8192 |@@@@@@@                                             37
       16384 |                                                     3
       32768 |                                                     0
       65536 |                                                     0
             ~
    16777216 |                                                     0
    33554432 |                                                     0
    67108864 |                                                     2
   134217728 |                                                     0
   268435456 |                                                     0
             ~
  2147483648 |                                                     0
  4294967296 |                                                     0
  8589934592 |                                                     1
 17179869184 |                                                     0
 34359738368 |                                                     0

`;

// Real stap output, from SystemTap's examples (general/func_time_stats.txt).
const FUNC_TIME = `  value |-------------------------------------------------- count
 131072 |                                                   0
 262144 |                                                   0
 524288 |@                                                  1
1048576 |                                                   0
2097152 |                                                   0

`;

describe("histogram text", () => {
  it("reproduces stap's deviceseeks log histogram (negatives, zero, elision, scaling)", () => {
    const values = repeat([
      [-8589934592, 1], [-67108864, 1], [-8192, 47], [-4096, 115], [-2048, 31], [0, 246],
      [32, 1], [64, 3], [128, 1], [256, 1], [512, 8], [1024, 7], [2048, 102], [4096, 102],
      [8192, 37], [16384, 3], [67108864, 2], [8589934592, 1],
    ]);
    expect(formatHistLog(statOf(values, { hists: [LOG] }))).toBe(DEVICESEEKS);
  });

  it("reproduces stap's func_time_stats log histogram", () => {
    expect(formatHistLog(statOf([1000199], { hists: [LOG] }))).toBe(FUNC_TIME);
  });

  it("reproduces the language reference's @hist_linear(reads, 0, 10240, 200) example", () => {
    const spec = { type: "linear", start: 0, stop: 10240, interval: 200 } as const;
    const values = repeat([[100, 1650], [250, 8], [1450, 1]]);
    const pad = (n: number) => " ".repeat(n);
    const expected =
      "value |-------------------------------------------------- count\n" +
      "    0 |" + "@".repeat(50) + " 1650\n" +
      "  200 |" + pad(54) + "8\n" +
      "  400 |" + pad(54) + "0\n" +
      "  600 |" + pad(54) + "0\n" +
      "      ~\n" +
      " 1000 |" + pad(54) + "0\n" +
      " 1200 |" + pad(54) + "0\n" +
      " 1400 |" + pad(54) + "1\n" +
      " 1600 |" + pad(54) + "0\n" +
      " 1800 |" + pad(54) + "0\n" +
      "\n";
    expect(formatHistLinear(statOf(values, { hists: [spec] }), 0, 10240, 200)).toBe(expected);
  });

  it("linear histogram with underflow and overflow rows", () => {
    const spec = { type: "linear", start: 0, stop: 30, interval: 10 } as const;
    // (30-0)/10+3 = 6 buckets: <0, [0,10), [10,20), [20,30), [30,40), overflow
    // (labelled ">30", as stap labels it start+(i-2)*interval)
    const s = statOf([-5, 12, 15, 99], { hists: [spec] });
    const expected =
      "value |-------------------------------------------------- count\n" +
      "   <0 |@                                                  1\n" +
      "    0 |                                                   0\n" +
      "   10 |@@                                                 2\n" +
      "   20 |                                                   0\n" +
      "   30 |                                                   0\n" +
      "  >30 |@                                                  1\n" +
      "\n";
    expect(formatHistLinear(s, 0, 30, 10)).toBe(expected);
  });

  it("a single zero in a log histogram", () => {
    const expected =
      "value |-------------------------------------------------- count\n" +
      "    0 |@                                                  1\n" +
      "    1 |                                                   0\n" +
      "    2 |                                                   0\n" +
      "\n";
    expect(formatHistLog(statOf([0], { hists: [LOG] }))).toBe(expected);
  });

  it("an empty histogram: only the header and the blank line", () => {
    // stap's loop starts at bucket -1 (no data) and elides every all-zero row; the
    // value column is sized from the labels of buckets -1 and 2 (-1 and -2^61).
    expect(formatHistLog(new Stat({ hists: [LOG] }))).toBe(
      " ".repeat(15) + "value |" + "-".repeat(50) + " count\n\n",
    );
    const lin = { type: "linear", start: 0, stop: 100, interval: 10 } as const;
    expect(formatHistLinear(new Stat({ hists: [lin] }), 0, 100, 10)).toBe(
      "value |" + "-".repeat(50) + " count\n\n",
    );
  });

  it("HIST_ELISION < 0 keeps every row; HIST_WIDTH changes the bar width", () => {
    try {
      limits.HIST_ELISION = -1;
      const s = statOf([1, 64], { hists: [LOG] });
      const rows = formatHistLog(s).split("\n");
      // 0,1,2,4,8,16,32,64,128,256: ten rows, no '~'
      expect(rows.length).toBe(1 + 10 + 2);
      expect(rows.some((r) => r.includes("~"))).toBe(false);
      limits.HIST_WIDTH = 10;
      expect(formatHistLog(statOf([1], { hists: [LOG] }))).toBe(
        "value |---------- count\n" +
          "    0 |           0\n" +
          "    1 |@          1\n" +
          "    2 |           0\n" +
          "    4 |           0\n" +
          "\n",
      );
    } finally {
      resetLimits();
    }
  });
});

describe("Stat.addN (a probe counted in the kernel)", () => {
  // every read-out of n adds of v, after what `before` added, equals n calls of add(v)
  const cases: { before: number[]; v: number; n: number; shift?: number }[] = [
    { before: [], v: 1, n: 1_000 },
    { before: [], v: 7, n: 1 },
    { before: [], v: 3, n: 0 },
    { before: [100, -5, 2_000_000_000], v: 1, n: 5_000 },
    { before: [9], v: -40, n: 300, shift: 3 },
    { before: [1 << 30, -(1 << 30)], v: 123456, n: 2_500 },
  ];
  for (const c of cases) {
    it(`${c.n} x ${c.v} after [${c.before.join(", ")}]${c.shift ? ` shift ${c.shift}` : ""}`, () => {
      const config = { hists: [{ type: "log" as const }, { type: "linear" as const, start: -50, stop: 50, interval: 10 }], varianceShift: c.shift };
      const a = new Stat(config);
      const b = new Stat(config);
      for (const x of [...c.before]) {
        a.add(x);
        b.add(x);
      }
      for (let i = 0; i < c.n; i++) a.add(c.v);
      b.addN(c.v, c.n);
      expect(b.count).toBe(a.count);
      expect(b.sum).toEqual(a.sum);
      if (a.count > 0) {
        expect([b.min(), b.max(), b.avg(), b.variance()]).toEqual([a.min(), a.max(), a.avg(), a.variance()]);
        expect(b.formatHist({ type: "log" })).toBe(a.formatHist({ type: "log" }));
        expect(b.formatHist({ type: "linear", start: -50, stop: 50, interval: 10 })).toBe(a.formatHist({ type: "linear", start: -50, stop: 50, interval: 10 }));
      }
    });
  }
});
