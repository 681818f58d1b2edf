// SystemTap's associative arrays (global arrays of 1..9 keys).
//
// Like stap's runtime maps, an array keeps its entries in a list in insertion
// order (an update keeps the entry's place), iterates in that order when a
// foreach is unsorted, and a sorted foreach reorders that list (a stable merge
// sort). A full array refuses new keys (`Array overflow`) unless declared
// with `%`, in which case the oldest entry makes room.
//
// Single-key arrays use the key itself (number | bigint | string, always
// normalized) as the JS Map key; multi-key arrays use a composite string key
// and keep the key tuple in the entry.

import type { Long } from "./int64.js";
import { ScriptError } from "./errors.js";
import type { Stat as StatLike } from "./stats.js";

export type Key = Long | string;
export type ValueType = "long" | "string" | "stats";
export type Scalar = Long | string;

export interface ArrayDecl {
  name: string;
  arity: number;
  valueType: ValueType;
  /** `global a[N]` */
  size?: number;
  wrap: boolean;
  maxMapEntries: number;
  /** builds a fresh statistic for a stats-valued array */
  newStat?: () => StatLike;
}

/** One entry of a multi-key array. */
export interface EntryN<V> {
  k: Key[];
  v: V;
}

/**
 * Sort column: key index (0-based), "value", or undefined for insertion order.
 * A statistics array sorts by value on one of its extractors: "@count" unless
 * `foreach (k in s @sum+)` names another (stap's SORT_COUNT.. SORT_AVG).
 */
export type SortBy = number | "value" | "count" | "sum" | "min" | "max" | "avg" | undefined;

/** Composite key of a multi-key array (keys of one position all share a type, and strings hold no NUL). */
export function compositeKey(keys: readonly Key[]): string {
  let s = String(keys[0]);
  for (let i = 1; i < keys.length; i++) s += "\0" + String(keys[i]);
  return s;
}

function cmpScalar(a: Key | undefined, b: Key | undefined): number {
  // Both sides share a type: longs compare numerically (number/bigint mix is exact), strings bytewise.
  return (a as Long) < (b as Long) ? -1 : (a as Long) > (b as Long) ? 1 : 0;
}

function statSortValue(s: StatLike | undefined, aggr: SortBy): Long {
  if (!s || s.count === 0) return 0;
  switch (aggr) {
    case "sum":
      return s.sum;
    case "min":
      return s.min();
    case "max":
      return s.max();
    case "avg":
      return s.avg();
    default:
      return s.count;
  }
}

function isValueSort(sortBy: SortBy): boolean {
  return sortBy !== undefined && typeof sortBy !== "number";
}

abstract class ArrayBase<V> {
  readonly name: string;
  readonly arity: number;
  readonly valueType: ValueType;
  readonly limit: number;
  readonly wrap: boolean;
  readonly overflowText: string;
  readonly newStat?: () => StatLike;
  /** what `a[k]` yields for a missing key */
  readonly missing: V;

  constructor(d: ArrayDecl) {
    this.name = d.name;
    this.arity = d.arity;
    this.valueType = d.valueType;
    this.limit = d.size !== undefined && d.size > 0 ? d.size : d.maxMapEntries;
    this.wrap = d.wrap;
    this.overflowText = `Array overflow, check ${d.size !== undefined && d.size > 0 ? `size limit (${d.size})` : "MAXMAPENTRIES"}`;
    this.newStat = d.newStat;
    this.missing = (d.valueType === "string" ? "" : d.valueType === "long" ? 0 : undefined) as V;
  }

  protected overflow(near: string): never {
    throw new ScriptError(this.overflowText, near);
  }

  protected compareValues(a: V, b: V, aggr: SortBy): number {
    if (this.valueType === "stats") return cmpScalar(statSortValue(a as StatLike, aggr), statSortValue(b as StatLike, aggr));
    return cmpScalar(a as unknown as Key, b as unknown as Key);
  }
}

/** An array with one key. */
export class Array1<V> extends ArrayBase<V> {
  m = new Map<Key, V>();

  get size(): number {
    return this.m.size;
  }

  get(k: Key): V {
    const v = this.m.get(k);
    return v === undefined ? this.missing : v;
  }

  has(k: Key): boolean {
    return this.m.has(k);
  }

  /** the statistic of a stats-valued element, undefined when absent */
  stat(k: Key): StatLike | undefined {
    return this.m.get(k) as StatLike | undefined;
  }

  set(k: Key, v: V, near: string): V {
    const m = this.m;
    if (m.size >= this.limit && !m.has(k)) {
      if (!this.wrap) this.overflow(near);
      m.delete(m.keys().next().value as Key);
    }
    m.set(k, v);
    return v;
  }

