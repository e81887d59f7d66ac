import type { KustoStore } from '../store';
import type { StandinAccount } from '../storageResources';

/** The engine node a command runs on, as `.show cluster` describes it. */
export interface NodeInfo {
  /** The engine's address as the caller reached it. */
  readonly address: string;
  readonly startedOn: number;
}

export interface CommandContext {
  readonly store: KustoStore;
  readonly accounts: readonly StandinAccount[];
  readonly node: NodeInfo;
}
