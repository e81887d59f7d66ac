import ignore from 'ignore';

/**
 * azd's rule for a JavaScript or TypeScript function app on Flex Consumption, as azd 1.23.12 and later
 * apply it before deploying (Azure/azure-dev, cli/azd/pkg/project/service_target_functionapp.go,
 * `resolveFunctionAppRemoteBuild`; CHANGELOG: PR 7223; its tests include
 * `FalseRemoteBuild_FuncignoreExcludesNodeModules_Errors`). It reads the `.funcignore` of the service's
 * `project` folder with gitignore semantics (a UTF-8 BOM stripped first, PR 7311) and asks whether it
 * ignores the directory `node_modules`:
 * - no ignore file: `remoteBuild` as set, else true;
 * - `remoteBuild` unset: remote build exactly when node_modules is excluded;
 * - `remoteBuild: true` without node_modules excluded, or `false` with it excluded: azd refuses to deploy.
 * Answers the remote build azd would run, or the error it would stop with.
 */
export function azdRemoteBuild(
  funcignore: string | undefined,
  remoteBuild: boolean | undefined,
): { readonly remoteBuild: boolean } | { readonly error: string } {
  if (funcignore === undefined) return { remoteBuild: remoteBuild ?? true };
  const excluded = nodeModulesExcluded(funcignore);
  if (remoteBuild === undefined) return { remoteBuild: excluded };
  if (remoteBuild && !excluded)
    return { error: "'remoteBuild: true' requires '.funcignore' to exclude node_modules" };
  if (!remoteBuild && excluded)
    return { error: "'remoteBuild: false' cannot be used when '.funcignore' excludes node_modules" };
  return { remoteBuild };
}

/**
 * Whether an ignore file excludes the directory node_modules. azd's parser (denormal/go-gitignore) also
 * takes `node_modules/**` as excluding it (its test EdgeCases/GlobPattern_NodeModules); the `ignore`
 * package matches that rule on the directory's contents only, so either counts here.
 */
export function nodeModulesExcluded(funcignore: string): boolean {
  const rules = ignore().add(funcignore.replace(/^\uFEFF/, ''));
  return rules.ignores('node_modules/') || rules.ignores('node_modules/package.json');
}

/** The `remoteBuild` of azure.yaml's one service: true, false, or unset. */
export function remoteBuildSetting(azureYaml: string): boolean | undefined {
  const value = /^\s+remoteBuild:\s*(\S+)\s*$/m.exec(azureYaml)?.[1];
  return value === undefined ? undefined : value === 'true';
}
