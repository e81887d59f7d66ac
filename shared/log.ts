/**
 * A logger small enough that `InvocationContext`, `console` and test collectors all satisfy it, and the
 * redaction that keeps SAS signatures and tokens out of every line.
 */
export interface Logger {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

const noop = (): void => undefined;
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

const REDACTED = 'REDACTED';

/** Replaces every query value of a URL: DM resource URIs carry SAS tokens in their query. */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url.toString());
  } catch {
    return redactSecrets(url.toString());
  }
  if (parsed.username || parsed.password) {
    parsed.username = parsed.username ? REDACTED : '';
    parsed.password = parsed.password ? REDACTED : '';
  }
  const keys = [...new Set(parsed.searchParams.keys())];
  if (keys.length === 0) return parsed.toString();
  const query = keys.map((k) => `${encodeURIComponent(k)}=${REDACTED}`).join('&');
  return `${parsed.origin}${parsed.pathname}?${query}${parsed.hash}`;
}

/** The URL without its query: safe to log, store in status rows and hand back in receipts. */
export function stripQuery(url: string): string {
  const cut = url.search(/[?;]/);
  return cut === -1 ? url : url.slice(0, cut);
}

// Secrets that can hide in free text: SAS signatures, bearer tokens, account keys in connection strings.
const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [
    /([?&](?:sig|se|st|sv|sp|sr|srt|ss|skoid|sktid|skt|ske|sks|skv|spr|sip|tn|rscc|rscd|rsce|rscl|rsct|saoid|suoid|scid|sdd|ses|code|key|token|access_token|api-key|apikey)=)[^&\s"'<>]*/gi,
    `$1${REDACTED}`,
  ],
  [/(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/g, `$1${REDACTED}`],
  // A function key in a header or a log of one.
  [/((?:x-functions-key|x-api-key)["']?\s*[:=]\s*["']?)[^\s"',;]+/gi, `$1${REDACTED}`],
  [/((?:AccountKey|SharedAccessSignature|SharedAccessKey)=)[^;\s"']*/gi, `$1${REDACTED}`],
  [/("authorizationContext"\s*:\s*")[^"]*/g, `$1${REDACTED}`],
];

/** Best-effort scrub of free text (error messages from services may echo a URL with its SAS). */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** `redactSecrets` of a text that may be absent (a service's optional details). */
export const redactOptional = (text: string | undefined): string | undefined =>
  text === undefined ? undefined : redactSecrets(text);
