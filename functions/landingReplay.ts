import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { operatorAuthLevel, operatorGate } from '../shared/app/http/operatorAuth';
import { handleReplayLanding } from '../shared/app/http/operatorHandlers';

/** `POST /api/landing/replay`: the poison queue and Event Grid dead letters back to the landing queue. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['POST'],
  authLevel: operatorAuthLevel(),
  route: 'landing/replay',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return operatorGate(request, 'api') ?? handleReplayLanding(request, getAppContext(), context);
}

app.http('landingReplay', { ...options, handler });
