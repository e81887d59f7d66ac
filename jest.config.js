/** @type {import('jest').Config} */

// Node 20 can require() ESM, jest's module system cannot: these ESM-only packages are compiled to CommonJS.
const esmPackages = ['hyparquet', 'hyparquet-writer', 'azure-kusto-data', 'azure-kusto-ingest', 'jose'];

const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  '^.+\\.m?js$': [
    'ts-jest',
    {
      tsconfig: {
        allowJs: true,
        module: 'commonjs',
        moduleResolution: 'node10',
        isolatedModules: true,
        esModuleInterop: true,
      },
    },
  ],
};
// The deploy package under test is plain CommonJS already (test/unit/package.test.ts): not transformed.
const transformIgnorePatterns = [`/node_modules/(?!(${esmPackages.join('|')})/)`, '/kif-package-'];

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/setup/globalSetup.ts',
      globalTeardown: '<rootDir>/test/setup/globalTeardown.ts',
    },
  ],
  // A top-level option: jest ignores it inside a project.
  testTimeout: 60_000,
};
