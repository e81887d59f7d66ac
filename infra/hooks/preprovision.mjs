// @ts-check
/**
 * azd's preprovision hook: refuses to provision a deployment that would "succeed" but could not work. With
 * neither a new cluster nor an existing cluster's ingest URI, the app would be deployed with
 * KUSTO_INGEST_URI '' and every function would fail its configuration check. azd runs hooks with the
 * environment's values (azd env set ...) in the process environment.
 */
function provisionProblems(env = process.env) {
  const problems = [];
  const createCluster = (env.KUSTO_CREATE_CLUSTER ?? '').trim().toLowerCase() === 'true';
  const ingestUri = (env.KUSTO_INGEST_URI ?? '').trim();
  const engineUri = (env.KUSTO_ENGINE_URI ?? '').trim();
  const flavor = (env.HTTP_INGEST_FLAVOR ?? 'queued').trim();
  if (!createCluster && ingestUri === '') {
    problems.push(
      'No Kusto cluster: either create a dev cluster with `azd env set KUSTO_CREATE_CLUSTER true`, ' +
        'or use yours with `azd env set KUSTO_INGEST_URI https://ingest-<cluster>.<region>.kusto.windows.net` ' +
        '(and `azd env set KUSTO_ENGINE_URI https://<cluster>.<region>.kusto.windows.net`).',
    );
  }
  if (
    !createCluster &&
    ingestUri !== '' &&
    !/^https:\/\/ingest-[^/\s]+$/i.test(ingestUri.replace(/\/+$/, ''))
  ) {
    problems.push(
      `KUSTO_INGEST_URI '${ingestUri}' is not a cluster's ingest endpoint: it looks like https://ingest-<cluster>.<region>.kusto.windows.net.`,
    );
  }
  if (!createCluster && flavor === 'managed-streaming' && engineUri === '') {
    problems.push(
      'HTTP_INGEST_FLAVOR managed-streaming streams to the engine: `azd env set KUSTO_ENGINE_URI https://<cluster>.<region>.kusto.windows.net`.',
    );
  }
  return problems;
}

const problems = provisionProblems();
if (problems.length > 0) {
  console.error(`Not provisioning: the app would deploy but could not ingest.\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
