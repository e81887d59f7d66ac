import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { operatorAuthLevel, operatorGate } from '../shared/app/http/operatorAuth';
import { handleListSources } from '../shared/app/http/operatorHandlers';

/** `GET /api/ingest?status=&database=&table=&since=&until=`: the sources, newest first, paged. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: operatorAuthLevel(),
  route: 'ingest',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return operatorGate(request, 'api') ?? handleListSources(request, getAppContext(), context);
}

app.http('ingestList', { ...options, handler });
