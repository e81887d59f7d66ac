import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/appContext';
import { handleIngestBlobs } from '../shared/app/httpApi';
import { processLogger } from '../shared/app/processLogger';

/** `POST /api/ingest/{database}/{table}/blobs` with `{ blobs: [{ url, rawSize? }], format?, mapping? }`. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['POST'],
  authLevel: 'function',
  route: 'ingest/{database}/{table}/blobs',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleIngestBlobs(request, getAppContext({ logger: processLogger }), context);
}

app.http('ingestBlobs', { ...options, handler });
