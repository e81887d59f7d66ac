import { ReportLevel, ReportMethod, type IngestionProps } from '../../ingest/types';
import type { StatusMode } from '../settings';

/** What every ingestion message of the app asks the service to report, and where, in each STATUS_MODE. */
export function statusReporting(mode: StatusMode): Pick<IngestionProps, 'reportLevel' | 'reportMethod'> {
  switch (mode) {
    case 'table':
      return { reportLevel: ReportLevel.FailuresAndSuccesses, reportMethod: ReportMethod.Table };
    case 'queue':
      return { reportLevel: ReportLevel.FailuresAndSuccesses, reportMethod: ReportMethod.Queue };
    case 'failures-only':
      return { reportLevel: ReportLevel.FailuresOnly, reportMethod: ReportMethod.Queue };
  }
}
