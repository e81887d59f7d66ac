import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleStartBackfill } from '../shared/app/http/backfillHandlers';
import { handleOperatorRequest, operatorAuthLevel } from '../shared/app/http/operatorAuth';
import { OPERATOR_ENDPOINTS } from '../shared/app/http/operatorEndpoints';

/** `POST /api/backfill`: starts a backfill job over blobs already in storage (202 { jobId, statusUrl }). */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['POST'],
  authLevel: operatorAuthLevel(),
  route: 'backfill',
};

export function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleOperatorRequest(request, getAppContext, context, OPERATOR_ENDPOINTS.backfillStart, (req) =>
    handleStartBackfill(req, getAppContext(), context),
  );
}

app.http('backfillStart', { ...options, handler });
