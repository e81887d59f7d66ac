/** What the tests of the lean storage clients share: the test account's key, and a failed call's status. */
import { RestError } from '@azure/core-rest-pipeline';
import { storageAuthFromConnectionString, type StorageAuth } from '../../shared/upload/signedRest';
import { connectionString } from './stack';

/** The test stack's first account, authorised by its key. */
export function testStorageAuth(): StorageAuth {
  const auth = storageAuthFromConnectionString(connectionString());
  if (!auth) throw new Error('the test connection string has a key');
  return auth;
}

/** The HTTP status a call failed with (-1: not a storage error), undefined when it succeeded. */
export const statusOf = async (p: Promise<unknown>): Promise<number | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => (e instanceof RestError ? e.statusCode : -1),
  );
