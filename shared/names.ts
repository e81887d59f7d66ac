import { IngestValidationError } from './errors';

// Kusto identifier rules: 1-1024 of letters, digits, '_', ' ', '.', '-'; names starting or ending with '__'
// are reserved by KQL (learn.microsoft.com/kusto/query/schema-entities/entity-names).
const ENTITY_NAME = /^[\p{L}\p{N}_ .-]{1,1024}$/u;

export type EntityKind = 'database' | 'table' | 'mapping' | 'column';

/** Throws a clear `InvalidName` error unless `value` is a valid Kusto entity name; returns it otherwise. */
export function validateEntityName(kind: EntityKind, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new IngestValidationError(
      `The ${kind} name is missing: give a non-empty ${kind} name.`,
      'InvalidName',
    );
  }
  const shown = value.length > 80 ? `${value.slice(0, 80)}...` : value;
  if (!ENTITY_NAME.test(value)) {
    throw new IngestValidationError(
      `Invalid ${kind} name '${shown}': use 1-1024 letters, digits, '_', ' ', '.' or '-'.`,
      'InvalidName',
    );
  }
  if (value.startsWith('__') || value.endsWith('__') || value.trim() !== value) {
    throw new IngestValidationError(
      `Invalid ${kind} name '${shown}': names may not start or end with '__' or with a space.`,
      'InvalidName',
    );
  }
  return value;
}

/** Bracket-quotes a validated name for use in a KQL command: `['My-Table']`. */
export function quoteName(kind: EntityKind, value: string): string {
  return `['${validateEntityName(kind, value)}']`;
}

/** A KQL string literal that cannot be broken out of: backslashes and quotes escaped, newlines too. */
export function quoteString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r/g, '\\r').replace(/\n/g, '\\n')}"`;
}
