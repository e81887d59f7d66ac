import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleBackfillStatus } from '../shared/app/http/backfillHandlers';
import { handleOperatorRequest, operatorAuthLevel } from '../shared/app/http/operatorAuth';
import { OPERATOR_ENDPOINTS } from '../shared/app/http/operatorEndpoints';

/** `GET /api/backfill/{jobId}`: the job's state and counts. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: operatorAuthLevel(),
  route: 'backfill/{jobId}',
};

export function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleOperatorRequest(request, getAppContext, context, OPERATOR_ENDPOINTS.backfillStatus, (req) =>
    handleBackfillStatus(req, getAppContext(), context),
  );
}

app.http('backfillStatus', { ...options, handler });
