import { IngestValidationError } from '../../errors';
import { redactUrl, stripQuery } from '../../log';
import { AZURE_BLOB_SUFFIXES } from '../push/blobUrlPolicy';

/**
 * Which containers a backfill may read (docs/operations.md, 'Backfill'). A backfill reads with the app's own
 * identity, which owns the app's storage account: without this check, a caller of the backfill API could
 * have the host's keys or its deployment package listed, read and ingested into a table it can query. So
 * a source is allowed only when the operator's settings name it (BACKFILL_SOURCES; by default the landing
 * container alone), and the app's own containers are refused whatever the settings say.
 */

/** A storage account as a URL names it: its identity (host, and for path-style URLs the account segment) and its name. */
export interface StorageAccountRef {
  /**
   * The account's name for Azure's `<account>.blob.<suffix>` hosts (its other names, `.dfs.` or
   * `.privatelink.`, are the same account), `host/account` for path-style URLs (the emulator).
   */
  readonly key: string;
  readonly name: string;
}

/** One entry of BACKFILL_SOURCES: `account/container` or `account/*`. */
export interface BackfillSourceEntry {
  readonly account: string;
  /** A container name, or `*` for every container of the account. */
  readonly container: string;
}

/** Storage's rules: account names are 3-24 lower-case letters and digits; container names 3-63, with single dashes. */
export const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
export const CONTAINER_NAME = /^(?!-)(?!.*--)[a-z0-9-]{3,63}(?<!-)$/;

/**
 * Containers the Functions host and its deployment keep on the app's storage account: host keys and
 * secrets (`azure-webjobs-secrets`), the host's locks and state (`azure-webjobs-hosts`, other `azure-*`),
 * the Flex Consumption deployment package (`app-package-*`), the package containers of the other plans
 * (`scm-releases`, `function-releases`).
 */
const HOST_CONTAINERS = [/^azure-/, /^app-package-/, /^scm-releases$/, /^function-releases$/];

/** Parses BACKFILL_SOURCES (a comma list); throws naming the bad entry. Undefined when unset. */
export function parseBackfillSources(text: string | undefined): BackfillSourceEntry[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const [account = '', container = '', ...rest] = item.split('/');
      if (
        rest.length > 0 ||
        !ACCOUNT_NAME.test(account) ||
        (container !== '*' && !CONTAINER_NAME.test(container))
      )
        throw new Error(
          `'${item.slice(0, 100)}' is not an account/container entry: give e.g. mydata/exports or mydata/* (account and container names in lower case)`,
        );
      return { account, container };
    });
}

/** The account a blob service URL names; undefined when it names none this app can know. */
export function storageAccountOf(serviceUrl: string): StorageAccountRef | undefined {
  let url: URL;
  try {
    url = new URL(serviceUrl);
  } catch {
    return undefined;
  }
  const host = url.host.toLowerCase();
  if (AZURE_BLOB_SUFFIXES.some((s) => host.endsWith(s))) {
    const name = host.split('.')[0] ?? '';
    return { key: name, name };
  }
  const segment = url.pathname.split('/').filter(Boolean)[0];
  return segment === undefined ? undefined : { key: `${host}/${segment}`, name: segment };
}

export interface BackfillSourcePolicyOptions {
  /** BACKFILL_SOURCES; undefined: the landing container only. */
  readonly allowed: readonly BackfillSourceEntry[] | undefined;
  /** The landing account's blob endpoint. */
  readonly landingServiceUrl: string;
  readonly landingContainer: string;
  /** The landing account's containers that are the app's own: quarantine, done, dead letters. */
  readonly landingOwnContainers: ReadonlyMap<string, string>;
  /** The app's storage account's blob endpoint (AzureWebJobsStorage). */
  readonly appServiceUrl: string | undefined;
}

/** Decides whether a backfill may read a container, before anything is listed or read. */
export class BackfillSourcePolicy {
  private readonly landing: StorageAccountRef | undefined;
  private readonly app: StorageAccountRef | undefined;

  constructor(private readonly options: BackfillSourcePolicyOptions) {
    this.landing = storageAccountOf(options.landingServiceUrl);
    this.app = options.appServiceUrl === undefined ? undefined : storageAccountOf(options.appServiceUrl);
  }

  /**
   * Throws a `SourceNotAllowed` validation error naming what to set, unless the container of the account at
   * `serviceUrl` (undefined: the landing account) may be backfilled.
   */
  check(serviceUrl: string | undefined, container: string): void {
    const why = this.refusal(serviceUrl, container);
    if (why !== undefined) throw new IngestValidationError(why, 'SourceNotAllowed');
  }

  /** Why the container may not be backfilled, or undefined when it may. */
  refusal(serviceUrl: string | undefined, container: string): string | undefined {
    const account = serviceUrl === undefined ? this.landing : storageAccountOf(serviceUrl);
    const shown = serviceUrl === undefined ? 'the landing account' : redactUrl(stripQuery(serviceUrl));
    if (!account) return `The storage account ${shown} names no account.`;
    const onLanding = account.key === this.landing?.key;
    const isLandingContainer = onLanding && container === this.options.landingContainer;
    const own = onLanding ? this.options.landingOwnContainers.get(container) : undefined;
    if (own) return `The container '${container}' is ${own}: it cannot be backfilled.`;
    if (
      account.key === this.app?.key &&
      !isLandingContainer &&
      HOST_CONTAINERS.some((p) => p.test(container))
    )
      return `The container '${container}' belongs to the Functions host on the app's own storage account (keys, state or the deployment package): it can never be backfilled.`;
    if (isLandingContainer) return undefined;
    const allowed = this.options.allowed ?? [];
    if (allowed.some((e) => e.account === account.name && (e.container === '*' || e.container === container)))
      return undefined;
    return `The container '${container}' of account '${account.name}' is not a backfill source this app allows: an operator adds '${account.name}/${container}' (or '${account.name}/*') to BACKFILL_SOURCES${
      this.options.allowed === undefined ? ' (unset: only the landing container)' : ''
    }.`;
  }
}
