import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleReplayLanding } from '../shared/app/http/operatorHandlers';
import { handleOperatorRequest, operatorAuthLevel } from '../shared/app/http/operatorAuth';
import { OPERATOR_ENDPOINTS } from '../shared/app/http/operatorEndpoints';

/** `POST /api/landing/replay`: the poison queue and Event Grid dead letters back to the landing queue. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['POST'],
  authLevel: operatorAuthLevel(),
  route: 'landing/replay',
};

export function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleOperatorRequest(request, getAppContext, context, OPERATOR_ENDPOINTS.landingReplay, (req) =>
    handleReplayLanding(req, getAppContext(), context),
  );
}

app.http('landingReplay', { ...options, handler });
