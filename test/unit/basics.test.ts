import { redactSecrets, redactUrl, stripQuery } from '../../shared/log';
import { quoteName, quoteString, validateEntityName } from '../../shared/names';
import { isUuid, SOURCE_ID_NAMESPACE, uuidV5 } from '../../shared/uuid';

describe('uuidV5', () => {
  it('matches the RFC 4122 reference vector', () => {
    // uuid5(NAMESPACE_DNS, "www.example.com") from Python's uuid module.
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('is deterministic in the app namespace and a valid version 5 UUID', () => {
    const a = uuidV5('http://127.0.0.1:10000/devstoreaccount1/landing/db/t/a.csv#0x8DC');
    expect(a).toBe(
      uuidV5('http://127.0.0.1:10000/devstoreaccount1/landing/db/t/a.csv#0x8DC', SOURCE_ID_NAMESPACE),
    );
    expect(a).not.toBe(uuidV5('http://127.0.0.1:10000/devstoreaccount1/landing/db/t/a.csv#0x8DD'));
    expect(a[14]).toBe('5');
    expect(isUuid(a)).toBe(true);
  });

  it('refuses a namespace that is not a UUID', () => {
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(/namespace/);
  });
});

describe('entity names', () => {
  it.each(['Events', 'my table', 'a.b-c_d', 'Größe', '_x'])('accepts %p', (name) => {
    expect(validateEntityName('table', name)).toBe(name);
  });
  it.each(['', 'a;b', 'a:b', "a'b", '__x', 'x__', ' x', 'a\nb'])('rejects %p', (name) => {
    expect(() => validateEntityName('table', name)).toThrow(/name/);
  });
  it('quotes names and strings so that input cannot break out of a command', () => {
    expect(quoteName('table', 'My-Table')).toBe("['My-Table']");
    expect(() => quoteName('table', "x'] | .drop table y")).toThrow();
    expect(quoteString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
  });
});

describe('redaction', () => {
  it('replaces every query value of a URL', () => {
    expect(redactUrl('https://a.blob.core.windows.net/c/b.csv?sv=2020-01-01&sig=abc%2B&se=2026')).toBe(
      'https://a.blob.core.windows.net/c/b.csv?sv=REDACTED&sig=REDACTED&se=REDACTED',
    );
    expect(redactUrl('http://127.0.0.1:10000/devstoreaccount1/c')).toBe(
      'http://127.0.0.1:10000/devstoreaccount1/c',
    );
  });

  it('scrubs SAS values, bearer tokens, account keys and identity tokens from free text', () => {
    const text =
      'failed https://x/c?sp=r&sig=S1G "Authorization: Bearer abc.def-ghi" AccountKey=K3Y==; {"authorizationContext":"T0K"}';
    const out = redactSecrets(text);
    for (const secret of ['S1G', 'abc.def-ghi', 'K3Y', 'T0K']) expect(out).not.toContain(secret);
  });

  it('scrubs function keys: ?code= in a webhook URL, an x-functions-key header', () => {
    const out = redactSecrets(
      'POST https://f.azurewebsites.net/api/hook?code=FUNCK3Y&x=1 failed; headers {"x-functions-key":"HDRK3Y"}',
    );
    expect(out).not.toMatch(/FUNCK3Y|HDRK3Y/);
    expect(out).toContain('x=1');
  });

  it('strips the query (or ;key suffix) of a blob path', () => {
    expect(stripQuery('https://a/c/b?sig=1')).toBe('https://a/c/b');
    expect(stripQuery('https://a/c/b;managed_identity=system')).toBe('https://a/c/b');
  });
});
