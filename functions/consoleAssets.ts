import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { handleConsoleAsset } from '../shared/app/http/operatorHandlers';

/**
 * `GET /api/console/assets/{name}`: the console's script, stylesheet and OAuth client, the same for
 * everyone (no data, no secret): open, so the page can load them under a `'self'` policy.
 */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'console/assets/{name}',
};

export function handler(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  return Promise.resolve(handleConsoleAsset(request));
}

app.http('consoleAssets', { ...options, handler });
