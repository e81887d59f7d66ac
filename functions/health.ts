import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { ConfigError, loadConfig } from '../shared/config';
import { LIBRARY_VERSION } from '../shared/kusto/clientDetails';

/** Liveness and configuration: answers without calling any dependency, so a probe never wakes the cluster. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'health',
};

export function handler(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  try {
    loadConfig();
    return Promise.resolve({ status: 200, jsonBody: { status: 'ok', version: LIBRARY_VERSION } });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return Promise.resolve({
      status: 503,
      jsonBody: { status: 'misconfigured', version: LIBRARY_VERSION, problems: e.problems },
    });
  }
}

app.http('health', { ...options, handler });
