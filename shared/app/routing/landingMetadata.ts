import { IngestValidationError } from '../../errors';

/**
 * The ingestion properties a landing blob's metadata may set, each under our `kusto_*` name and under the
 * name ADX's Event Grid data connection reads (docs/contracts.md, 'Landing blobs'); any casing.
 */
export const METADATA_NAMES = {
  database: ['kusto_database', 'kustoDatabase'],
  table: ['kusto_table', 'kustoTable'],
  format: ['kusto_format', 'kustoDataFormat'],
  mapping: ['kusto_mapping', 'kustoIngestionMappingReference'],
  ignoreFirstRecord: ['kusto_ignore_first_record', 'kustoIgnoreFirstRecord'],
  tags: ['kusto_tags', 'kustoExtentTags'],
  creationTime: ['kusto_creation_time', 'kustoCreationTime'],
  rawSize: ['kusto_raw_size', 'rawSizeBytes'],
} as const;

export type MetadataProperty = keyof typeof METADATA_NAMES;

/** What the metadata says, as text, by property; the name it was found under, for messages. */
export type LandingMetadata = {
  readonly [P in MetadataProperty]?: { readonly value: string; readonly name: string };
};

/** Booleans compare by meaning (`True` and `true` agree); everything else by its exact text. */
const sameValue = (property: MetadataProperty, a: string, b: string): boolean =>
  property === 'ignoreFirstRecord' ? a.toLowerCase() === b.toLowerCase() : a === b;

/**
 * Reads the landing properties from blob metadata. Two names for one property with different values are
 * an error, never a guess: which one the uploader meant cannot be known.
 */
export function readLandingMetadata(metadata: Readonly<Record<string, string>>): LandingMetadata {
  const found: Partial<Record<MetadataProperty, { value: string; name: string }>> = {};
  const lowered = Object.entries(metadata).map(
    ([key, value]) => [key.toLowerCase(), key, value.trim()] as const,
  );
  for (const [property, names] of Object.entries(METADATA_NAMES) as [MetadataProperty, readonly string[]][]) {
    const wanted = names.map((n) => n.toLowerCase());
    for (const [lower, key, value] of lowered) {
      if (!wanted.includes(lower) || value === '') continue;
      const earlier = found[property];
      if (earlier && !sameValue(property, earlier.value, value)) {
        throw new IngestValidationError(
          `Blob metadata ${earlier.name}='${earlier.value}' and ${key}='${value}' name the same property (${property}) with different values: keep one of them.`,
          'ConflictingProperty',
        );
      }
      found[property] ??= { value, name: key };
    }
  }
  return found;
}
