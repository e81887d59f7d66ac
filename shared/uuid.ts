import { createHash, randomUUID } from 'node:crypto';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Namespace of every deterministic source id of this app (docs/contracts.md, 'Source ids'). */
export const SOURCE_ID_NAMESPACE = '002fc9bb-7d87-4c89-9a00-586109796f9e';

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

export function newUuid(): string {
  return randomUUID();
}

/** RFC 4122 §4.3 name-based UUID (SHA-1, version 5). */
export function uuidV5(name: string, namespace: string = SOURCE_ID_NAMESPACE): string {
  if (!isUuid(namespace)) throw new TypeError(`uuidV5: namespace '${namespace}' is not a UUID`);
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
