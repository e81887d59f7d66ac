/**
 * Kusto scalar types as the stand-in stores them. Conversion follows the service's documented leniency:
 * a value that does not fit its column type becomes null, it does not fail the ingestion
 * (learn.microsoft.com/azure/data-explorer/ingest-invalid-data).
 */
export const KQL_TYPES = [
  'string',
  'int',
  'long',
  'real',
  'decimal',
  'bool',
  'datetime',
  'timespan',
  'guid',
  'dynamic',
] as const;
export type KqlType = (typeof KQL_TYPES)[number];

const ALIASES: Readonly<Record<string, KqlType>> = {
  string: 'string',
  int: 'int',
  int32: 'int',
  long: 'long',
  int64: 'long',
  real: 'real',
  double: 'real',
  decimal: 'decimal',
  bool: 'bool',
  boolean: 'bool',
  datetime: 'datetime',
  date: 'datetime',
  timespan: 'timespan',
  time: 'timespan',
  guid: 'guid',
  uniqueid: 'guid',
  dynamic: 'dynamic',
};

export function parseKqlType(name: string): KqlType | undefined {
  return ALIASES[name.trim().toLowerCase()];
}

/** What SQLite holds: text, numbers (bigint for longs beyond 2^53), or null. */
export type Stored = string | number | bigint | null;

const MAX_STRING = 1024 * 1024;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TICKS_PER_MS = 10_000n;

function asText(raw: unknown): string | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'boolean' || typeof raw === 'bigint') return String(raw);
  if (raw instanceof Date) return raw.toISOString();
  return JSON.stringify(raw);
}

function integer(raw: unknown, min: bigint, max: bigint): Stored {
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw)) return null;
    return BigInt(raw) >= min && BigInt(raw) <= max ? raw : null;
  }
  if (typeof raw === 'bigint') return raw >= min && raw <= max ? raw : null;
  const text = asText(raw)?.trim();
  if (!text || !/^[-+]?\d+$/.test(text)) return null;
  const value = BigInt(text);
  if (value < min || value > max) return null;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

function real(raw: unknown): Stored {
  if (typeof raw === 'number') return raw;
  const text = asText(raw)?.trim();
  if (!text) return null;
  if (/^(nan)$/i.test(text)) return Number.NaN;
  if (/^\+?inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return null;
  return Number(text);
}

/** Stored as epoch milliseconds; the service keeps 100 ns ticks, the stand-in keeps ms. */
function datetime(raw: unknown): Stored {
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? null : raw.getTime();
  const text = asText(raw)?.trim();
  if (!text) return null;
  // Kusto accepts ISO 8601 and 'yyyy-MM-dd HH:mm:ss'; a date without a zone is UTC.
  const iso = text.replace(' ', 'T');
  const withZone = /([zZ]|[+-]\d\d:?\d\d)$/.test(iso) || !iso.includes('T') ? iso : `${iso}Z`;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(withZone) ? `${withZone}T00:00:00Z` : withZone);
  return Number.isNaN(ms) ? null : ms;
}

const TICKS = { d: 864_000_000_000n, h: 36_000_000_000n, m: 600_000_000n, s: 10_000_000n } as const;
const UNIT_TICKS: Readonly<Record<string, bigint>> = {
  ...TICKS,
  ms: TICKS_PER_MS,
  microsecond: 10n,
  tick: 1n,
};

/** Stored as 100 ns ticks. Accepts `[-][d.]hh:mm:ss[.fffffff]` and `1.5h`-style literals. */
function timespan(raw: unknown): Stored {
  const text = asText(raw)?.trim();
  if (!text) return null;
  const clock = /^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?$/.exec(text);
  if (clock) {
    const [, sign, days, hours, minutes, seconds, fraction] = clock;
    const ticks =
      BigInt(days ?? 0) * TICKS.d +
      BigInt(hours ?? 0) * TICKS.h +
      BigInt(minutes ?? 0) * TICKS.m +
      BigInt(seconds ?? 0) * TICKS.s +
      BigInt((fraction ?? '').padEnd(7, '0') || '0');
    return toStoredTicks(sign ? -ticks : ticks);
  }
  const literal = /^(-)?(\d+(?:\.\d+)?)(d|h|m|s|ms|microsecond|tick)$/.exec(text);
  if (literal) {
    const [, sign, amount, unit] = literal;
    const ticks = BigInt(Math.round(Number(amount) * Number(UNIT_TICKS[unit ?? 's'])));
    return toStoredTicks(sign ? -ticks : ticks);
  }
  return null;
}

