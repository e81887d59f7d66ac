import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { ingestProtocolReport } from '../shared/app/context';
import { ConfigError, loadConfig } from '../shared/app/settings';
import { LIBRARY_VERSION } from '../shared/kusto/clientDetails';

/** Liveness and configuration: answers without calling any dependency, so a probe never wakes the cluster. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'health',
};

export function handler(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const config = loadConfig();
    return Promise.resolve({
      status: 200,
      jsonBody: { status: 'ok', version: LIBRARY_VERSION, ingestProtocol: ingestProtocolReport(config) },
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return Promise.resolve({
      status: 503,
      jsonBody: { status: 'misconfigured', version: LIBRARY_VERSION, problems: e.problems },
    });
  }
}

app.http('health', { ...options, handler });

// Checked once when the host starts, so a bad setting shows in the logs at once rather than at the first
// trigger; the host keeps running so that /api/health can say what is wrong.
app.hook.appStart(() => {
  try {
    loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(JSON.stringify({ event: 'ConfigurationInvalid', problems: e.problems }));
  }
});
