import type { KqlType } from './kqlTypes';

/** A result table: typed columns and rows of JSON values, as the REST responses carry them. */
export interface ResultTable {
  readonly columns: readonly { readonly name: string; readonly type: KqlType }[];
  readonly rows: readonly (readonly unknown[])[];
}

export function resultTable(
  columns: readonly (readonly [string, KqlType])[],
  rows: unknown[][],
): ResultTable {
  return { columns: columns.map(([name, type]) => ({ name, type })), rows };
}

/** A timespan as Kusto prints it: [d.]hh:mm:ss[.fffffff]. */
export function kustoTimespan(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const days = Math.floor(total / 86_400_000);
  const rest = total % 86_400_000;
  const hh = String(Math.floor(rest / 3_600_000)).padStart(2, '0');
  const mm = String(Math.floor((rest % 3_600_000) / 60_000)).padStart(2, '0');
  const ss = String(Math.floor((rest % 60_000) / 1000)).padStart(2, '0');
  const fraction = rest % 1000 === 0 ? '' : `.${String(rest % 1000).padStart(3, '0')}0000`;
  return `${days > 0 ? `${days}.` : ''}${hh}:${mm}:${ss}${fraction}`;
}
