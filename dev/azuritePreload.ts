/**
 * What the local Azurite process preloads (`node --require`, by dev/azurite.ts), and nothing else does: fixes
 * of what makes the emulator slow, with the number of messages and blobs it holds and on every request; none
 * changes what it stores or answers.
 *
 * Azurite keeps its metadata in LokiJS 1.5 collections with binary indices, and LokiJS rebuilds all of a
 * collection's indices on every batch remove or update, even of one document (lokiSmallBatches.ts has the
 * details), and maps every document's id to its position for a batch remove, even of none. Azurite takes
 * those paths one document at a time: every Get Messages first removes the queue's expired messages
 * (usually none) and then updates what it received as a batch, Delete Message and blob deletes use
 * findAndRemove, and the queue extent clean-up (every minute) removes extents one by one. With N messages
 * held, each of those sorted or mapped all N again: a sweep of 259 s over 5,000 reports, stalls of minutes
 * after mass deletes (bench/README.md).
 *
 * dev/lokiSmallBatches.ts sends an empty batch nowhere and a small one through LokiJS's single-document
 * paths: the same documents are removed or updated and the indices end in order; only the cost changes.
 * And every receive, peek, delete or update of a queue's messages scanned the messages of all queues,
 * because its query narrowed by the account first (dev/lokiQueueFirst.ts): that query now narrows by the
 * queue first, and finds the same documents.
 * And Azurite compiled some 30 URL templates afresh for every blob request to find its operation
 * (dev/uriTemplateMemo.ts): each template is now compiled once, and matches the same requests; and as the
 * blob and queue dispatchers test fixed patterns, not paths, each (pattern, template) is matched once.
 * And Express 5 parsed a request's query string on every read of `req.query`, some 30 per request
 * (dev/expressQueryOnce.ts): it is now parsed once per URL.
 * Set KIF_AZURITE_STOCK=1 to run Azurite without it.
 */
import { dirname } from 'node:path';
import { patchQueueFirst, type LokiResultset } from './lokiQueueFirst';
import { patchSmallBatches, type LokiCollection } from './lokiSmallBatches';
import { patchExpressQuery } from './expressQueryOnce';
import { patchTemplateMatches, patchUriTemplates } from './uriTemplateMemo';

// dev/azurite.ts does not preload this file at all with KIF_AZURITE_STOCK=1.
const azuriteDir = dirname(require.resolve('azurite/package.json'));
// The LokiJS Azurite itself loads (resolved from its folder), so that its collections get the fix.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- resolved at run time, untyped
const loki = require(require.resolve('lokijs', { paths: [azuriteDir] })) as {
  Collection: { prototype: LokiCollection };
  Resultset: { prototype: LokiResultset };
};
patchSmallBatches(loki.Collection.prototype);
patchQueueFirst(loki.Resultset.prototype);
patchUriTemplates(azuriteDir);
patchTemplateMatches(azuriteDir);
patchExpressQuery(azuriteDir);
