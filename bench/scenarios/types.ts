import type { Row } from '../harness';

export interface ScenarioContext {
  /** Runs per variant (A B A B ...). */
  readonly runs: number;
  readonly log: (line: string) => void;
  /** Certificate and key that this process (and its children) trust, for the https scenarios. */
  readonly tls: { cert: string; key: string };
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  run(ctx: ScenarioContext): Promise<Row[]>;
}
