import type { TokenCredential } from '@azure/core-auth';
import { IngestValidationError } from '../errors';
import { KustoRestClient } from '../kusto/kustoRestClient';
import { rowsAsObjects } from '../kusto/v1Response';
import { silentLogger, stripQuery, type Logger } from '../log';
import { quoteName, quoteString } from '../names';
import { newUuid } from '../uuid';
import { validateProps, type ValidatedProps } from './ingestionProps';
import type { IngestCallOptions } from './queuedIngestClient';
import type { IngestionProps, IngestionReceipt } from './types';

export interface DirectIngestClientOptions {
  /** The engine endpoint (https://<cluster>..., no ingest- prefix). */
  readonly engineUri: string;
  readonly credential?: TokenCredential;
  readonly applicationName?: string;
  readonly logger?: Logger;
}

export interface DirectExtent {
  readonly extentId: string;
  /** The source it came from, without SAS. */
  readonly itemLoaded: string;
  /** Rows in the extent, when the service lists it. */
  readonly rowCount: number | undefined;
}

export interface DirectIngestionResult extends IngestionReceipt {
  readonly extents: readonly DirectExtent[];
  /** Rows ingested in all, when every extent's count is known. */
  readonly rowCount: number | undefined;
}

/** Inline data is part of the command text: it is for a few rows, not a file. */
export const MAX_INLINE_BYTES = 64 * 1024;

/** `with (k='v', ...)` of a `.ingest` command, every value a quoted literal. */
export function ingestionPropertiesClause(props: ValidatedProps): string {
  const entries: [string, string][] = [['format', props.format]];
  if (props.mappingReference !== undefined)
    entries.push(['ingestionMappingReference', props.mappingReference]);
  if (props.mapping !== undefined) {
    entries.push([
      'ingestionMapping',
      JSON.stringify(
        props.mapping.map((m) => ({
          Column: m.column,
          ...(m.datatype !== undefined && { DataType: m.datatype }),
          Properties: m.properties,
        })),
      ),
    ]);
  }
  const tags = [
    ...props.tags,
    ...props.dropByTags.map((t) => `drop-by:${t}`),
    ...props.ingestByTags.map((t) => `ingest-by:${t}`),
  ];
  if (tags.length > 0) entries.push(['tags', JSON.stringify(tags)]);
  if (props.ingestIfNotExists !== undefined)
    entries.push(['ingestIfNotExists', JSON.stringify(props.ingestIfNotExists)]);
  if (props.creationTime !== undefined) entries.push(['creationTime', props.creationTime]);
  if (props.ignoreFirstRecord) entries.push(['ignoreFirstRecord', 'true']);
  for (const [k, v] of Object.entries(props.additionalProperties)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      throw new IngestValidationError(
        `additionalProperties key '${k}' is not a property name.`,
        'InvalidProperty',
      );
    entries.push([k, v]);
  }
  return `with (${entries.map(([k, v]) => `${k}=${quoteString(v)}`).join(', ')})`;
}

/**
 * Direct ingestion: the engine ingests while the command runs, and the call returns when the data is
 * queryable (or with the error). For small or interactive loads: production volume goes through queued
 * ingestion, which batches, retries and scales.
 */
export class DirectIngestClient {
  private readonly rest: KustoRestClient;

  constructor(options: DirectIngestClientOptions) {
    this.rest = new KustoRestClient({
      baseUrl: options.engineUri,
      credential: options.credential,
      applicationName: options.applicationName,
      logger: options.logger ?? silentLogger,
    });
  }

  /** `.ingest into table T (h'url', ...) with (...)`: each URL with a SAS (or `;managed_identity=...`). */
  async ingestFromBlob(
    urls: string | readonly string[],
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<DirectIngestionResult> {
    const validated = validateProps(props);
    const list = typeof urls === 'string' ? [urls] : [...urls];
    if (list.length === 0) throw new IngestValidationError('Give at least one blob URL.', 'EmptyInput');
    const sources = list.map((u) => `h${quoteString(u)}`).join(', ');
    const csl = `.ingest into table ${quoteName('table', validated.table)} (${sources}) ${ingestionPropertiesClause(validated)}`;
    return this.run(csl, validated, call);
  }

  /** `.ingest inline into table T with (...) <| data`: a few rows of text, at most 64 KiB. */
  async ingestInline(
    data: string,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<DirectIngestionResult> {
    const validated = validateProps(props);
    if (data.trim() === '')
      throw new IngestValidationError('The inline data is empty: there is nothing to ingest.', 'EmptyInput');
    if (Buffer.byteLength(data) > MAX_INLINE_BYTES) {
      throw new IngestValidationError(
        `Inline data is limited to ${MAX_INLINE_BYTES} bytes: use ingestFromBlob, or queued ingestion for files.`,
        'TooLarge',
      );
    }
    const csl = `.ingest inline into table ${quoteName('table', validated.table)} ${ingestionPropertiesClause(validated)} <|\n${data}`;
    return this.run(csl, validated, call);
  }

  private async run(
    csl: string,
    props: ValidatedProps,
    call: IngestCallOptions,
  ): Promise<DirectIngestionResult> {
    const [result] = await this.rest.executeMgmt(props.database, csl, call.abortSignal);
    const loaded = result ? rowsAsObjects(result) : [];
    // Row counts come from the table's extent list (the command itself does not say).
    const counts = new Map<string, number>();
    if (loaded.length > 0) {
      const [extents] = await this.rest.executeMgmt(
        props.database,
        `.show table ${quoteName('table', props.table)} extents`,
        call.abortSignal,
      );
      for (const row of extents ? rowsAsObjects(extents) : [])
        counts.set(String(row.ExtentId), Number(row.RowCount));
    }
    const extents = loaded.map((row) => ({
      extentId: String(row.ExtentId),
      itemLoaded: stripQuery(typeof row.ItemLoaded === 'string' ? row.ItemLoaded : ''),
      rowCount: counts.get(String(row.ExtentId)),
    }));
    const known = extents.every((e) => e.rowCount !== undefined);
    return {
      sourceId: props.sourceId ?? newUuid(),
      database: props.database,
      table: props.table,
      flavor: 'direct',
      status: 'Succeeded',
      extents,
      rowCount: known ? extents.reduce((n, e) => n + (e.rowCount ?? 0), 0) : undefined,
    };
  }
}
