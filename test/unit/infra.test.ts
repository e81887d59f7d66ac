/**
 * Offline checks of infra/: the Bicep CLI cannot be installed here, so every file must parse with
 * tree-sitter-bicep, and the structure is checked against what the app needs and reads.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPLETE_APIS } from '../../shared/app/landing/blobCreated';
import { CONFIG_DEFAULTS, CONFIG_SETTINGS, loadConfig } from '../../shared/app/settings';
import { azdRemoteBuild, remoteBuildSetting } from '../helpers/azdRemoteBuild';
import { ATTR, METRIC } from '../../shared/app/telemetry/sourceTelemetry';
import { analyze } from '../../dev/standin/kql/kustoLanguage';
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
        'infra/modules/network.bicep',
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
    expect(file('functionApp.bicep').source).toContain("'azd-service-name': serviceName");
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
    // Only supported runtimes (Node 20 ended 2026-04-30), and the bundle targets the lowest of them.
    const allowed = /@allowed\(\[([^\]]*)\]\)\s*param nodeVersion/.exec(file('main.bicep').source)?.[1] ?? '';
    const versions = [...allowed.matchAll(/'(\d+)'/g)].map((m) => Number(m[1]));
    expect(versions).toEqual([22]);
    const target = /target: 'node(\d+)'/.exec(readFileSync(join(root, 'dev', 'package.mjs'), 'utf8'))?.[1];
    expect(Number(target)).toBe(Math.min(...versions));
  });

  it('creates the landing containers and queue, and keeps shared keys off on every storage account', () => {
    const landing = file('landing.bicep').source;
    expect(landing).toContain("['landing', 'landing-failed', 'landing-done', 'landing-deadletter']");
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
  it('for a Data Lake landing account, also takes renames, and only the operations that complete a file', () => {
    const [subscription] = declared('Microsoft.EventGrid/systemTopics/eventSubscriptions');
    const filter = property(subscription?.body, 'properties.filter');
    expect(text(property(filter, 'includedEventTypes'))).toMatch(
      /hierarchicalNamespace\s*\?\s*\['Microsoft\.Storage\.BlobCreated', 'Microsoft\.Storage\.BlobRenamed'\]/,
    );
    expect(text(property(filter, 'advancedFilters'))).toMatch(
      /hierarchicalNamespace[\s\S]*'data\.api'[\s\S]*completeApis/,
    );
    const events = file('modules/landingEvents.bicep');
    const apis = text(variable(events, 'completeApis')) ?? '';
    for (const api of [...COMPLETE_APIS, 'RenameFile']) expect(apis).toContain(`'${api}'`);
    expect(apis).not.toContain('CreateFile');
    const [account] = declared('Microsoft.Storage/storageAccounts').filter((r) =>
      r.file.endsWith('landing.bicep'),
    );
    expect(text(property(account?.body, 'properties.isHnsEnabled'))).toBe('hierarchicalNamespace');
    expect(file('main.bicep').source).toMatch(/param landingHierarchicalNamespace bool = false/);
  });

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

describe('role assignments: least privilege, each with its reason', () => {
  const rbac = () => file('rbac.bicep');

  // Principal, scope, built-in role: the narrowest that each piece of work needs. A later feature that needs
  // another role adds it here, with its reason.
  const LEAST_PRIVILEGE: readonly (readonly [string, string, string, string])[] = [
    [
      'app',
      'account appStorageName',
      'storageBlobDataOwner',
      'the Functions host storage by identity (the host docs require Blob Data Owner) and the deployment package',
    ],
    ['app', 'account appStorageName', 'storageTableDataContributor', 'the tracking tables'],
    ...['backfill-pages', 'backfill-pages-poison', 'backfill-items', 'backfill-items-poison'].map(
      (q) =>
        ['app', `queue appStorageName/${q}`, 'storageQueueDataContributor', 'a backfill task queue'] as const,
    ),
    ...['landing', 'landing-failed', 'landing-done'].map(
      (c) =>
        [
          'app',
          `container landingStorageName/${c}`,
          'storageBlobDataContributor',
          'read landing blobs, copy to landing-failed or landing-done, delete from landing',
        ] as const,
    ),
    [
      'app',
      'account landingStorageName',
      'storageBlobDelegator',
      'the user-delegation key that signs the read SAS (an account action; no data access)',
    ],
    ...['landing-events', 'landing-events-poison'].map(
      (q) =>
        [
          'app',
          `queue landingStorageName/${q}`,
          'storageQueueDataContributor',
          'the queue trigger (read, delete, poison) and the poison count',
        ] as const,
    ),
    [
      'app',
      'insights',
      'monitoringMetricsPublisher',
      'telemetry to Application Insights with local auth off',
    ],
    [
      'eventGrid',
      'queue landingStorageName/landing-events',
      'storageQueueDataMessageSender',
      'delivers BlobCreated events',
    ],
    [
      'eventGrid',
      'container landingStorageName/landing-deadletter',
      'storageBlobDataContributor',
      'dead-letters undeliverable events',
    ],
    [
      'deployer',
      'account landingStorageName',
      'storageBlobDataContributor',
      'tries the app by dropping files',
    ],
    ['deployer', 'account appStorageName', 'storageTableDataContributor', 'reads the tracking tables'],
    [
      'appTags',
      'container landingStorageName/landing',
      'storageBlobDataOwner',
      'LANDING_ON_SUCCESS=tag only: blob index tags need Blob Data Owner',
    ],
    [
      'kusto',
      'container landingStorageName/landing',
      'storageBlobDataReader',
      'LANDING_BLOB_AUTH=kusto-identity only: the cluster reads landing blobs itself',
    ],
  ];

  // Built-in role definition ids (facts of Azure, not of this Bicep).
  const BUILT_IN: Readonly<Record<string, string>> = {
    storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
    storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
    storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
    storageBlobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a',
    storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
    storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a',
    storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
    monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  };

  /** The assignments the Bicep declares, as principal | scope | role, each with its stated reason. */
  function declaredAssignments(f: BicepFile): { key: string; reason: string }[] {
    const list = variable(f, 'all');
    return (list?.children ?? [])
      .filter((c) => c?.type === 'object')
      .map((o) => {
        const e = Object.fromEntries(entries(o ?? undefined));
        const where =
          e.scope === 'account'
            ? `account ${e.account}`
            : e.scope === 'insights'
              ? 'insights'
              : `${e.scope} ${e.account}/${e.queue ?? e.container}`;
        return { key: `${e.principal} | ${where} | ${e.role}`, reason: e.reason ?? '' };
      });
  }
  const expected = () => LEAST_PRIVILEGE.map(([p, scope, role]) => `${p} | ${scope} | ${role}`).sort();

  it('equal the least-privilege set, each assignment saying why it is there', () => {
    const declared = declaredAssignments(rbac());
    expect(declared.map((d) => d.key).sort()).toEqual(expected());
    for (const d of declared) expect([d.key, d.reason.length > 30]).toEqual([d.key, true]);
  });

  it('are scoped to containers and queues the deployment itself makes', () => {
    const madeIn: Record<string, string> = {
      appStorageName: file('appStorage.bicep').source,
      landingStorageName: file('landing.bicep').source,
    };
    const scoped = LEAST_PRIVILEGE.map(([, scope]) => /^(?:queue|container) (\w+)\/(.+)$/.exec(scope)).filter(
      (m) => m !== null,
    );
    expect(scoped.length).toBeGreaterThan(8);
    for (const [, account = '', name = ''] of scoped)
      expect([account, name, madeIn[account]?.includes(`'${name}'`)]).toEqual([account, name, true]);
  });

  it('would catch a broader role than needed (a mutated copy)', async () => {
    const mutated = rbac().source.replace(
      "account: landingStorageName\n    role: 'storageBlobDataContributor'",
      "account: landingStorageName\n    role: 'storageBlobDataOwner'",
    );
    expect(mutated).not.toBe(rbac().source);
    const copy = { path: 'rbac.bicep', source: mutated, root: await parseBicep(mutated) };
    expect(
      declaredAssignments(copy)
        .map((d) => d.key)
        .sort(),
    ).not.toEqual(expected());
  });

  it('grant the optional roles only when their mode is chosen', () => {
    const wanted = Object.fromEntries(entries(variable(rbac(), 'wanted')));
    expect(wanted).toMatchObject({
      app: 'true',
      appTags: 'appTagsLandingBlobs',
      kusto: '!empty(kustoPrincipalId)',
      deployer: '!empty(deployerPrincipalId)',
    });
    const main = file('main.bicep').source;
    expect(main).toMatch(/appTagsLandingBlobs: landingOnSuccess == 'tag'/);
    expect(main).toMatch(/kustoPrincipalId: landingBlobAuth != 'kusto-identity'\s*\? ''/);
  });

  it('use the built-in role ids', () => {
    const roles = Object.fromEntries(entries(variable(rbac(), 'roles')));
    for (const [, , role] of LEAST_PRIVILEGE) expect([role, roles[role]]).toEqual([role, BUILT_IN[role]]);
  });

  it('live in one module as data, with deterministic names', () => {
    const assignments = declared('Microsoft.Authorization/roleAssignments');
    expect(new Set(assignments.map((a) => a.file))).toEqual(new Set([rbac().path]));
    for (const a of assignments) expect(text(property(a.body, 'name'))).toMatch(/^guid\(/);
  });

  /** The deploying principal's type, as the role assignments get it. */
  const deployerType = (f: BicepFile) => text(property(variable(f, 'principals'), 'deployer.type'));

  it("take the deploying principal's type from a parameter (a service principal in a pipeline is not a User)", async () => {
    expect(deployerType(rbac())).toBe('deployerPrincipalType');
    expect(file('main.bicep').source).toMatch(/deployerPrincipalType: principalType/);
    expect(file('main.bicep').source).toMatch(
      /@allowed\(\['User', 'ServicePrincipal', 'Group'\]\)\nparam principalType string/,
    );
    const parameters = readFileSync(join(root, 'infra', 'main.parameters.json'), 'utf8');
    expect(parameters).toContain('"principalType": { "value": "${AZURE_PRINCIPAL_TYPE=User}" }');
    const hardCoded = rbac().source.replace('type: deployerPrincipalType', "type: 'User'");
    expect(
      deployerType({ path: 'rbac.bicep', source: hardCoded, root: await parseBicep(hardCoded) }),
    ).not.toBe('deployerPrincipalType');
  });
});

