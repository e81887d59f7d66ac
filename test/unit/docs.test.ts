/**
 * The docs a newcomer reads: the README stays short, every link in it and in docs/ resolves (the file, and
 * the heading an anchor names), and the generated docs match the code they are generated from.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { CONSOLE_ASSETS } from '../../shared/app/http/consolePage';
import { OPERATOR_ROLES } from '../../shared/app/http/operatorToken';

const root = join(__dirname, '..', '..');

const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  'bench/README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of text.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = headingAnchor(heading ?? '');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** Relative links of a markdown file (outside code blocks and spans), as written. */
function links(file: string): string[] {
  const text = readFileSync(file, 'utf8')
    .replace(/```[\s\S]*?```/g, '')
    .replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((target) => !/^[a-z]+:/i.test(target));
}

describe('the docs', () => {
  it('keep the README short: what it is, the two commands, the quickstart, the layout, links', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThan(250);
    for (const needed of [
      'npm install && npm start',
      'npm install && npm test',
      '## Quickstart',
      '## Layout',
    ])
      expect([needed, readme.includes(needed)]).toEqual([needed, true]);
  });

  it('link only to files and headings that exist', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const doc of DOCS) {
      const file = join(root, doc);
      for (const link of links(file)) {
        checked++;
        const [path = '', anchor] = link.split('#');
        const target = path === '' ? file : join(dirname(file), decodeURIComponent(path));
        if (!existsSync(target)) broken.push(`${doc}: ${link} (no ${relative(root, target)})`);
        else if (anchor !== undefined && target.endsWith('.md') && !anchors(target).has(anchor))
          broken.push(`${doc}: ${link} (no heading '${anchor}' in ${relative(root, target)})`);
      }
    }
    expect(checked).toBeGreaterThan(30);
    expect(broken).toEqual([]);
  });

  it('find a broken link when there is one (the check can fail)', () => {
    expect(anchors(join(root, 'docs', 'landing.md')).has('how-kusto-reads-landing-blobs')).toBe(true);
    expect(anchors(join(root, 'docs', 'landing.md')).has('no-such-heading')).toBe(false);
    expect(headingAnchor("Moving from ADX's Event Grid data connection")).toBe(
      'moving-from-adxs-event-grid-data-connection',
    );
    expect(headingAnchor('Deploy to Azure (`azd up`)')).toBe('deploy-to-azure-azd-up');
  });

  it('give the Entra set-up the app roles the code checks, for users and applications, and the scope the console asks for', () => {
    const ops = readFileSync(join(root, 'docs', 'operations.md'), 'utf8');
    const start = ops.indexOf('### Setting up Entra sign-in');
    const section = ops.slice(start, ops.indexOf('\n## ', start));
    const roles = [
      ...section.matchAll(/"value": "([\w.]+)", "allowedMemberTypes": \["User", "Application"\]/g),
    ].map((m) => m[1]);
    expect(roles.sort()).toEqual(Object.values(OPERATOR_ROLES).sort());
    expect(section).toContain('appRoleAssignmentRequired=true');
    expect(section).toContain('"redirectUris": ["https://$app/api/console"]');
    const scope = /"value": "(\w+)", "type": "User"/.exec(section)?.[1];
    expect(scope).toBeDefined();
    expect(CONSOLE_ASSETS['console.js']?.body).toContain(`'/${scope ?? ''}'`);
  });

  it('generated from the code are up to date (npm run docs writes them)', () => {
    const docsScript = join(root, 'dist', 'dev', 'docs.js');
    if (!existsSync(docsScript))
      throw new Error('dist/dev/docs.js is missing: run npm run build first (npm test does)');
    const run = spawnSync(process.execPath, [docsScript, '--check'], { cwd: root, encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 60_000);
});
