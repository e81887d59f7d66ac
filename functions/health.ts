import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { LIBRARY_VERSION } from '../shared/kusto/clientDetails';

/** Liveness: answers without touching any dependency, so a probe never wakes the cluster. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'health',
};

export function handler(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  return Promise.resolve({ status: 200, jsonBody: { status: 'ok', version: LIBRARY_VERSION } });
}

app.http('health', { ...options, handler });