function toStoredTicks(ticks: bigint): Stored {
  return ticks >= BigInt(Number.MIN_SAFE_INTEGER) && ticks <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(ticks)
    : ticks;
}

function dynamic(raw: unknown): Stored {
  if (raw === undefined || raw === null) return null;
  let json: string;
  if (typeof raw === 'string') {
    try {
      JSON.parse(raw);
      json = raw.trim();
    } catch {
      json = JSON.stringify(raw); // not JSON: kept as a string value
    }
  } else {
    json = JSON.stringify(raw, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }
  return json.length > MAX_STRING ? null : json;
}

/** Converts a raw field (CSV text, JSON value, Avro/Parquet value) to the stored form of a column type. */
export function convert(raw: unknown, type: KqlType): Stored {
  if (raw === undefined || raw === null) return null;
  switch (type) {
    case 'string': {
      const text = asText(raw) ?? '';
      return text.length > MAX_STRING ? text.slice(0, MAX_STRING) : text;
    }
    case 'int':
      return integer(raw, -2_147_483_648n, 2_147_483_647n);
    case 'long':
      return integer(raw, -9_223_372_036_854_775_808n, 9_223_372_036_854_775_807n);
    case 'real':
      return real(raw);
    case 'decimal': {
      const text = asText(raw)?.trim();
      return text && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? text : null;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw ? 1 : 0;
      const text = asText(raw)?.trim().toLowerCase();
      if (text === 'true' || text === '1') return 1;
      if (text === 'false' || text === '0') return 0;
      return null;
    }
    case 'datetime':
      return datetime(raw);
    case 'timespan':
      return timespan(raw);
    case 'guid': {
      const text = asText(raw)?.trim();
      return text && GUID.test(text) ? text.toLowerCase() : null;
    }
    case 'dynamic':
      return dynamic(raw);
  }
}

function formatDatetime(ms: number): string {
  const iso = new Date(ms).toISOString(); // yyyy-mm-ddThh:mm:ss.fffZ
  return iso.replace(/\.000Z$/, 'Z').replace(/(\.\d*?)0+Z$/, '$1Z');
}

function formatTimespan(ticks: bigint): string {
  const negative = ticks < 0n;
  let rest = negative ? -ticks : ticks;
  const days = rest / TICKS.d;
  rest %= TICKS.d;
  const pad = (n: bigint) => n.toString().padStart(2, '0');
  const hours = rest / TICKS.h;
  rest %= TICKS.h;
  const minutes = rest / TICKS.m;
  rest %= TICKS.m;
  const seconds = rest / TICKS.s;
  const fraction = rest % TICKS.s;
  const text = `${days > 0n ? `${days}.` : ''}${pad(hours)}:${pad(minutes)}:${pad(seconds)}${fraction > 0n ? `.${fraction.toString().padStart(7, '0')}` : ''}`;
  return negative ? `-${text}` : text;
}

/** The JSON value a query answers for a stored value, as Kusto's REST API writes it. */
export function toJsonValue(value: Stored, type: KqlType): unknown {
  if (value === null) return null;
  switch (type) {
    case 'bool':
      return Number(value) !== 0;
    case 'datetime':
      return formatDatetime(Number(value));
    case 'timespan':
      return formatTimespan(BigInt(value));
    case 'dynamic':
      return JSON.parse(String(value)) as unknown;
    case 'real': {
      const n = Number(value);
      if (Number.isNaN(n)) return 'NaN';
      if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
      return n;
    }
    case 'int':
    case 'long':
      return typeof value === 'bigint'
        ? value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(value)
          : value.toString()
        : value;
    default:
      return value;
  }
}

/** SQLite column affinity for a type. */
export function sqliteType(type: KqlType): string {
  switch (type) {
    case 'int':
    case 'long':
    case 'bool':
    case 'datetime':
    case 'timespan':
      return 'INTEGER';
    case 'real':
      return 'REAL';
    default:
      return 'TEXT';
  }
}

/** Type names as the v1 and v2 REST responses spell them. */
export function columnTypeName(type: KqlType): { dataType: string; columnType: string } {
  const dataType: Record<KqlType, string> = {
    string: 'String',
    int: 'Int32',
    long: 'Int64',
    real: 'Double',
    decimal: 'Decimal',
    bool: 'Boolean',
    datetime: 'DateTime',
    timespan: 'TimeSpan',
    guid: 'Guid',
    dynamic: 'Object',
  };
  return { dataType: dataType[type], columnType: type };
}
