import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleCancelBackfill } from '../shared/app/http/backfillHandlers';
import { handleOperatorRequest, operatorAuthLevel } from '../shared/app/http/operatorAuth';
import { OPERATOR_ENDPOINTS } from '../shared/app/http/operatorEndpoints';

/** `DELETE /api/backfill/{jobId}`: cancels the job. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['DELETE'],
  authLevel: operatorAuthLevel(),
  route: 'backfill/{jobId}',
};

export function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleOperatorRequest(request, getAppContext, context, OPERATOR_ENDPOINTS.backfillCancel, (req) =>
    handleCancelBackfill(req, getAppContext(), context),
  );
}

app.http('backfillCancel', { ...options, handler });
