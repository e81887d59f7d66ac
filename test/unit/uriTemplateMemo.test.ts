import { dirname, join } from 'node:path';
import {
  memoizedMatches,
  memoizedTemplates,
  type TemplateCompiler,
  type TemplateMatch,
} from '../../dev/uriTemplateMemo';

interface UriTemplate {
  fromUri(uri: string, options?: { strict?: boolean }): Record<string, unknown> | undefined;
}

const azuriteDir = dirname(require.resolve('azurite/package.json'));
// The uri-templates Azurite loads, as the preload resolves it.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped, resolved at run time
const compile = require(require.resolve('uri-templates', { paths: [azuriteDir] })) as TemplateCompiler;

/** Every operation path of Azurite's three services, with the leading slash its dispatcher adds. */
function azuriteTemplates(): string[] {
  const paths = new Set<string>();
  for (const service of ['blob', 'queue', 'table']) {
    const file = join(azuriteDir, 'dist', 'src', service, 'generated', 'artifacts', 'specifications.js');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- Azurite's generated specifications
    const specs = (require(file) as { default: Record<string, { path?: string }> }).default;
    for (const spec of Object.values(specs)) {
      const path = spec.path ?? '';
      paths.add(path.startsWith('/') ? path : `/${path}`);
    }
  }
  return [...paths];
}

// Paths as Azurite's dispatcher sees them (the account already taken off), matching and not matching.
const REQUESTS = [
  '/',
  '/tempstorage-0',
  '/tempstorage-0/file-00010.csv.gz',
  '/tempstorage-0/dir/sub/file.csv',
  '/$logs',
  '/ingestions-status/messages',
  '/ingestions-status/messages/5f0c8e1d-0b4a-4c5b-9d1e-6a2b3c4d5e6f',
  '/Tables',
  "/Tables('ingestionsstatus')",
  '/ingestionsstatus()',
  "/ingestionsstatus(PartitionKey='a',RowKey='b')",
  '/$batch',
  '',
];

describe('memoizedTemplates (the local Azurite compiles each URL template once)', () => {
  it("matches every request exactly as a fresh compile of each of Azurite's templates does", () => {
    const memo = memoizedTemplates(compile);
    const templates = azuriteTemplates();
    expect(templates.length).toBeGreaterThanOrEqual(10);
    let matched = 0;
    for (const template of templates) {
      for (const request of REQUESTS) {
        for (let round = 0; round < 2; round++) {
          const fresh = (compile(template) as UriTemplate).fromUri(request, { strict: true });
          const cached = (memo(template) as UriTemplate).fromUri(request, { strict: true });
          expect({ template, request, match: cached }).toEqual({ template, request, match: fresh });
          if (fresh !== undefined) matched++;
        }
      }
    }
    expect(matched).toBeGreaterThan(10); // the comparison covered matches, not only misses
  });

  it('compiles a template once and hands out the same compiled template, also to `new`', () => {
    let compiled = 0;
    const counting: TemplateCompiler = (template) => {
      compiled++;
      return compile(template);
    };
    const memo = memoizedTemplates(counting);
    const first = memo('/{containerName}/{blob}');
    expect(memo('/{containerName}/{blob}')).toBe(first);
    const Memo = memo as unknown as new (template: string) => object;
    expect(new Memo('/{containerName}/{blob}')).toBe(first);
    expect(compiled).toBe(1);
    expect(memo('/{containerName}')).not.toBe(first);
    expect(compiled).toBe(2);
  });

  it('keeps no more than its limit: templates beyond it are compiled per call, and still match', () => {
    let compiled = 0;
    const memo = memoizedTemplates((template) => {
      compiled++;
      return compile(template);
    }, 2);
    memo('/a/{x}');
    memo('/b/{x}');
    const third = memo('/c/{x}') as UriTemplate;
    expect(memo('/c/{x}')).not.toBe(third);
    expect(compiled).toBe(4);
    expect(third.fromUri('/c/1', { strict: true })).toEqual({ x: '1' });
    memo('/a/{x}');
    expect(compiled).toBe(4);
  });
});

describe('memoizedMatches (the blob and queue dispatchers match each pattern to each template once)', () => {
  // Azurite's own matcher, as its generated dispatchers call it.
  const utils = (service: string) =>
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- Azurite's generated module, untyped
    require(join(azuriteDir, 'dist', 'src', service, 'generated', 'utils', 'utils.js')) as {
      isURITemplateMatch: TemplateMatch;
    };
  // What the dispatchers pass: the patterns of blobStorageContext and queueStorageContext, and some paths.
  const PATTERNS = [
    '/',
    '/container',
    '/container/blob',
    '/queue',
    '/queue/messages',
    '/queue/messages/messageId',
    ...REQUESTS,
  ];

  it("answers every pattern and template of Azurite's blob and queue services as the original does", () => {
    let matched = 0;
    for (const service of ['blob', 'queue']) {
      const original = utils(service).isURITemplateMatch;
      const memo = memoizedMatches(original);
      for (const template of azuriteTemplates())
        for (const pattern of PATTERNS)
          for (let round = 0; round < 2; round++) {
            const fresh = original(pattern, template);
            expect({ service, template, pattern, match: memo(pattern, template) }).toEqual({
              service,
              template,
              pattern,
              match: fresh,
            });
            if (fresh) matched++;
          }
    }
    expect(matched).toBeGreaterThan(20); // matches were compared, not only misses
  });

  it('asks the original once per (path, template), and starts afresh at its limit', () => {
    const asked: string[] = [];
    const memo = memoizedMatches((url, template) => {
      asked.push(`${template} ${url}`);
      return url.length > template.length;
    }, 2);
    expect(memo('/container/blob', '/{a}')).toBe(true);
    expect(memo('/container/blob', '/{a}')).toBe(true);
    expect(memo('/c', '/{a}/{b}')).toBe(false);
    expect(asked).toHaveLength(2);
    // The same path under another template is another question; the third answer clears the cache.
    memo('/c', '/{a}');
    expect(asked).toHaveLength(3);
    memo('/container/blob', '/{a}');
    expect(asked).toHaveLength(4);
  });
});
