/**
 * Offline checks of infra/: the Bicep CLI cannot be installed here, so every file must parse with
 * tree-sitter-bicep, and the structure is checked against what the app needs and reads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DEFAULTS, CONFIG_SETTINGS, loadConfig } from '../../shared/app/settings';
import {
  entries,
  outputs,
  parseBicep,
  parseBicepTree,
  property,
  resources,
  syntaxErrors,
  text,
  variable,
  type BicepFile,
  type ResourceDecl,
} from '../helpers/bicep';

const root = join(__dirname, '..', '..');
let files: BicepFile[] = [];
let all: ResourceDecl[] = [];

beforeAll(async () => {
  files = await parseBicepTree(join(root, 'infra'));
  all = resources(files);
});

const file = (name: string): BicepFile => {
  const f = files.find((x) => x.path.endsWith(name));
  if (!f) throw new Error(`no ${name} in infra/`);
  return f;
};
const declared = (type: string, existing = false) =>
  all.filter((r) => r.type === type && r.existing === existing);

describe('infra/ parses', () => {
  it('has main.bicep and small modules, each free of syntax errors', () => {
    expect(files.map((f) => f.path.slice(root.length + 1)).sort()).toEqual(
      [
        'infra/main.bicep',
        'infra/modules/appStorage.bicep',
        'infra/modules/functionApp.bicep',
        'infra/modules/identity.bicep',
        'infra/modules/kusto.bicep',
        'infra/modules/landing.bicep',
        'infra/modules/landingEvents.bicep',
        'infra/modules/monitoring.bicep',
        'infra/modules/rbac.bicep',
      ].sort(),
    );
    for (const f of files) expect(syntaxErrors(f)).toEqual([]);
  });

  it('would catch a syntax error (the check is live)', async () => {
    const broken = await parseBicep(
      "resource x 'Microsoft.Web/sites@2024-04-01' = {\n  name: 'a'\n  properties: {\n",
    );
    expect(syntaxErrors({ path: 'broken.bicep', source: '', root: broken }).length).toBeGreaterThan(0);
  });

  it('uses no registry modules (restoring them needs the network)', () => {
    for (const f of files) expect(f.source).not.toMatch(/module\s+\w+\s+'br[:/]/);
  });

  it('has a bicepconfig.json with linter rules, and azure.yaml names the function service', () => {
    const config = JSON.parse(readFileSync(join(root, 'bicepconfig.json'), 'utf8')) as {
      analyzers: { core: { rules: Record<string, { level: string }> } };
    };
    expect(config.analyzers.core.rules['outputs-should-not-contain-secrets']?.level).toBe('error');
    expect(config.analyzers.core.rules['no-unused-params']?.level).toBe('error');
    const yaml = readFileSync(join(root, 'azure.yaml'), 'utf8');
    expect(yaml).toMatch(/services:\n\s+app:\n(\s+.*\n)*?\s+host: function/);
    expect(yaml).toMatch(/language: ts/);
    expect(file('main.bicep').source).toContain("'azd-service-name': 'app'");
  });
});

describe('the resources', () => {
  it('declares everything the app runs on', () => {
    const types = new Set(all.filter((r) => !r.existing).map((r) => r.type));
    for (const t of [
      'Microsoft.Resources/resourceGroups',
      'Microsoft.ManagedIdentity/userAssignedIdentities',
      'Microsoft.Web/serverfarms',
      'Microsoft.Web/sites',
      'Microsoft.Storage/storageAccounts',
      'Microsoft.Storage/storageAccounts/blobServices/containers',
      'Microsoft.Storage/storageAccounts/queueServices/queues',
      'Microsoft.OperationalInsights/workspaces',
      'Microsoft.Insights/components',
      'Microsoft.Insights/scheduledQueryRules',
      'Microsoft.Authorization/roleAssignments',
      'Microsoft.EventGrid/systemTopics',
      'Microsoft.EventGrid/systemTopics/eventSubscriptions',
      'Microsoft.Kusto/clusters',
      'Microsoft.Kusto/clusters/databases',
      'Microsoft.Kusto/clusters/databases/principalAssignments',
      'Microsoft.Kusto/clusters/databases/scripts',
    ]) {
      expect([t, types.has(t)]).toEqual([t, true]);
    }
  });

  it('runs a Flex Consumption plan with Node (version a parameter, 22 by default) and a user-assigned identity', () => {
    const [plan] = declared('Microsoft.Web/serverfarms');
    expect(text(property(plan?.body, 'sku.tier'))).toBe('FlexConsumption');
    const [site] = declared('Microsoft.Web/sites');
    expect(text(property(site?.body, 'kind'))).toBe('functionapp,linux');
    expect(text(property(site?.body, 'identity.type'))).toBe('UserAssigned');
    expect(text(property(site?.body, 'properties.functionAppConfig.runtime.name'))).toBe('node');
    expect(text(property(site?.body, 'properties.functionAppConfig.runtime.version'))).toBe('nodeVersion');
    expect(
      text(property(site?.body, 'properties.functionAppConfig.deployment.storage.authentication.type')),
    ).toBe('UserAssignedIdentity');
    expect(file('main.bicep').source).toMatch(/param nodeVersion string = '22'/);
  });

  it('creates the landing containers and queue, and keeps shared keys off on every storage account', () => {
    const landing = file('landing.bicep').source;
    expect(landing).toContain("['landing', 'landing-failed', 'landing-deadletter']");
    expect(
      declared('Microsoft.Storage/storageAccounts/queueServices/queues').map((q) =>
        text(property(q.body, 'name')),
      ),
    ).toEqual(expect.arrayContaining(['landing-events', 'landing-events-poison']));
    const accounts = declared('Microsoft.Storage/storageAccounts');
    expect(accounts).toHaveLength(2);
    for (const a of accounts) expect(text(property(a.body, 'properties.allowSharedKeyAccess'))).toBe('false');
  });

  it('has no key-based connection string anywhere, and no secret in any output', () => {
    for (const f of files) {
      expect(f.source).not.toMatch(
        /listKeys\(|AccountKey=|DefaultEndpointsProtocol|SharedAccessKey|\.listConnectionStrings\(/i,
      );
      for (const [name, value] of outputs(f)) {
        // Whole identifiers: 'insightsAssignments' is not a SAS.
        const identifiers = `${name} ${value}`.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
        const secret = identifiers.filter(
          (id) => /(key|keys|secret|password|connectionstring|sastoken)$/i.test(id) || /^sas$/i.test(id),
        );
        expect([name, secret]).toEqual([name, []]);
      }
    }
  });

  it('names main outputs in UPPER_SNAKE for azd', () => {
    for (const [name] of outputs(file('main.bicep'))) expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });
});

describe('Event Grid: landing blobs arrive as BlobCreated events on the landing-events queue', () => {
  it('filters to the landing container with a subject ending in /blobs/, and delivers with the topic identity', () => {
    const [subscription] = declared('Microsoft.EventGrid/systemTopics/eventSubscriptions');
    const body = subscription?.body;
    const subject = text(property(body, 'properties.filter.subjectBeginsWith')) ?? '';
    expect(subject).toBe('/blobServices/default/containers/landing/blobs/');
    expect(subject.endsWith('/blobs/')).toBe(true);
    expect(text(property(body, 'properties.filter.includedEventTypes'))).toContain(
      "'Microsoft.Storage.BlobCreated'",
    );
    expect(text(property(body, 'properties.eventDeliverySchema'))).toBe('EventGridSchema');
    expect(text(property(body, 'properties.deliveryWithResourceIdentity.identity.type'))).toBe(
      'SystemAssigned',
    );
    expect(text(property(body, 'properties.deliveryWithResourceIdentity.destination.endpointType'))).toBe(
      'StorageQueue',
    );
    expect(
      text(property(body, 'properties.deliveryWithResourceIdentity.destination.properties.queueName')),
    ).toBe('landing-events');
    expect(
      text(
        property(
          body,
          'properties.deadLetterWithResourceIdentity.deadLetterDestination.properties.blobContainerName',
        ),
      ),
    ).toBe('landing-deadletter');
    const [topic] = declared('Microsoft.EventGrid/systemTopics');
    expect(text(property(topic?.body, 'identity.type'))).toBe('SystemAssigned');
    // Its roles exist before the subscription: Event Grid checks them when it is created.
    expect(file('main.bicep').source).toMatch(/module landingEvents [\s\S]*?dependsOn: \[rbac\]/);
  });
});

describe('role assignments', () => {
  const rbac = () => file('rbac.bicep');

  it('use the right built-in role ids', () => {
    expect(Object.fromEntries(entries(variable(rbac(), 'roles')))).toEqual({
      storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
      storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
      storageBlobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a',
      storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
      storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a',
      storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
      monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
    });
  });

  it('live in one module as data, with deterministic names', () => {
    const assignments = declared('Microsoft.Authorization/roleAssignments');
    expect(new Set(assignments.map((a) => a.file))).toEqual(new Set([rbac().path]));
    for (const a of assignments) expect(text(property(a.body, 'name'))).toMatch(/^guid\(/);
  });

  it('give each principal what it needs, where it needs it', () => {
    const source = rbac().source;
    for (const grant of [
      /account: appStorageName, role: roles\.storageBlobDataOwner/,
      /account: appStorageName, role: roles\.storageQueueDataContributor/,
      /account: appStorageName, role: roles\.storageTableDataContributor/,
      /account: landingStorageName, role: roles\.storageBlobDataOwner/,
      /account: landingStorageName, role: roles\.storageQueueDataContributor/,
      /account: landingStorageName, role: roles\.storageBlobDelegator/,
      /union\(eventGrid, \{ account: landingStorageName, queue: 'landing-events', role: roles\.storageQueueDataMessageSender \}\)/,
      /union\(eventGrid, \{ account: landingStorageName, container: 'landing-deadletter', role: roles\.storageBlobDataContributor \}\)/,
      /union\(app, \{ role: roles\.monitoringMetricsPublisher \}\)/,
    ]) {
      expect(source).toMatch(grant);
    }
  });
});

describe('Azure Data Explorer', () => {
  it('optionally creates a dev cluster, database, Ingestor assignment for the identity and a schema script', () => {
    expect(file('main.bicep').source).toMatch(/module kusto 'modules\/kusto\.bicep' = if \(createCluster\)/);
    const [cluster] = declared('Microsoft.Kusto/clusters');
    expect(text(property(cluster?.body, 'sku.name'))).toBe('Dev(No SLA)_Standard_E2a_v4');
    expect(text(property(cluster?.body, 'properties.enableStreamingIngest'))).toBe('enableStreaming');
    const [assignment] = declared('Microsoft.Kusto/clusters/databases/principalAssignments');
    expect(text(property(assignment?.body, 'properties.role'))).toBe('Ingestor');
    expect(text(property(assignment?.body, 'properties.principalType'))).toBe('App');
    const kusto = file('kusto.bicep').source;
    expect(kusto).toContain("loadTextContent('../schema.kql')");
    expect(kusto).toMatch(/policy streamingingestion enable/);
    expect(file('main.bicep').source).toMatch(/enableStreaming: httpIngestFlavor == 'managed-streaming'/);
    expect(readFileSync(join(root, 'infra', 'schema.kql'), 'utf8')).toMatch(/^\.create-merge table /m);
  });
});

describe('app settings', () => {
  const settings = () => Object.fromEntries(entries(variable(file('functionApp.bicep'), 'appSettings')));

  it('emits every setting the app reads, and nothing it does not (besides telemetry)', () => {
    const emitted = Object.keys(settings());
    const bases = new Set(emitted.map((k) => k.split('__')[0]));
    for (const s of CONFIG_SETTINGS) expect([s, bases.has(s)]).toEqual([s, true]);
    for (const k of emitted) {
      const known =
        (CONFIG_SETTINGS as readonly string[]).includes(k.split('__')[0] ?? '') ||
        k.startsWith('APPLICATIONINSIGHTS_');
      expect([k, known]).toEqual([k, true]);
    }
    expect(emitted).not.toContain('FUNCTIONS_WORKER_RUNTIME'); // not on Flex
    expect(
      emitted.filter((k) => k.startsWith('AzureWebJobsStorage') || k.startsWith('LandingStorage')),
    ).toEqual([
      'AzureWebJobsStorage__accountName',
      'AzureWebJobsStorage__credential',
      'AzureWebJobsStorage__clientId',
      'LandingStorage__blobServiceUri',
      'LandingStorage__queueServiceUri',
      'LandingStorage__credential',
      'LandingStorage__clientId',
    ]);
  });

  it('emits the app’s own defaults where it keeps them', () => {
    const s = settings();
    for (const key of [
      'LANDING_CONTAINER',
      'LANDING_FAILED_CONTAINER',
      'LANDING_EVENTS_QUEUE',
      'LANDING_SAS_MODE',
      'STATUS_MODE',
      'SWEEP_SCHEDULE',
      'STALE_AFTER_MINUTES',
      'MAX_REQUEUE_ATTEMPTS',
    ] as const) {
      expect([key, s[key]]).toEqual([key, CONFIG_DEFAULTS[key]]);
    }
    expect(s.KUSTO_AUTH).toBe('managed-identity');
    expect(s.AzureWebJobsStorage__credential).toBe('managedidentity');
  });

  it('passes the app’s own configuration check, as deployed', () => {
    // Expressions get the kind of value Azure would put there.
    const resolved: Record<string, string> = {
      kustoIngestUri: 'https://ingest-c.westeurope.kusto.windows.net',
      kustoEngineUri: 'https://c.westeurope.kusto.windows.net',
      identityClientId: '00000000-0000-0000-0000-000000000001',
      'appStorage.name': 'stapp',
      'landingStorage.properties.primaryEndpoints.blob': 'https://stland.blob.core.windows.net/',
      'landingStorage.properties.primaryEndpoints.queue': 'https://stland.queue.core.windows.net/',
      httpIngestFlavor: 'queued',
      'insights.properties.ConnectionString': 'InstrumentationKey=x',
    };
    const env = Object.fromEntries(Object.entries(settings()).map(([k, v]) => [k, resolved[v] ?? v]));
    const config = loadConfig(env);
    expect(config).toMatchObject({
      kustoAuth: 'managed-identity',
      landingSasMode: 'user-delegation',
      appStorage: {
        kind: 'identity',
        blobServiceUri: 'https://stapp.blob.core.windows.net',
        managedIdentity: true,
      },
      landingStorage: {
        kind: 'identity',
        blobServiceUri: 'https://stland.blob.core.windows.net/',
        managedIdentity: true,
      },
    });
  });

  it('alerts on the sweep’s failure reports', () => {
    const [rule] = declared('Microsoft.Insights/scheduledQueryRules');
    expect(rule?.body.text).toContain('"event":"IngestionFailed"');
  });
});
