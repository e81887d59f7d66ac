import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { operatorAuthLevel } from '../shared/app/http/operatorAuth';
import { handleConsole } from '../shared/app/http/operatorHandlers';

/**
 * `GET /api/console`: the operator console page. With keys the host lets only its master key in (the page
 * keeps it for its API calls); with Entra the page is open (it holds no data) and signs the operator in.
 * It loads no settings and no dependency, so it answers even when the app is misconfigured.
 */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: operatorAuthLevel(),
  route: 'console',
};

export function handler(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  return Promise.resolve(handleConsole());
}

app.http('console', { ...options, handler });
