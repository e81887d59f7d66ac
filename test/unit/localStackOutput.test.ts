import { needsAttention } from '../../dev/localStack';

describe('what the local stack prints without --verbose', () => {
  it.each([
    [
      '[azurite] 127.0.0.1 - - [01/Dec/2026:07:15:38 +0000] "PUT /devstoreaccount1/failedingestions?timeout=30 HTTP/1.1" 204 -',
      false,
    ],
    ['[azurite] 127.0.0.1 - - [01/Dec/2026:07:15:38 +0000] "GET /devstoreaccount1/x HTTP/1.1" 503 -', true],
    ['[standin] DM worker: abc failed: Stream_WrongNumberOfFields: ...', true],
    ['[stack] *** Azurite stopped on its own (signal SIGKILL)', true],
    ['[watcher] announced demo/Events/a.csv', false],
  ])('%s -> %s', (line, shown) => {
    expect(needsAttention(line)).toBe(shown);
  });
});
