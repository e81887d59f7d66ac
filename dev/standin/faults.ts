import { z } from 'zod';

/** Fault switches (docs/contracts.md, 'The local stack'): `POST {dm}/_standin/faults` merges, `GET` shows, `DELETE` resets. */
export const faultsSchema = z
  .object({
    throttleResources: z.number().int().min(0),
    retryAfterSeconds: z.number().int().min(0),
    mgmt5xx: z.number().int().min(0),
    throttleRest: z.number().int().min(0),
    failIngestionsTransient: z.number().int().min(0),
    failIngestionsPermanent: z.number().int().min(0),
    ingestDelayMs: z.number().int().min(0),
    workerPaused: z.boolean(),
    streaming: z.enum(['enabled', 'disabled']),
  })
  .strict();

export type Faults = z.infer<typeof faultsSchema>;

export const NO_FAULTS: Readonly<Faults> = {
  throttleResources: 0,
  retryAfterSeconds: 1,
  mgmt5xx: 0,
  throttleRest: 0,
  failIngestionsTransient: 0,
  failIngestionsPermanent: 0,
  ingestDelayMs: 0,
  workerPaused: false,
  streaming: 'enabled',
};

/** Parses a partial update; throws with the field and the reason. */
export function parseFaultUpdate(input: unknown): Partial<Faults> {
  const result = faultsSchema.partial().safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new Error(`invalid fault switches: ${issues}`);
  }
  return result.data;
}

export class FaultSwitches {
  private state: Faults;

  constructor(initial: Partial<Faults> = {}) {
    this.state = { ...NO_FAULTS, ...initial };
  }

  get current(): Readonly<Faults> {
    return { ...this.state };
  }

  update(change: Partial<Faults>): Readonly<Faults> {
    this.state = { ...this.state, ...change };
    return this.current;
  }

  reset(): Readonly<Faults> {
    this.state = { ...NO_FAULTS };
    return this.current;
  }

  /** Uses one unit of a countdown switch; true when the fault applies to this call. */
  take(
    name:
      | 'throttleResources'
      | 'mgmt5xx'
      | 'throttleRest'
      | 'failIngestionsTransient'
      | 'failIngestionsPermanent',
  ): boolean {
    if (this.state[name] <= 0) return false;
    this.state = { ...this.state, [name]: this.state[name] - 1 };
    return true;
  }
}
