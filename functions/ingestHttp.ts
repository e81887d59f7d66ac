import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleIngestPush } from '../shared/app/http/ingestHandlers';
// The body must stream end to end; the worker's telemetry set-up rides with it.
import './setup/workerTelemetry';

/** `POST /api/ingest/{database}/{table}`: the body is the data. Answers 202 { sourceId, statusUrl }. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['POST'],
  authLevel: 'function',
  route: 'ingest/{database}/{table}',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleIngestPush(request, getAppContext(), context);
}

app.http('ingestHttp', { ...options, handler });
