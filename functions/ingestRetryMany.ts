import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleRetryMany } from '../shared/app/http/operatorHandlers';

/** `POST /api/ingest/retry`: retries every failed source of a database, table and error code. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['POST'],
  authLevel: 'function',
  route: 'ingest/retry',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleRetryMany(request, getAppContext(), context);
}

app.http('ingestRetryMany', { ...options, handler });
