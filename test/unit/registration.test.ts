/**
 * What the Functions host will see: every file the package.json `main` glob matches is loaded (as the
 * worker does), against a stand-in for `@azure/functions-core` that records each registration.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { OPERATOR_FUNCTIONS } from '../../shared/app/http/operatorEndpoints';
import { FUNCTION_NAMES } from '../helpers/functionNames';

interface Binding {
  type: string;
  direction: string;
  [key: string]: unknown;
}
interface Registered {
  name: string;
  bindings: Record<string, Binding>;
}

const mockRegistered: Registered[] = [];
const mockSetup: unknown[] = [];
jest.mock(
  '@azure/functions-core',
  () => ({
    setProgrammingModel: jest.fn(),
    registerFunction: jest.fn((metadata: Registered) => {
      mockRegistered.push(metadata);
      return { dispose: () => undefined };
    }),
    registerHook: jest.fn(() => ({ dispose: () => undefined })),
    log: jest.fn(),
    capabilities: {},
    setHttpStreamCapability: (...args: unknown[]) => mockSetup.push(args),
  }),
  { virtual: true },
);

const root = join(__dirname, '..', '..');

function mainFiles(): string[] {
  const main = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string }).main;
  const dir = main.slice(0, main.lastIndexOf('/'));
  if (!existsSync(join(root, dir)))
    throw new Error(`${dir} does not exist: run npm run build first (npm test does).`);
  const isMatch = picomatch(main);
  return readdirSync(join(root, dir))
    .map((f) => `${dir}/${f}`)
    .filter((f) => isMatch(f));
}

function trigger(name: string): Binding {
  const fn = mockRegistered.find((r) => r.name === name);
  if (!fn) throw new Error(`function ${name} was not registered`);
  const binding = Object.values(fn.bindings).find((b) => b.direction === 'in' && b.type.endsWith('Trigger'));
  if (!binding) throw new Error(`function ${name} has no trigger`);
  return binding;
}

describe('the compiled app, as the Functions host loads it', () => {
  beforeAll(() => {
    const env = { ...process.env };
    delete process.env.SWEEP_SCHEDULE;
    delete process.env.LANDING_EVENTS_QUEUE;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    for (const file of mainFiles()) require(join(root, file));
    process.env = env;
  });

  it('matches one compiled file per function with the main glob', () => {
    expect(mainFiles().sort()).toEqual([...FUNCTION_NAMES].map((f) => `dist/functions/${f}.js`));
  });

  it('registers every function once, with the intended triggers', () => {
    expect(mockRegistered.map((r) => r.name).sort()).toEqual([...FUNCTION_NAMES]);
    expect(trigger('ingestLanding')).toMatchObject({
      type: 'queueTrigger',
      queueName: 'landing-events',
      connection: 'LandingStorage',
    });
    expect(trigger('ingestHttp')).toMatchObject({
      type: 'httpTrigger',
      methods: ['POST'],
      authLevel: 'function',
      route: 'ingest/{database}/{table}',
    });
    expect(trigger('ingestBlobs')).toMatchObject({
      type: 'httpTrigger',
      methods: ['POST'],
      authLevel: 'function',
      route: 'ingest/{database}/{table}/blobs',
    });
    expect(trigger('ingestStatus')).toMatchObject({
      type: 'httpTrigger',
      methods: ['GET'],
      authLevel: 'function',
      route: 'ingest/status/{sourceId}',
    });
    // The operator functions take the host's master key (auth level admin), never the ingestion callers'
    // function keys: OPERATOR_AUTH=entra makes them anonymous to the host (the app checks tokens then).
    for (const [name, method, route] of [
      ['ingestList', 'GET', 'ingest'],
      ['ingestRetry', 'POST', 'ingest/status/{sourceId}/retry'],
      ['ingestRetryMany', 'POST', 'ingest/retry'],
      ['landingReplay', 'POST', 'landing/replay'],
      ['ingestSummary', 'GET', 'ingest/summary'],
      ['operatorAudit', 'GET', 'operator/audit'],
      ['console', 'GET', 'console'],
      ['backfillStart', 'POST', 'backfill'],
      ['backfillStatus', 'GET', 'backfill/{jobId}'],
      ['backfillCancel', 'DELETE', 'backfill/{jobId}'],
      ['backfillBlobs', 'GET', 'backfill/{jobId}/blobs'],
      ['backfillFailures', 'GET', 'backfill/{jobId}/failures'],
    ] as const)
      expect([name, trigger(name)]).toEqual([
        name,
        expect.objectContaining({ type: 'httpTrigger', methods: [method], authLevel: 'admin', route }),
      ]);
    expect(trigger('consoleAssets')).toMatchObject({
      type: 'httpTrigger',
      methods: ['GET'],
      authLevel: 'anonymous',
      route: 'console/assets/{name}',
    });
    for (const [name, queueName] of [
      ['backfillPage', 'backfill-pages'],
      ['backfillItem', 'backfill-items'],
    ] as const)
      expect(trigger(name)).toMatchObject({
        type: 'queueTrigger',
        queueName,
        connection: 'AzureWebJobsStorage',
      });
    expect(trigger('health')).toMatchObject({
      type: 'httpTrigger',
      methods: ['GET'],
      authLevel: 'anonymous',
      route: 'health',
    });
    expect(trigger('sweepStatus')).toMatchObject({
      type: 'timerTrigger',
      schedule: '0 */5 * * * *',
      runOnStartup: false,
    });
  });

  it("is what the README's function table says: every function, its trigger and its auth level", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The function app'));
    const rows = new Map(
      [...section.matchAll(/^\| `(\w+)` +\| (.+?) +\| (.*?) *\| .+\|$/gm)].map((m) => [
        m[1] ?? '',
        { trigger: m[2] ?? '', authLevel: m[3] ?? '' },
      ]),
    );
    expect([...rows.keys()].sort()).toEqual(mockRegistered.map((r) => r.name).sort());
    for (const { name } of mockRegistered) {
      const binding = trigger(name);
      const row = rows.get(name);
      const expected =
        binding.type === 'httpTrigger'
          ? {
              trigger: `\`${(binding.methods as string[]).join(', ')} /api/${String(binding.route)}\``,
              authLevel: String(binding.authLevel),
            }
          : binding.type === 'queueTrigger'
            ? { trigger: `queue \`${String(binding.queueName)}\``, authLevel: '' }
            : {
                trigger: expect.stringContaining(`\`${String(binding.schedule)}\``) as unknown,
                authLevel: '',
              };
      expect([name, row]).toEqual([name, expected]);
    }
  });

  it('registers every operator function, and only those, at the operator level', () => {
    const operatorLevel = mockRegistered
      .filter((r) =>
        Object.values(r.bindings).some((b) => b.type === 'httpTrigger' && b.authLevel === 'admin'),
      )
      .map((r) => r.name)
      .sort();
    expect(operatorLevel).toEqual([...OPERATOR_FUNCTIONS].sort());
  });

  it('gives every HTTP function an HTTP output', () => {
    for (const name of [
      'ingestHttp',
      'ingestBlobs',
      'ingestStatus',
      'ingestList',
      'ingestRetry',
      'ingestRetryMany',
      'landingReplay',
      'ingestSummary',
      'backfillBlobs',
      'backfillCancel',
      'backfillFailures',
      'backfillStart',
      'backfillStatus',
      'console',
      'consoleAssets',
      'operatorAudit',
      'health',
    ]) {
      const fn = mockRegistered.find((r) => r.name === name);
      expect(Object.values(fn?.bindings ?? {})).toContainEqual(
        expect.objectContaining({ type: 'http', direction: 'out' }),
      );
    }
  });
});