describe('fit to deploy with azd', () => {
  /** Every place 'azd-service-name' is set, by the resource whose tags carry it ('module' when passed to one). */
  function serviceTagHolders(fs: readonly BicepFile[]): string[] {
    const holders: string[] = [];
    for (const f of fs) {
      const count = f.source.split("'azd-service-name'").length - 1;
      const inResources = resources([f]).filter((r) =>
        text(property(r.body, 'tags'))?.includes('azd-service-name'),
      );
      holders.push(...inResources.map((r) => r.type));
      for (let i = inResources.length; i < count; i++) holders.push('module');
    }
    return holders;
  }

  it('tags only the site azd-service-name (azd before 1.23.4 refuses two resources with it)', () => {
    expect(serviceTagHolders(files)).toEqual(['Microsoft.Web/sites']);
    const main = file('main.bicep');
    const old = main.source.replace(
      "    tags: tags\n    serviceName: 'app'",
      "    tags: union(tags, { 'azd-service-name': 'app' })\n    serviceName: 'app'",
    );
    expect(old).not.toBe(main.source);
    const mutated = files.map((f) => (f === main ? { ...f, source: old } : f));
    expect(serviceTagHolders(mutated)).not.toEqual(['Microsoft.Web/sites']);
  });

  it('fails in the template itself, before anything is created, when no cluster is made or named (fail())', () => {
    const main = file('main.bicep');
    expect(text(variable(main, 'clusterNamed'))).toBe('createCluster || !empty(existingIngestUri)');
    const [group] = declared('Microsoft.Resources/resourceGroups');
    const name = text(property(group?.body, 'name')) ?? '';
    expect(name).toMatch(/^clusterNamed\s*\?\s*names\.resourceGroup\s*:\s*fail\('No Kusto cluster: /);
    expect(name).toContain('KUSTO_CREATE_CLUSTER');
    expect(name).toContain('KUSTO_INGEST_URI');
    // Everything else lives in that resource group: no module is deployed without it.
    const modules = main.source.match(/^module \w+ '[^']+'/gm) ?? [];
    const scoped = main.source.match(/^module \w+ '[^']+'[^\n]*\{\n\s+scope: rg\n/gm) ?? [];
    expect(modules.length).toBeGreaterThan(5);
    expect(scoped.length).toBe(modules.length);
  });

  it('stops before provisioning when no cluster is named, saying which setting to give', () => {
    const hook = (env: Record<string, string>) =>
      spawnSync(process.execPath, [join(root, 'infra', 'hooks', 'preprovision.mjs')], {
        env: { PATH: process.env.PATH ?? '', ...env },
        encoding: 'utf8',
      });
    // The defaults of main.parameters.json: no new cluster, no ingest URI.
    const defaults = hook({ KUSTO_CREATE_CLUSTER: 'false', KUSTO_INGEST_URI: '' });
    expect(defaults.status).toBe(1);
    expect(defaults.stderr).toMatch(/KUSTO_CREATE_CLUSTER true/);
    expect(defaults.stderr).toMatch(/KUSTO_INGEST_URI https:\/\/ingest-/);
    expect(hook({ KUSTO_CREATE_CLUSTER: 'true' }).status).toBe(0);
    expect(hook({ KUSTO_INGEST_URI: 'https://ingest-c.westeurope.kusto.windows.net' }).status).toBe(0);
    expect(hook({ KUSTO_INGEST_URI: 'https://c.westeurope.kusto.windows.net' }).stderr).toMatch(
      /not a cluster's ingest endpoint/,
    );
    const parameters = readFileSync(join(root, 'infra', 'main.parameters.json'), 'utf8');
    expect(parameters).toContain('"createCluster": { "value": "${KUSTO_CREATE_CLUSTER=false}" }');
    expect(parameters).toContain('"existingIngestUri": { "value": "${KUSTO_INGEST_URI=}" }');
    expect(readFileSync(join(root, 'azure.yaml'), 'utf8')).toMatch(
      /preprovision:\n\s+posix: \{ shell: sh, run: node infra\/hooks\/preprovision\.mjs \}/,
    );
  });

  it('deploys the package step builds (no remote build, no node_modules of the developer)', () => {
    const yaml = readFileSync(join(root, 'azure.yaml'), 'utf8');
    expect(yaml).toMatch(/dist: \.package\n/);
    expect(yaml).toMatch(/prepackage:\n\s+posix: \{ shell: sh, run: npm run package \}/);
    expect(remoteBuildSetting(yaml)).toBe(false);
  });

  it("is a configuration today's azd deploys: its remoteBuild against the project folder's .funcignore", () => {
    const yaml = readFileSync(join(root, 'azure.yaml'), 'utf8');
    expect(/^\s+project: \.\s*$/m.test(yaml)).toBe(true); // the ignore file azd reads is the root's
    const funcignore = readFileSync(join(root, '.funcignore'), 'utf8');
    expect(azdRemoteBuild(funcignore, remoteBuildSetting(yaml))).toEqual({ remoteBuild: false });
  });

  // The rule as azd applies it, each case from its source and tests, so a change of either file is judged
  // as azd would judge it.
  it.each([
    ['no ignore file, unset', undefined, undefined, { remoteBuild: true }],
    ['no ignore file, false', undefined, false, { remoteBuild: false }],
    ['node_modules excluded, unset', 'node_modules\n', undefined, { remoteBuild: true }],
    ['node_modules kept, unset', 'dist\n', undefined, { remoteBuild: false }],
    [
      'node_modules excluded, false',
      'node_modules\n',
      false,
      { error: "'remoteBuild: false' cannot be used" },
    ],
    ['node_modules kept, true', 'dist\n', true, { error: "'remoteBuild: true' requires" }],
    [
      'a BOM before node_modules, false',
      '\uFEFFnode_modules\n',
      false,
      { error: "'remoteBuild: false' cannot" },
    ],
    ['/node_modules, false', '/node_modules\n', false, { error: "'remoteBuild: false' cannot" }],
    ['node_modules/, false', 'node_modules/\n', false, { error: "'remoteBuild: false' cannot" }],
    ['**/node_modules, false', '**/node_modules\n', false, { error: "'remoteBuild: false' cannot" }],
    ['node_modules/**, false', 'node_modules/**\n', false, { error: "'remoteBuild: false' cannot" }],
    ['CRLF lines, false', 'dist\r\nnode_modules\r\n', false, { error: "'remoteBuild: false' cannot" }],
    [
      'node_modules re-included by a negation, false',
      'node_modules\n!node_modules\n',
      false,
      { remoteBuild: false },
    ],
    ['node_modules in a comment, false', '# node_modules\n', false, { remoteBuild: false }],
  ])("applies azd's rule: %s", (_name, funcignore, remoteBuild, expected) => {
    const result = azdRemoteBuild(funcignore, remoteBuild);
    if ('error' in expected)
      expect(result).toEqual({ error: expect.stringContaining(expected.error) as unknown });
    else expect(result).toEqual(expected);
  });

  /** What Application Insights keeps of failure reports: they are trace lines, so traces must not be sampled. */
  const tracesUnsampled = (hostJson: string) => {
    const settings = (
      JSON.parse(hostJson) as {
        logging: {
          applicationInsights: { samplingSettings: { isEnabled: boolean; excludedTypes?: string } };
        };
      }
    ).logging.applicationInsights.samplingSettings;
    return !settings.isEnabled || (settings.excludedTypes ?? '').split(';').includes('Trace');
  };

  it('never samples out a failure report', () => {
    const hostJson = readFileSync(join(root, 'host.json'), 'utf8');
    expect(tracesUnsampled(hostJson)).toBe(true);
    expect(tracesUnsampled(hostJson.replace('Request;Exception;Trace', 'Request;Exception'))).toBe(false);
  });

  it('alerts on every failure report its query counts, and says so in its description', () => {
    const [rule] = declared('Microsoft.Insights/scheduledQueryRules');
    const query = text(property(rule?.body, 'properties.criteria'));
    const description = text(property(rule?.body, 'properties.description')) ?? '';
    for (const event of ['IngestionFailed', 'IngestionStuck', 'IngestionAbandoned', 'LandingRejected']) {
      expect([event, query?.includes(`"event":"${event}"`)]).toEqual([event, true]);
      expect([event, description.includes(event)]).toEqual([event, true]);
    }
  });

  it('offers only Flex Consumption regions, as azd location metadata', () => {
    const main = file('main.bicep').source;
    expect(main).toMatch(/@metadata\(\{ azd: \{ type: 'location' \} \}\)\nparam location string/);
    const allowed =
      /@allowed\(\[([^\]]*)\]\)\n@metadata\(\{ azd: \{ type: 'location' \} \}\)/.exec(main)?.[1] ?? '';
    expect(allowed.match(/'[a-z0-9]+'/g)?.length).toBeGreaterThan(25);
    expect(allowed).toContain("'westeurope'");
    expect(allowed).not.toContain("'chinanorth3'");
  });

  it('turns off FTP and basic-auth publishing, and storage defaults to Entra sign-in', () => {
    const [site] = declared('Microsoft.Web/sites');
    expect(text(property(site?.body, 'properties.siteConfig.ftpsState'))).toBe('Disabled');
    const policies = declared('Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(
      policies
        .map((p) => [text(property(p.body, 'name')), text(property(p.body, 'properties.allow'))])
        .sort(),
    ).toEqual([
      ['ftp', 'false'],
      ['scm', 'false'],
    ]);
    for (const a of declared('Microsoft.Storage/storageAccounts'))
      expect(text(property(a.body, 'properties.defaultToOAuthAuthentication'))).toBe('true');
  });

  it('names outputs as azd and its pipelines expect, without taking AZURE_CLIENT_ID', () => {
    const names = outputs(file('main.bicep')).map(([n]) => n);
    expect(names).toContain('AZURE_RESOURCE_GROUP');
    expect(names).toContain('APP_IDENTITY_CLIENT_ID');
    expect(names).not.toContain('AZURE_CLIENT_ID');
    expect(names).not.toContain('RESOURCE_GROUP');
  });

  /**
   * Types whose newest non-preview API version is more than two years old, with that version and where it
   * was read (Azure/azure-rest-api-specs: the newest folder under `stable/`; newer ones are `-preview`).
   * Using exactly this version is allowed; an older one is not.
   */
  const NEWEST_STABLE: Readonly<Record<string, { version: string; source: string }>> = {
    'Microsoft.Authorization/roleAssignments': {
      version: '2022-04-01',
      source: 'specification/authorization/.../Microsoft.Authorization/stable/2022-04-01 (later: previews)',
    },
    'Microsoft.Insights/components': {
      version: '2020-02-02',
      source: 'specification/applicationinsights/.../Microsoft.Insights/stable/2020-02-02 (later: previews)',
    },
    'Microsoft.Insights/actionGroups': {
      version: '2023-01-01',
      source:
        'specification/monitor/resource-manager/Microsoft.Insights/stable/2023-01-01/actionGroups_API.json (later: 2023-09-01-preview, 2024-10-01-preview)',
    },
    'Microsoft.Insights/scheduledQueryRules': {
      version: '2023-12-01',
      source: 'specification/monitor/.../Microsoft.Insights/stable/2023-12-01 (later: 2025-01-01-preview)',
    },
    'Microsoft.Insights/workbooks': {
      version: '2023-06-01',
      source: 'specification/applicationinsights/.../Microsoft.Insights/stable/2023-06-01 (later: previews)',
    },
    'Microsoft.ManagedIdentity/userAssignedIdentities': {
      version: '2024-11-30',
      source:
        'specification/msi/resource-manager/Microsoft.ManagedIdentity/stable/2024-11-30 (later: 2025-01-31-preview, 2025-05-31-preview)',
    },
    'Microsoft.Network/privateDnsZones': {
      version: '2024-06-01',
      source:
        'specification/privatedns/resource-manager/Microsoft.Network/PrivateDns: 2024-06-01, then 2026-06-01-preview',
    },
    'Microsoft.Network/privateDnsZones/virtualNetworkLinks': {
      version: '2024-06-01',
      source: 'as privateDnsZones (the same spec)',
    },
  };

  /** Two years before `now`, as an API version string compares (YYYY-MM-DD). */
  const twoYearsBefore = (now: Date) =>
    new Date(Date.UTC(now.getUTCFullYear() - 2, now.getUTCMonth(), now.getUTCDate()))
      .toISOString()
      .slice(0, 10);

  /** The resources whose API version is older than two years and not the newest non-preview of its type. */
  const stale = (resources: readonly { type: string; apiVersion: string }[], now: Date) =>
    resources
      .filter((r) => r.apiVersion.slice(0, 10) < twoYearsBefore(now))
      .filter((r) => NEWEST_STABLE[r.type]?.version !== r.apiVersion)
      .map((r) => `${r.type}@${r.apiVersion}`);

  it('uses no API version older than two years, unless it is the newest non-preview of its type', () => {
    expect(all.length).toBeGreaterThan(30);
    // When this fails on its own one day, the version has aged: move to the type's newest stable version, or
    // list it above (with where it was read) if there is none newer.
    expect(stale(all, new Date())).toEqual([]);
    expect(all.some((r) => r.apiVersion.includes('preview'))).toBe(false);
  });

  it('would catch an aged version, and allows only the exact newest stable one of a listed type', () => {
    const now = new Date('2026-12-07T00:00:00Z');
    expect(
      stale(
        [
          { type: 'Microsoft.Web/sites', apiVersion: '2024-04-01' },
          { type: 'Microsoft.Web/sites', apiVersion: '2025-03-01' },
          { type: 'Microsoft.Insights/components', apiVersion: '2020-02-02' },
          { type: 'Microsoft.Insights/components', apiVersion: '2015-05-01' },
        ],
        now,
      ),
    ).toEqual(['Microsoft.Web/sites@2024-04-01', 'Microsoft.Insights/components@2015-05-01']);
  });
});

describe('Azure Data Explorer', () => {
  it('optionally creates a dev cluster, database, Ingestor assignment for the identity and a schema script', () => {
    expect(file('main.bicep').source).toMatch(/module kusto 'modules\/kusto\.bicep' = if \(createCluster\)/);
    const [cluster] = declared('Microsoft.Kusto/clusters');
    expect(text(property(cluster?.body, 'sku.name'))).toBe('Dev(No SLA)_Standard_E2a_v4');
    expect(text(property(cluster?.body, 'properties.enableStreamingIngest'))).toBe('enableStreaming');
    const [assignment, monitor] = declared('Microsoft.Kusto/clusters/databases/principalAssignments');
    expect(text(property(assignment?.body, 'properties.role'))).toBe('Ingestor');
    expect(text(property(assignment?.body, 'properties.principalType'))).toBe('App');
    // failures-only reads .show ingestion failures: Monitor, only then, after the Ingestor assignment.
    expect(text(property(monitor?.body, 'properties.role'))).toBe('Monitor');
    const kusto = file('kusto.bicep').source;
    expect(kusto).toMatch(/resource monitor '[^']+' = if \(grantMonitor\)[\s\S]*?dependsOn: \[ingestor\]/);
    expect(file('main.bicep').source).toMatch(/grantMonitor: statusMode == 'failures-only'/);
    expect(file('main.bicep').source).toMatch(
      /@allowed\(\['table', 'queue', 'failures-only'\]\)\s*param statusMode string = 'table'/,
    );
    expect(file('functionApp.bicep').source).toMatch(/STATUS_MODE: statusMode/);
    // The schema script waits for the principal assignments: the provider refuses parallel database operations.
    expect(kusto).toMatch(/resource schema [\s\S]*?dependsOn: \[ingestor, monitor\]/);
    expect(kusto).toContain("loadTextContent('../schema.kql')");
    expect(kusto).toMatch(/policy streamingingestion enable/);
    expect(file('main.bicep').source).toMatch(/enableStreaming: httpIngestFlavor == 'managed-streaming'/);
    expect(readFileSync(join(root, 'infra', 'schema.kql'), 'utf8')).toMatch(/^\.create-merge table /m);
  });
});

describe('landing after success, and the cluster reading landing blobs itself', () => {
  it('lets the cluster read with its own identity where kusto-identity is chosen: the NativeIngestion policy in the script', () => {
    const [cluster] = declared('Microsoft.Kusto/clusters');
    expect(text(property(cluster?.body, 'identity.type'))).toBe('SystemAssigned');
    const kusto = file('kusto.bicep').source;
    expect(kusto).toMatch(
      /allowIdentityIngestion\s*\?\s*'\\n\.alter-merge database \[\\'\$\{databaseName\}\\'\] policy managed_identity "\[\{\\'ObjectId\\': \\'system\\', \\'AllowedUsages\\': \\'NativeIngestion\\'\}\]"/,
    );
    expect(kusto).toContain('${streamingPolicy}${identityPolicy}');
    expect(kusto).toMatch(/output principalId string = cluster\.identity\.principalId/);
    const main = file('main.bicep').source;
    expect(main).toMatch(/allowIdentityIngestion: landingBlobAuth == 'kusto-identity'/);
    // account-key cannot work in Azure: the landing account has shared keys off.
    expect(main).toMatch(/@allowed\(\['user-delegation', 'kusto-identity'\]\)\s*param landingBlobAuth/);
  });

  it('expires landing-done blobs by a lifecycle rule only when a retention is given', () => {
    const [policy] = declared('Microsoft.Storage/storageAccounts/managementPolicies');
    expect(policy?.file).toMatch(/landing\.bicep$/);
    const landing = file('landing.bicep').source;
    expect(landing).toMatch(/resource lifecycle '[^']+' = if \(doneRetentionDays > 0\)/);
    const rule = text(property(policy?.body, 'properties.policy.rules'));
    expect(rule).toContain("prefixMatch: ['landing-done/']");
    expect(rule).toContain('daysAfterModificationGreaterThan: doneRetentionDays');
    expect(file('main.bicep').source).toMatch(/doneRetentionDays: landingDoneRetentionDays/);
  });

  it('passes the success and failure webhooks as secure parameters from the azd environment', () => {
    const main = file('main.bicep').source;
    for (const name of ['successWebhookUrl', 'failureWebhookUrl'])
      expect(main).toMatch(
        new RegExp(`@secure\\(\\)\\s*@description\\([^\\n]+\\)\\s*param ${name} string = ''`),
      );
    const parameters = readFileSync(join(root, 'infra', 'main.parameters.json'), 'utf8');
    expect(parameters).toContain('"successWebhookUrl": { "value": "${SUCCESS_WEBHOOK_URL=}" }');
    expect(parameters).toContain('"landingOnSuccess": { "value": "${LANDING_ON_SUCCESS=keep}" }');
    expect(parameters).toContain('"landingBlobAuth": { "value": "${LANDING_BLOB_AUTH=user-delegation}" }');
  });
});

describe('the private network option (vnetEnabled)', () => {
  const squash = (t: string | undefined) => (t ?? '').replace(/\s+/g, ' ').trim();

  it('puts every network resource in one module that exists only with vnetEnabled', () => {
    const main = file('main.bicep').source;
    expect(main).toMatch(/param vnetEnabled bool = false/);
    expect(main).toMatch(/module network 'modules\/network\.bicep' = if \(vnetEnabled\)/);
    const networkTypes = all.filter((r) => !r.existing && r.type.startsWith('Microsoft.Network/'));
    expect(networkTypes.map((r) => r.type).sort()).toEqual([
      'Microsoft.Network/natGateways',
      'Microsoft.Network/privateDnsZones',
      'Microsoft.Network/privateDnsZones/virtualNetworkLinks',
      'Microsoft.Network/privateEndpoints',
      'Microsoft.Network/privateEndpoints/privateDnsZoneGroups',
      'Microsoft.Network/publicIPAddresses',
      'Microsoft.Network/virtualNetworks',
    ]);
    expect([...new Set(networkTypes.map((r) => r.file.slice(root.length + 1)))]).toEqual([
      'infra/modules/network.bicep',
    ]);
    // What the network module's outputs feed is itself conditioned on the flag.
    expect(main).toMatch(/virtualNetworkSubnetId: vnetEnabled \? network\.outputs\.appSubnetId : ''/);
    expect(main).toMatch(/landingStorageId: vnetEnabled \? landing\.outputs\.id : ''/);
    expect(main).toMatch(/output APP_OUTBOUND_IP string = vnetEnabled \? network\.outputs\.natPublicIp : ''/);
    const [mpe] = declared('Microsoft.Kusto/clusters/managedPrivateEndpoints');
    expect(mpe?.file).toMatch(/kusto\.bicep$/);
    expect(file('kusto.bicep').source).toMatch(
      /resource landingEndpoint '[^']+' = if \(!empty\(landingStorageId\)\)/,
    );
    expect(text(property(mpe?.body, 'properties.groupId'))).toBe('blob');
  });

  it('integrates the app into a delegated subnet that goes out through a NAT gateway, with private endpoints and DNS zones for the storage it uses', () => {
    const [vnet] = declared('Microsoft.Network/virtualNetworks');
    const subnets = text(property(vnet?.body, 'properties.subnets')) ?? '';
    expect(subnets).toContain("serviceName: 'Microsoft.App/environments'");
    expect(subnets).toContain('natGateway: { id: nat.id }');
    expect(subnets.match(/defaultOutboundAccess: false/g)?.length).toBe(2);
    expect(declared('Microsoft.Network/natGateways')).toHaveLength(1);
    const network = file('network.bicep').source;
    // Zone names from this cloud's suffix: no cloud's host name written down.
    expect(network).toContain("name: 'privatelink.${service}.${environment().suffixes.storage}'");
    expect(network).not.toMatch(/core\.windows\.net|chinacloudapi|usgovcloudapi/);
    expect(text(variable(file('network.bicep'), 'services'))).toBe("['blob', 'queue', 'table']");
    const endpoints = squash(text(variable(file('network.bicep'), 'endpoints')));
    for (const [account, service] of [
      ['appStorage', 'blob'],
      ['appStorage', 'queue'],
      ['appStorage', 'table'],
      ['landingStorage', 'blob'],
      ['landingStorage', 'queue'],
    ])
      expect(endpoints).toContain(
        `{ account: ${account}.id, accountName: ${account}.name, service: '${service}'`,
      );
    expect(declared('Microsoft.Network/privateDnsZones/virtualNetworkLinks')).toHaveLength(1);
    expect(declared('Microsoft.Network/privateEndpoints/privateDnsZoneGroups')).toHaveLength(1);
    const [site] = declared('Microsoft.Web/sites');
    expect(text(property(site?.body, 'properties.virtualNetworkSubnetId'))).toBe(
      'empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId',
    );
  });

  it("closes the app's account, keeps the landing account behind its firewall with the trusted-services bypass, and changes neither when off", () => {
    const accounts = declared('Microsoft.Storage/storageAccounts');
    const acls = (fileName: string) =>
      squash(text(property(accounts.find((a) => a.file.endsWith(fileName))?.body, 'properties.networkAcls')));
    const access = (fileName: string) =>
      text(property(accounts.find((a) => a.file.endsWith(fileName))?.body, 'properties.publicNetworkAccess'));
    expect(access('appStorage.bicep')).toBe("privateNetwork ? 'Disabled' : 'Enabled'");
    expect(acls('appStorage.bicep')).toBe(
      "privateNetwork ? { defaultAction: 'Deny', bypass: 'None' } : { defaultAction: 'Allow', bypass: 'AzureServices' }",
    );
    expect(access('landing.bicep')).toBe('Enabled');
    expect(acls('landing.bicep')).toMatch(
      /^privateNetwork \? \{ defaultAction: 'Deny' bypass: 'AzureServices' ipRules: .*\} : \{ defaultAction: 'Allow', bypass: 'AzureServices' \}$/,
    );
    expect(acls('landing.bicep')).toContain(
      "ipRules: [for range in allowedIpRanges: { value: range, action: 'Allow' }]",
    );
    const main = squash(file('main.bicep').source);
    expect(main.match(/privateNetwork: vnetEnabled/g)?.length).toBe(2);
    // The uploaders' addresses: one azd setting, a comma list.
    expect(main).toContain(
      "allowedIpRanges: empty(landingAllowedIpRanges) ? [] : map(split(landingAllowedIpRanges, ','), r => trim(r))",
    );
    expect(readFileSync(join(root, 'infra', 'main.parameters.json'), 'utf8')).toContain(
      '"landingAllowedIpRanges": { "value": "${LANDING_ALLOWED_IP_RANGES=}" }',
    );
  });

  it('makes the scale settings parameters with the values they had', () => {
    const main = file('main.bicep').source;
    expect(main).toMatch(/param maximumInstanceCount int = 100/);
    expect(main).toMatch(/param instanceMemoryMB int = 2048/);
    expect(main).toMatch(/param alwaysReadyHttp int = 0/);
    const [site] = declared('Microsoft.Web/sites');
    expect(squash(text(property(site?.body, 'properties.functionAppConfig.scaleAndConcurrency')))).toBe(
      "{ maximumInstanceCount: maximumInstanceCount instanceMemoryMB: instanceMemoryMB alwaysReady: alwaysReadyHttp > 0 ? [{ name: 'http', instanceCount: alwaysReadyHttp }] : [] }",
    );
  });
});

