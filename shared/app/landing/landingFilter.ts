import { globList } from '../routing/glob';

/**
 * Files that are part of a write, not data: Spark and Hadoop job markers and checksums, and the temporary
 * names uploaders write to before a rename. Skipped by default (LANDING_EXCLUDE replaces the list).
 */
export const DEFAULT_LANDING_EXCLUDE = [
  '**/_temporary/**',
  '**/_SUCCESS',
  '**/_committed_*',
  '**/_started_*',
  '**/*.crc',
  '**/*.tmp',
  '**/*.temp',
  '**/*.partial',
] as const;

export interface LandingFilterOptions {
  /** Only paths matching one of these are taken. @default every path */
  readonly include?: readonly string[] | undefined;
  /** Paths matching one of these are skipped. @default DEFAULT_LANDING_EXCLUDE */
  readonly exclude?: readonly string[] | undefined;
}

/** Decides which landing blobs are data: the rest is skipped (logged, counted), never quarantined. */
export class LandingFilter {
  private readonly included: ((path: string) => boolean) | undefined;
  private readonly excluded: (path: string) => boolean;

  constructor(options: LandingFilterOptions = {}) {
    this.included = options.include && options.include.length > 0 ? globList(options.include) : undefined;
    this.excluded = globList(options.exclude ?? DEFAULT_LANDING_EXCLUDE);
  }

  /** Why a path is not taken, or undefined when it is. */
  skipReason(path: string): string | undefined {
    if (this.included && !this.included(path)) return 'matches no include glob';
    if (this.excluded(path)) return 'matches an exclude glob';
    return undefined;
  }
}
