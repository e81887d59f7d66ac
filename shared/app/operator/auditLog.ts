import { randomUUID } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { isAlreadyExists } from '../../errors';

/** What an operator did that changes something: each writes one audit record. */
export type OperatorAction = 'retry' | 'retryMany' | 'replay' | 'backfillStart' | 'backfillCancel';

/** One operator action, as the audit log keeps it. */
export interface AuditEntry {
  readonly at: string;
  /** The token's object id, or `function key`. */
  readonly principalId: string;
  readonly principalName: string;
  /** The operator roles the caller held. */
  readonly roles: readonly string[];
  readonly action: OperatorAction;
  /** What it was done to: a source id, a database and table, a job id, a container. */
  readonly target: string;
  /** The answer: its status, and its error code when it was refused or failed. */
  readonly status: number;
  readonly code: string | undefined;
}

export interface AuditPage {
  readonly entries: readonly AuditEntry[];
  readonly continuationToken: string | undefined;
}

type AuditTable = Pick<TableClient, 'createTable' | 'createEntity' | 'listEntities'>;

const MAX_TIME = 9_999_999_999_999;
const dayOf = (at: Date) => at.toISOString().slice(0, 10);
/** The most days a page walks back through (a day is a partition). */
const MAX_DAYS = 31;

/**
 * The operators' audit log (table `IngestionAudit`, app storage): one row per action, a partition per UTC
 * day, newest first within it. Rows are kept until someone deletes them: an audit trail that expired with
 * the tracking rows would not say who retried what a month ago.
 */
export class AuditLog {
  private ready: Promise<void> | undefined;

  constructor(
    private readonly table: AuditTable,
    private readonly clock: () => number = Date.now,
  ) {}

  async write(entry: Omit<AuditEntry, 'at'>): Promise<AuditEntry> {
    await this.ensureTable();
    const at = new Date(this.clock());
    await this.table.createEntity({
      partitionKey: dayOf(at),
      rowKey: `${String(MAX_TIME - at.getTime()).padStart(13, '0')}-${randomUUID()}`,
      PrincipalId: entry.principalId,
      PrincipalName: entry.principalName.slice(0, 256),
      Roles: entry.roles.join(','),
      Action: entry.action,
      Target: entry.target.slice(0, 1024),
      Status: entry.status,
      ...(entry.code !== undefined && { Code: entry.code }),
    });
    return { ...entry, at: at.toISOString() };
  }

  /** Newest first, from today back to `since` (at most 31 days), a page at a time. */
  async list(query: { since: Date; pageSize: number; continuationToken?: string }): Promise<AuditPage> {
    await this.ensureTable();
    const [fromDay, afterRow] = query.continuationToken?.split('|') ?? [];
    const entries: AuditEntry[] = [];
    const oldest = dayOf(query.since);
    let day = new Date(`${fromDay ?? dayOf(new Date(this.clock()))}T00:00:00Z`);
    for (let walked = 0; walked < MAX_DAYS && dayOf(day) >= oldest; walked++) {
      const partition = dayOf(day);
      const after = partition === fromDay ? afterRow : undefined;
      const filter = [
        odata`PartitionKey eq ${partition}`,
        ...(after ? [odata`RowKey gt ${after}`] : []),
      ].join(' and ');
      for await (const row of this.table.listEntities({ queryOptions: { filter } })) {
        const at = new Date(MAX_TIME - Number(String(row.rowKey).slice(0, 13)));
        if (at < query.since) break;
        const text = (v: unknown) => (typeof v === 'string' ? v : '');
        entries.push({
          at: at.toISOString(),
          principalId: text(row.PrincipalId),
          principalName: text(row.PrincipalName),
          roles: text(row.Roles).split(',').filter(Boolean),
          action: text(row.Action) as OperatorAction,
          target: text(row.Target),
          status: Number(row.Status ?? 0),
          code: typeof row.Code === 'string' ? row.Code : undefined,
        });
        if (entries.length === query.pageSize)
          return { entries, continuationToken: `${partition}|${String(row.rowKey)}` };
      }
      day = new Date(day.getTime() - 86_400_000);
    }
    return { entries, continuationToken: undefined };
  }

  private ensureTable(): Promise<void> {
    this.ready ??= this.table.createTable().catch((e: unknown) => {
      if (isAlreadyExists(e)) return; // it exists
      this.ready = undefined; // try again next time
      throw e;
    });
    return this.ready;
  }
}
