// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What no file of shared/ may import, plus `extra` patterns. */
const sharedImportRules = (...extra) => ({
  paths: [{ name: '@azure/functions', message: 'shared/ is a plain library: no @azure/functions.' }],
  patterns: [
    { group: ['**/dev/**', '**/functions/**'], message: 'shared/ never imports dev/ or functions/.' },
    ...extra,
  ],
});
const libraryOnly = {
  group: ['./app', './app/**', '../app', '../app/**', '**/app/**'],
  message: 'The library never imports the app folder (shared/app/): the app builds on the library.',
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      '.package/**',
      'coverage/**',
      'node_modules/**',
      '.local/**',
      '.ci/.node/**',
      '*.config.*',
      'jest.config.js',
      'shared/app/http/*.generated.ts',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['dev/*.mjs', 'infra/hooks/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-confusing-void-expression': [
        'error',
        { ignoreVoidReturningFunctions: true, ignoreArrowShorthand: true },
      ],
    },
  },
  {
    // Plain scripts that run before the build: TypeScript checks their names (// @ts-check), as for .ts.
    files: ['dev/*.mjs', 'infra/hooks/*.mjs'],
    rules: { 'no-undef': 'off' },
  },
  {
    // The library (shared/ outside app/) is usable on its own: no host, no dev stack, no app.
    files: ['shared/**/*.ts'],
    ignores: ['shared/app/**'],
    rules: { 'no-restricted-imports': ['error', sharedImportRules(libraryOnly)] },
  },
  {
    // The app folder: what the triggers share. Still no host: the triggers in functions/ are its only edge.
    files: ['shared/app/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', sharedImportRules()] },
  },
  {
    files: ['dev/standin/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/shared/**'], message: 'The stand-in is an independent reading of the protocol.' },
          ],
        },
      ],
    },
  },
);
