import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleIngestBlobs } from '../shared/app/http/ingestHandlers';

/** `POST /api/ingest/{database}/{table}/blobs` with `{ blobs: [{ url, rawSize? }], format?, mapping? }`. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['POST'],
  authLevel: 'function',
  route: 'ingest/{database}/{table}/blobs',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleIngestBlobs(request, getAppContext(), context);
}

app.http('ingestBlobs', { ...options, handler });