  /** `a[k] <<< v` (`times` of them at once: a probe counted in the kernel) */
  addStat(k: Key, v: Long, near: string, times?: number): Long {
    let s = this.m.get(k) as StatLike | undefined;
    if (s === undefined) s = this.set(k, this.newStat!() as V, near) as StatLike;
    if (times === undefined) s.add(v);
    else s.addN(v, times);
    return v;
  }

  delete(k: Key): void {
    this.m.delete(k);
  }

  clear(): void {
    this.m.clear();
  }

  /** keys in iteration order (a snapshot), sorted as foreach asks */
  keys(sortBy: SortBy, dir: 1 | -1, limit: number): Key[] {
    let ks = Array.from(this.m.keys());
    if (sortBy !== undefined) {
      const m = this.m;
      if (isValueSort(sortBy)) ks.sort((a, b) => dir * this.compareValues(m.get(a) as V, m.get(b) as V, sortBy));
      else ks.sort((a, b) => dir * cmpScalar(a, b));
      // stap sorts the array's own list: later unsorted loops see this order (stats arrays re-aggregate instead).
      if (this.valueType !== "stats") {
        const n = new Map<Key, V>();
        for (const k of ks) n.set(k, m.get(k) as V);
        this.m = n;
      }
    }
    if (limit >= 0 && limit < ks.length) ks = ks.slice(0, limit);
    return ks;
  }
}

/** An array with 2..9 keys. */
export class ArrayN<V> extends ArrayBase<V> {
  m = new Map<string, EntryN<V>>();

  get size(): number {
    return this.m.size;
  }

  get(ck: string): V {
    const e = this.m.get(ck);
    return e === undefined ? this.missing : e.v;
  }

  has(ck: string): boolean {
    return this.m.has(ck);
  }

  stat(ck: string): StatLike | undefined {
    return this.m.get(ck)?.v as StatLike | undefined;
  }

  set(ck: string, keys: Key[], v: V, near: string): V {
    const m = this.m;
    const e = m.get(ck);
    if (e !== undefined) {
      e.v = v;
      return v;
    }
    if (m.size >= this.limit) {
      if (!this.wrap) this.overflow(near);
      m.delete(m.keys().next().value as string);
    }
    m.set(ck, { k: keys, v });
    return v;
  }

  addStat(ck: string, keys: Key[], v: Long, near: string, times?: number): Long {
    let e = this.m.get(ck);
    if (e === undefined) {
      this.set(ck, keys, this.newStat!() as V, near);
      e = this.m.get(ck)!;
    }
    if (times === undefined) (e.v as StatLike).add(v);
    else (e.v as StatLike).addN(v, times);
    return v;
  }

  delete(ck: string): void {
    this.m.delete(ck);
  }

  clear(): void {
    this.m.clear();
  }

  /** entries matching a slice pattern (undefined = `*`) */
  matching(pattern: (Key | undefined)[]): EntryN<V>[] {
    const out: EntryN<V>[] = [];
    for (const e of this.m.values()) {
      let ok = true;
      for (let i = 0; i < pattern.length; i++) {
        const p = pattern[i];
        if (p !== undefined && p !== e.k[i]) {
          ok = false;
          break;
        }
      }
      if (ok) out.push(e);
    }
    return out;
  }

  entries(sortBy: SortBy, dir: 1 | -1, limit: number, pattern?: (Key | undefined)[]): EntryN<V>[] {
    let es = pattern ? this.matching(pattern) : Array.from(this.m.values());
    if (sortBy !== undefined) {
      if (isValueSort(sortBy)) es.sort((a, b) => dir * this.compareValues(a.v, b.v, sortBy));
      else es.sort((a, b) => dir * cmpScalar(a.k[sortBy as number], b.k[sortBy as number]));
      if (this.valueType !== "stats" && !pattern) {
        const n = new Map<string, EntryN<V>>();
        for (const e of es) n.set(compositeKey(e.k), e);
        this.m = n;
      }
    }
    if (limit >= 0 && limit < es.length) es = es.slice(0, limit);
    return es;
  }

  deleteMatching(pattern: (Key | undefined)[]): void {
    for (const e of this.matching(pattern)) this.m.delete(compositeKey(e.k));
  }

  hasMatching(pattern: (Key | undefined)[]): boolean {
    return this.matching(pattern).length > 0;
  }
}

/** Single-key slice helpers (`[*] in a`, `delete a[*]`, `foreach (k in a[*])`) reduce to the whole array. */
export type AnyArray = Array1<unknown> | ArrayN<unknown>;
