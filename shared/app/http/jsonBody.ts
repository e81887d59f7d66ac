import type { z } from 'zod';
import { IngestValidationError } from '../../errors';
import { HttpProblem } from './httpTypes';

/** A JSON request body is small: anything bigger is refused before it is parsed. */
const MAX_JSON_BODY = 1024 * 1024;

/** Reads a small JSON body; `example` shows the caller what to send when the body is empty or not JSON. */
export async function readJsonBody(body: ReadableStream<Uint8Array>, example: string): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_JSON_BODY)
      throw new IngestValidationError('The JSON body is over 1 MB: send less per request.', 'TooLarge');
    chunks.push(chunk);
  }
  if (size === 0) throw new IngestValidationError(`The body is empty: send ${example}.`, 'EmptyInput');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new IngestValidationError(`The body is not JSON: send ${example}.`, 'InvalidProperty');
  }
}

/** A parsed body checked against its schema: a 400 InvalidProperty naming every problem otherwise. */
export function checkedBody<T>(schema: z.ZodType<T>, value: unknown, what = 'The body'): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  throw new HttpProblem(400, 'InvalidProperty', `${what} is not valid: ${issues}.`);
}
