import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { operatorAuthLevel, operatorGate } from '../shared/app/http/operatorAuth';
import { handleConsole } from '../shared/app/http/operatorHandlers';

/**
 * `GET /api/console?code=<function key>`: the operator console page. The page keeps the key for its API
 * calls; it loads no settings and no dependency, so it answers even when the app is misconfigured.
 */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: operatorAuthLevel(),
  route: 'console',
};

export function handler(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  return Promise.resolve(operatorGate(request, 'page') ?? handleConsole());
}

app.http('console', { ...options, handler });
