import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { azureMonitorOptions } from '../../../shared/app/telemetry/startTelemetry';

const credential: TokenCredential = {
  getToken: () => Promise.resolve<AccessToken>({ token: 't', expiresOnTimestamp: Date.now() + 60_000 }),
};

describe('the Azure Monitor distro options', () => {
  const options = azureMonitorOptions('InstrumentationKey=00000000-0000-0000-0000-000000000000', credential);

  it('keep every log: trace-based log sampling is pinned off (a failure line in a sampled-out trace still reaches the alert)', () => {
    expect(options.enableTraceBasedSamplingForLogs).toBe(false);
  });

  it('keep every span: no rate limit, no ratio', () => {
    expect(options).toMatchObject({ tracesPerSecond: 0, samplingRatio: 1 });
  });

  it("export with the app's identity, not a key", () => {
    expect(options.azureMonitorExporterOptions?.credential).toBe(credential);
  });
});
