import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';

/** An invocation's context whose log lines go to the host's log, prefixed with the function's name. */
export function invocationContext(
  functionName: string,
  log: (line: string) => void,
  triggerMetadata?: Record<string, unknown>,
): InvocationContext {
  return new InvocationContext({
    functionName,
    invocationId: randomUUID(),
    ...(triggerMetadata && { triggerMetadata }),
    logHandler: (level, ...args) =>
      log(
        `[${functionName}] ${level}: ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`,
      ),
  });
}
