/** The parts of a split source (docs/contracts.md, 'Splitting'): their ids and their combined status. */
import { uuidV5 } from '../uuid';
import type { IngestionStatus } from './types';

/** The source id of part `n` of a split source: UUID v5 of the parent's id and n (docs/contracts.md, 'Splitting'). */
export function partSourceId(parentSourceId: string, n: number): string {
  return uuidV5(String(n), parentSourceId);
}

const SUCCEEDED: ReadonlySet<string> = new Set(['Succeeded', 'Skipped']);

/** One status for the parts of a split source (docs/contracts.md, 'Splitting'). */
export function combinePartStatuses(sourceId: string, parts: readonly IngestionStatus[]): IngestionStatus {
  const written = latestRowWrite(parts);
  const stamp = written !== undefined ? { rowWrittenOn: written } : {};
  const open = parts.find((p) => p.status === 'Pending' || p.status === 'Queued');
  if (open)
    return { sourceId, status: open.status, details: `${parts.length} parts; not all are done`, ...stamp };
  const failed = parts.filter((p) => !SUCCEEDED.has(p.status));
  const firstFailure = failed[0];
  if (!firstFailure)
    return { sourceId, status: 'Succeeded', details: `${parts.length} parts, all ingested`, ...stamp };
  const failures = failed.map((p) => `${p.sourceId}: ${p.errorCode ?? p.status}`).join('; ');
  return {
    sourceId,
    status: failed.length === parts.length ? 'Failed' : 'PartiallySucceeded',
    details: `${failed.length} of ${parts.length} parts failed (${failures})`,
    ...(firstFailure.errorCode !== undefined && { errorCode: firstFailure.errorCode }),
    ...(firstFailure.failureStatus !== undefined && { failureStatus: firstFailure.failureStatus }),
    ...stamp,
  };
}

/** The latest write among the parts' rows; none unless every part's is known (an unknown one may be later). */
function latestRowWrite(parts: readonly IngestionStatus[]): string | undefined {
  let latest: { at: number; text: string } | undefined;
  for (const part of parts) {
    const at = part.rowWrittenOn === undefined ? NaN : Date.parse(part.rowWrittenOn);
    if (Number.isNaN(at)) return undefined;
    if (!latest || at > latest.at) latest = { at, text: part.rowWrittenOn as string };
  }
  return latest?.text;
}
