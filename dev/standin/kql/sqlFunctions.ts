import type Database from 'better-sqlite3';
import { convert, toJsonValue, type KqlType, type Stored } from '../kqlTypes';

/**
 * The SQL functions the KQL translation calls for what SQLite lacks: Kusto's string operators, dynamic
 * values (JSON text), conversions and aggregates. All start with `k`; values arrive in the stored forms
 * (kqlTypes.ts).
 */
export type Value = string | number | bigint | null;

function parse(json: Value): unknown {
  if (json === null) return undefined;
  try {
    return JSON.parse(String(json)) as unknown;
  } catch {
    return String(json);
  }
}

const jsonText = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

/** A stored value as a JavaScript value of its JSON form (datetime as ISO text, bool as boolean). */
function plain(value: Value, type: KqlType): unknown {
  if (value === null) return null;
  if (type === 'dynamic') return parse(value);
  return toJsonValue(value, type);
}

/** tostring(): Kusto's text of a value; null is the empty string. */
export function kustoString(value: Value, type: KqlType): string {
  if (value === null) return '';
  if (type === 'string' || type === 'guid') return String(value);
  if (type === 'dynamic') {
    const v = parse(value);
    return typeof v === 'string' ? v : JSON.stringify(v);
  }
  return String(plain(value, type));
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const regexCache = new Map<string, RegExp>();
function regex(pattern: string, flags = 'u'): RegExp {
  const key = `${flags}/${pattern}`;
  let re = regexCache.get(key);
  if (!re) {
    re = new RegExp(pattern, flags);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(key, re);
  }
  return re;
}

// Kusto indexes terms as runs of letters and digits: `has` matches a whole term, `hasprefix` a term's start.
const TERM = '[\\p{L}\\p{N}]';
function termMatch(text: Value, term: Value, cs: number, before: boolean, after: boolean): number {
  const pattern = `${before ? `(?<!${TERM})` : ''}${escapeRegex(String(term ?? ''))}${after ? `(?!${TERM})` : ''}`;
  return regex(pattern, cs ? 'u' : 'iu').test(String(text ?? '')) ? 1 : 0;
}

const fold = (text: Value, cs: number): string =>
  cs ? String(text ?? '') : String(text ?? '').toLowerCase();

function convertTo(value: Value, from: KqlType, to: KqlType): Stored {
  if (value === null) return null;
  if (to === 'string') return kustoString(value, from);
  let raw: unknown = plain(value, from);
  if (typeof raw === 'object' && raw !== null) raw = JSON.stringify(raw);
  if (typeof raw === 'boolean' && to !== 'bool') raw = raw ? 1 : 0;
  if (typeof raw === 'number' && (to === 'int' || to === 'long')) raw = Math.trunc(raw);
  if (typeof raw === 'number' && to === 'bool') return raw !== 0 ? 1 : 0;
  return convert(raw, to);
}

const TWO = (n: number) => String(n).padStart(2, '0');

/** format_datetime(): the format specifiers of the KQL docs (yyyy, MM, dd, HH, hh, mm, ss, f..., tt). */
export function formatDatetime(ms: number, format: string): string {
  const d = new Date(ms);
  const fraction = String(d.getUTCMilliseconds()).padStart(3, '0').padEnd(7, '0');
  const hours12 = d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12;
  return format.replace(/yyyy|yy|MM|M|dd|d|HH|H|hh|h|mm|m|ss|s|f{1,7}|F{1,7}|tt/g, (t) => {
    switch (t) {
      case 'yyyy':
        return String(d.getUTCFullYear()).padStart(4, '0');
      case 'yy':
        return TWO(d.getUTCFullYear() % 100);
      case 'MM':
        return TWO(d.getUTCMonth() + 1);
      case 'M':
        return String(d.getUTCMonth() + 1);
      case 'dd':
        return TWO(d.getUTCDate());
      case 'd':
        return String(d.getUTCDate());
      case 'HH':
        return TWO(d.getUTCHours());
      case 'H':
        return String(d.getUTCHours());
      case 'hh':
        return TWO(hours12);
      case 'h':
        return String(hours12);
      case 'mm':
        return TWO(d.getUTCMinutes());
      case 'm':
        return String(d.getUTCMinutes());
      case 'ss':
        return TWO(d.getUTCSeconds());
      case 's':
        return String(d.getUTCSeconds());
      case 'tt':
        return d.getUTCHours() < 12 ? 'AM' : 'PM';
      default:
        // f: digits of the fraction; F: the same, trailing zeros dropped.
        return t.startsWith('f')
          ? fraction.slice(0, t.length)
          : fraction.slice(0, t.length).replace(/0+$/, '');
    }
  });
}

function startOf(ms: number, unit: string): number {
  const d = new Date(ms);
  if (unit === 'year') return Date.UTC(d.getUTCFullYear(), 0, 1);
  if (unit === 'month') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  // Kusto's weeks start on Sunday.
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - d.getUTCDay());
}

function element(json: Value, key: Value): string | null {
  const v = parse(json);
  if (Array.isArray(v) && typeof key === 'number') return jsonText(v[key < 0 ? v.length + key : key]);
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && key !== null)
    return jsonText((v as Record<string, unknown>)[String(key)]);
  return null;
}

