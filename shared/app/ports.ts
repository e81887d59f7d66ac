import type { BlobClient, BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import type { ManagedStreamingIngestClient } from '../ingest/managedStreamingIngestClient';
import type { QueuedIngestClient } from '../ingest/queuedIngestClient';
import type { KustoRestClient } from '../kusto/kustoRestClient';
import type { Logger } from '../log';
import type { MessageSender } from '../upload/queueRest';
import type { BackfillSourcePolicy } from './backfill/backfillSources';
import type { BackfillStore } from './backfill/backfillStore';
import type { SourceAccounts } from './backfill/sourceAccounts';
import type { Counters } from './counters';
import type { OperatorServices } from './http/operatorAuth';
import type { LandingFilter } from './landing/landingFilter';
import type { LandingSas } from './landing/landingSas';
import type { LandingRouting } from './routing/routeBlob';
import type { AppConfig } from './settings';
import type { TrackedSources } from './tracking/trackedSources';

// What the app's flows need, as types: the parts of the app (`AppContext`) and the narrower sets each flow
// takes. context.ts wires the real parts once per process; a unit test builds the parts a flow needs from
// fakes (test/helpers/fakeApp.ts).

/**
 * What the app uses of the queued ingest client. A unit test's fake records what it was asked and answers
 * the statuses the test sets (test/helpers/fakeIngest.ts).
 */
export type IngestPort = Pick<
  QueuedIngestClient,
  | 'ingestFromBlob'
  | 'ingestUploaded'
  | 'uploadedExists'
  | 'uploadToTempStorage'
  | 'getIngestionStatus'
  | 'getOperationStatuses'
  | 'receiveStatusReports'
  | 'lastProtocol'
>;

/** The landing account's containers and queues. */
export interface LandingStorage {
  readonly service: BlobServiceClient;
  readonly container: ContainerClient;
  readonly failed: ContainerClient;
  /** Where `LANDING_ON_SUCCESS=move` puts ingested blobs. */
  readonly done: ContainerClient;
  /** Event Grid's dead letters (the operator's replay reads them). */
  readonly deadLetters: ContainerClient;
  readonly events: QueueClient;
  readonly poison: QueueClient;
  /** Signs read SAS URLs for the app's own copies (quarantine, move). */
  readonly sas: LandingSas;
  /** The URL Kusto reads a landing blob by (LANDING_BLOB_AUTH). */
  readonly kustoUrl: (blob: BlobClient) => Promise<string>;
}

/** The backfill's job table and task queues (on the app's storage account). */
export interface BackfillResources {
  readonly store: BackfillStore;
  readonly pages: QueueClient;
  readonly items: QueueClient;
  /** Task messages out: one per blob, so lean signed requests where the connection allows. */
  readonly send: { readonly pages: MessageSender; readonly items: MessageSender };
  /** Other storage accounts jobs read (`accountUrl`), with the app's identity. */
  readonly accounts: SourceAccounts;
  /** Which containers a job may read (BACKFILL_SOURCES; never the app's own). */
  readonly sources: BackfillSourcePolicy;
}

/** Everything the triggers share: built once per process from the settings, and reused. */
export interface AppContext extends OperatorServices {
  readonly config: AppConfig;
  readonly ingest: IngestPort;
  /** Streams small HTTP pushes when HTTP_INGEST_FLAVOR is managed-streaming; undefined otherwise. */
  readonly managed: ManagedStreamingIngestClient | undefined;
  /** The engine's management commands: set when STATUS_MODE is failures-only (the failures cross-check). */
  readonly engine: Pick<KustoRestClient, 'executeMgmt'> | undefined;
  /** The tracked-source lifecycle: every tracking write goes through it. */
  readonly tracking: TrackedSources;
  /** How landing blobs are routed (the rules file, the allowed databases). */
  readonly routing: LandingRouting;
  /** Which landing blobs are data (include and exclude globs). */
  readonly landingFilter: LandingFilter;
  readonly landing: LandingStorage;
  readonly backfill: BackfillResources;
  /** Counts of what leaves no record (skipped landing blobs, ignored events), for logs and telemetry. */
  readonly counters: Counters;
  readonly clock: () => number;
  readonly logger: Logger;
  /** Creates the tables, containers and queues the app needs, once (they usually exist already in Azure). */
  ready(): Promise<void>;
}

/** What a kind of source works with (shared/app/sources/): taking sources on, queueing them again, retrying. */
export type SourcePorts = Pick<
  AppContext,
  | 'config'
  | 'ingest'
  | 'tracking'
  | 'routing'
  | 'landingFilter'
  | 'landing'
  | 'backfill'
  | 'counters'
  | 'clock'
  | 'logger'
  | 'ready'
>;

/** What the sweep works with: the kinds' parts, and the engine for STATUS_MODE failures-only. */
export type SweepPorts = SourcePorts & Pick<AppContext, 'engine'>;

/** What settling one source on the service's word works with. */
export type SettlePorts = SourcePorts;

/** What an HTTP push and blob references work with. */
export type PushPorts = SourcePorts & Pick<AppContext, 'managed'>;