describe('operator sign-in', () => {
  it('leaves built-in authentication off (no authsettingsV2, no token store): the app checks operators itself', () => {
    expect(declared('Microsoft.Web/sites/config')).toEqual([]);
    expect(file('functionApp.bicep').source).not.toMatch(/authsettings|tokenStore/);
  });

  it("sets OPERATOR_AUTH entra with the tenant, the registration and the cloud's authority when given a registration", () => {
    const source = file('functionApp.bicep').source;
    expect(source).toMatch(/OPERATOR_AUTH: empty\(operatorClientId\) \? 'key' : 'entra'/);
    expect(source).toContain('OPERATOR_TENANT_ID: tenant().tenantId');
    expect(source).toContain('OPERATOR_CLIENT_ID: operatorClientId');
    expect(source).toContain('OPERATOR_AUTHORITY: environment().authentication.loginEndpoint');
    expect(file('main.bicep').source).toMatch(/operatorClientId: operatorClientId/);
    expect(readFileSync(join(root, 'infra', 'main.parameters.json'), 'utf8')).toContain(
      '"operatorClientId": { "value": "${OPERATOR_CLIENT_ID=}" }',
    );
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
      'LANDING_KUSTO_IDENTITY',
      'LANDING_DONE_CONTAINER',
      'LANDING_DEADLETTER_CONTAINER',
      'BACKFILL_PAGES_QUEUE',
      'BACKFILL_ITEMS_QUEUE',
      'SETTLE_MARGIN_MINUTES',
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
      ingestProtocol: 'auto',
      statusMode: 'failures-only',
      landingBlobAuth: 'user-delegation',
      landingOnSuccess: 'keep',
      successWebhookUrl: '',
      failureWebhookUrl: '',
      "empty(operatorClientId) ? 'key' : 'entra'": 'entra',
      'tenant().tenantId': '72f988bf-86f1-41af-91ab-2d7cd011db47',
      operatorClientId: '6a5820b9-fdf6-4cc4-81b9-b416b444fd6d',
      'environment().authentication.loginEndpoint': 'https://login.microsoftonline.com/',
      'insights.properties.ConnectionString': 'InstrumentationKey=x',
    };
    const env = Object.fromEntries(Object.entries(settings()).map(([k, v]) => [k, resolved[v] ?? v]));
    const config = loadConfig(env);
    expect(config).toMatchObject({
      kustoAuth: 'managed-identity',
      statusMode: 'failures-only', // the strictest mode: it needs the engine URI, which is emitted
      ingestProtocol: 'auto',
      v2EngineUri: 'https://c.westeurope.kusto.windows.net',
      landingBlobAuth: 'user-delegation',
      landingOnSuccess: 'keep',
      warnings: [],
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

describe('telemetry in Azure: the workbook and the alerts', () => {
  const metricNames = new Set<string>(Object.values(METRIC));
  const attributeNames = new Set<string>(Object.values(ATTR));
  /** The kif.* metric names a query reads; any other kif.* name must be an attribute the app sets. */
  const metricsIn = (query: string) =>
    [...query.matchAll(/'(kif\.[a-z_.]+)'/g)]
      .map((m) => m[1] ?? '')
      .filter((name) => {
        if (attributeNames.has(name)) return false;
        expect([name, metricNames.has(name)]).toEqual([name, true]);
        return true;
      });
  /** Kusto's parser checks each query's syntax (the Application Insights tables are not known to it). */
  const parses = (query: string) => {
    expect(() => analyze(query, 'insights', [], false)).not.toThrow();
  };
  const unescape = (bicepString: string) => bicepString.replace(/\\'/g, "'");

  it('deploys the workbook from workbook.json, whose queries parse and read only metrics the app exports', () => {
    const [workbook] = declared('Microsoft.Insights/workbooks');
    expect(text(property(workbook?.body, 'properties.serializedData'))).toBe(
      "loadTextContent('workbook.json')",
    );
    const content = JSON.parse(readFileSync(join(root, 'infra', 'modules', 'workbook.json'), 'utf8')) as {
      items: { type: number; name: string; content: { query?: string } }[];
    };
    const queries = content.items
      .filter((i) => i.type === 3)
      .map((i) => [i.name, i.content.query ?? ''] as const);
    expect(queries.map(([name]) => name)).toEqual([
      'throughput',
      'bytes',
      'successRate',
      'failures',
      'latency',
      'open',
      'poison',
    ]);
    const read = new Set<string>();
    for (const [name, query] of queries) {
      parses(query.replace(/\{TimeRange\}/g, '> ago(1d)'));
      for (const m of metricsIn(query)) {
        expect([name, m, metricNames.has(m)]).toEqual([name, m, true]);
        read.add(m);
      }
    }
    for (const m of [
      METRIC.accepted,
      METRIC.queued,
      METRIC.succeeded,
      METRIC.failed,
      METRIC.open,
      METRIC.oldestOpenAge,
      METRIC.stuck,
      METRIC.poison,
      METRIC.bytes,
    ])
      expect([m, read.has(m)]).toEqual([m, true]);
    // Percentiles come from the final spans, which carry the latency (Application Insights keeps no histogram).
    expect(queries.find(([n]) => n === 'latency')?.[1]).toContain(ATTR.timeToFinal);
  });

  it('alerts on stuck sources, a growing poison queue and the oldest open source, each query parsing', () => {
    const alerts = (variable(file('monitoring.bicep'), 'metricAlerts')?.children ?? [])
      .filter((c) => c?.type === 'object')
      .map((o) => Object.fromEntries(entries(o ?? undefined)));
    expect(alerts.map((a) => a.name).sort()).toEqual([
      'alert-oldest-open-source',
      'alert-poison-growing',
      'alert-sources-stuck',
    ]);
    const watched = alerts.flatMap((a) => {
      const query = unescape(a.query ?? '').replace('${oldestOpenAlertMinutes * 60}', '3600');
      parses(query);
      return metricsIn(query);
    });
    expect(watched.sort()).toEqual([METRIC.oldestOpenAge, METRIC.poison, METRIC.stuck].sort());
    // Every rule of the module reaches the action group, the failure-report rule included.
    const rules = declared('Microsoft.Insights/scheduledQueryRules');
    expect(rules).toHaveLength(2); // the failure reports, and the loop over metricAlerts
    for (const r of rules) expect(text(property(r.body, 'properties.actions'))).toContain('actionGroup.id');
  });
});
