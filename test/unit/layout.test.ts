/**
 * The split between the library and the app, kept by a lint rule and checked here twice: the rule fires on a
 * library file that imports the app folder, and no library file does.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('the library never imports the app folder', () => {
  it('the lint rule refuses a library file that imports shared/app/', () => {
    // ESLint loads its config with a dynamic import, which jest's module system refuses: run it as npm does.
    const run = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules/eslint/bin/eslint.js'),
        '--stdin',
        '--stdin-filename',
        'shared/errors.ts',
        '--format',
        'json',
      ],
      { cwd: root, input: "export { loadConfig } from './app/settings';\n", encoding: 'utf8' },
    );
    const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string; message: string }[] }[];
    expect(result?.messages).toContainEqual(
      expect.objectContaining({
        ruleId: 'no-restricted-imports',
        message: expect.stringMatching(/never imports the app folder/) as unknown,
      }),
    );
  }, 60_000);

  it('no file of the library imports it', () => {
    const library = tsFiles(join(root, 'shared')).filter((f) => !f.includes(join('shared', 'app')));
    expect(library.length).toBeGreaterThan(20);
    const offenders = library.filter((f) => /from '(\.\.?\/)+(\.\.\/)*app\//.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => relative(root, f))).toEqual([]);
  });
});

describe("README's layout section", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Layout'),
    readme.indexOf('\n## ', readme.indexOf('## Layout') + 3),
  );

  it('names only folders and files that exist', () => {
    const named = [...section.matchAll(/`([\w./-]+\/?)`/g)]
      .map((m) => m[1] ?? '')
      .filter((p) => p.includes('/') && !p.startsWith('npm'));
    expect(named.length).toBeGreaterThan(10);
    for (const path of named)
      expect([path, statSync(join(root, path), { throwIfNoEntry: false }) !== undefined]).toEqual([
        path,
        true,
      ]);
  });

  it('names every folder of shared/ and shared/app/', () => {
    const folders = (dir: string) =>
      readdirSync(join(root, dir))
        .filter((n) => statSync(join(root, dir, n)).isDirectory())
        .map((n) => `${dir}/${n}/`);
    for (const folder of [...folders('shared'), ...folders('shared/app')])
      expect([folder, section.includes(`\`${folder}\``)]).toEqual([folder, true]);
  });
});