function scalarOf(json: Value): Value {
  const v = parse(json);
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** SQLite aggregates take each row's arguments after the state; the typings only allow one. */
function aggregate<S>(
  db: Database.Database,
  name: string,
  options: { start: () => S; step: (state: S, ...args: never[]) => S; result: (state: S) => Value },
): void {
  db.aggregate(name, options as unknown as Parameters<Database.Database['aggregate']>[1]);
}

interface Extreme {
  best: Value;
  row: string | null;
}

function argExtreme(db: Database.Database, name: string, better: (a: Value, b: Value) => boolean): void {
  aggregate(db, name, {
    start: (): Extreme => ({ best: null, row: null }),
    step: (state: Extreme, value: Value, row: string) => {
      if (value === null) return state;
      if (state.row === null || better(value, state.best)) return { best: value, row };
      return state;
    },
    result: (state: Extreme) => state.row,
  });
}

interface Collected {
  readonly items: string[];
  readonly seen: Set<string>;
}

function collect(db: Database.Database, name: string, distinct: boolean): void {
  aggregate(db, name, {
    start: (): Collected => ({ items: [], seen: new Set() }),
    step: (state: Collected, value: Value, type: string, max: number) => {
      if (value === null || state.items.length >= max) return state;
      const json = jsonText(plain(value, type as KqlType)) ?? 'null';
      if (distinct) {
        if (state.seen.has(json)) return state;
        state.seen.add(json);
      }
      state.items.push(json);
      return state;
    },
    result: (state: Collected) => `[${state.items.join(',')}]`,
  });
}

/** The scalar functions, by SQL name; ksplit takes 2 or 3 arguments, the others a fixed number. */
export const KQL_SCALAR_FUNCTIONS: Readonly<Record<string, (...args: Value[]) => Value>> = {
  kget: (json, key) => element(json, key),
  kscalar: (json) => scalarOf(json),
  ktostring: (value, type) => kustoString(value, String(type) as KqlType),
  kjson: (value, type) => jsonText(plain(value, String(type) as KqlType)) ?? 'null',
  kconvert: (value, from, to) => convertTo(value, String(from) as KqlType, String(to) as KqlType),
  kparsejson: (value, type) => {
    if (value === null) return null;
    if (type === 'dynamic') return value;
    if (type !== 'string') return jsonText(plain(value, String(type) as KqlType));
    return jsonText(parse(value));
  },
  klower: (text) => (text === null ? null : String(text).toLowerCase()),
  kupper: (text) => (text === null ? null : String(text).toUpperCase()),
  khas: (text, term, cs) => termMatch(text, term, Number(cs), true, true),
  khasprefix: (text, term, cs) => termMatch(text, term, Number(cs), true, false),
  khassuffix: (text, term, cs) => termMatch(text, term, Number(cs), false, true),
  kcontains: (text, part, cs) => (fold(text, Number(cs)).includes(fold(part, Number(cs))) ? 1 : 0),
  kstartswith: (text, part, cs) => (fold(text, Number(cs)).startsWith(fold(part, Number(cs))) ? 1 : 0),
  kendswith: (text, part, cs) => (fold(text, Number(cs)).endsWith(fold(part, Number(cs))) ? 1 : 0),
  kregex: (text, pattern) => (regex(String(pattern ?? '')).test(String(text ?? '')) ? 1 : 0),
  kformatdatetime: (ms, format) => (ms === null ? null : formatDatetime(Number(ms), String(format ?? ''))),
  kstartof: (ms, unit) => (ms === null ? null : startOf(Number(ms), String(unit))),
  ksplit: (text, delimiter, index?: Value) => {
    const pieces = String(text ?? '').split(String(delimiter ?? ''));
    if (index === undefined || index === null) return JSON.stringify(pieces);
    const i = Number(index);
    return JSON.stringify(i >= 0 && i < pieces.length ? [pieces[i]] : []);
  },
};

export function installKqlFunctions(db: Database.Database): void {
  for (const [name, impl] of Object.entries(KQL_SCALAR_FUNCTIONS))
    db.function(
      name,
      { deterministic: true, varargs: name === 'ksplit' },
      impl as (...args: unknown[]) => unknown,
    );
  const less = (a: Value, b: Value) => (a as number) < (b as number);
  argExtreme(db, 'kargmax', (a, b) => less(b, a));
  argExtreme(db, 'kargmin', less);
  collect(db, 'kmakelist', false);
  collect(db, 'kmakeset', true);
  aggregate(db, 'kpercentile', {
    start: (): { values: Value[]; p: number } => ({ values: [], p: 50 }),
    step: (state: { values: Value[]; p: number }, value: Value, p: Value) => {
      if (value !== null) state.values.push(value);
      state.p = Number(p);
      return state;
    },
    // Nearest rank, as Kusto defines its percentiles: the value at rank ceil(p/100 * n), at least 1.
    result: (state: { values: Value[]; p: number }) => {
      if (!state.values.length) return null;
      const sorted = [...state.values].sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0));
      const rank = Math.max(1, Math.ceil((state.p / 100) * sorted.length));
      return sorted[Math.min(rank, sorted.length) - 1] ?? null;
    },
  });
}
