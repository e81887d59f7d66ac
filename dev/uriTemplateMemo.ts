/**
 * Azurite picks the operation of every request by testing it against each operation its service defines
 * (about 60 for blobs), and each test compiles the operation's URL template afresh with `uri-templates`
 * (`isURITemplateMatch` in its generated `utils.js`): a Put Blob compiled some 30 templates. Compiled once,
 * a warm Put Blob costs Azurite 0.64 ms of CPU instead of 0.92 (`npm run bench:azurite`); on the two cores the
 * benchmarks share with it, that is throughput the clients lose to the emulator, not to their own work.
 *
 * A compiled template only reads what it was compiled from (`fromUri` keeps no state between calls), so
 * `memoizedTemplates` hands out one compiled template per template string: the same matches, compiled once.
 * The templates are Azurite's fixed operation paths; the cache is bounded all the same. Used in the local
 * Azurite only (dev/azuritePreload.ts).
 */

import { join } from 'node:path';

/** What `uri-templates` exports: compiles a template (called with or without `new`). */
export type TemplateCompiler = (template: string) => object;

/** Most templates kept; beyond it a template is compiled per call, as before. Azurite has 14 distinct ones. */
export const TEMPLATE_CACHE_LIMIT = 1_000;

/** `compile`, with each template string compiled once (up to `limit` of them). */
export function memoizedTemplates(compile: TemplateCompiler, limit = TEMPLATE_CACHE_LIMIT): TemplateCompiler {
  const compiled = new Map<string, object>();
  // A function, not an arrow: `new memo(t)` must work as `new UriTemplate(t)` did (an object returned from a
  // constructor is what `new` gives).
  const memo = function (template: string): object {
    const known = compiled.get(template);
    if (known !== undefined) return known;
    const fresh = compile(template);
    if (compiled.size < limit) compiled.set(template, fresh);
    return fresh;
  };
  memo.prototype = (compile as { prototype?: unknown }).prototype;
  return memo;
}

/**
 * Replaces the `uri-templates` module that Azurite (in `azuriteDir`) will load with the memoized compiler.
 * Must run before Azurite requires it: its generated code keeps the export it got.
 */
export function patchUriTemplates(azuriteDir: string): void {
  const path = require.resolve('uri-templates', { paths: [azuriteDir] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- resolved at run time, untyped
  const compile = require(path) as TemplateCompiler;
  const cached = require.cache[path];
  if (cached === undefined)
    throw new Error(`uri-templates (${path}) is not in the module cache after loading it`);
  cached.exports = memoizedTemplates(compile);
}

/** Azurite's `isURITemplateMatch(url, template)`: whether a dispatch path fits an operation's template. */
export type TemplateMatch = (url: string, template: string) => boolean;

/**
 * Most (path, template) answers kept; at the limit the cache starts afresh. Blob and queue need about 25 (3
 * templates by 3 patterns, 4 by 4).
 */
export const MATCH_CACHE_LIMIT = 4_096;

/**
 * `match`, answered once per (path, template). The blob and queue dispatchers test a request against every
 * operation with its *pattern* (`/container/blob`, `/queue/messages`: a handful of strings), not its path, so
 * the answers repeat for every request; matching still parsed the path with the compiled template each time
 * (`guessFunction`, 4% of Azurite's CPU on a run of Put Blobs). The answer depends on the two strings only.
 */
export function memoizedMatches(match: TemplateMatch, limit = MATCH_CACHE_LIMIT): TemplateMatch {
  const answers = new Map<string, boolean>();
  return (url, template) => {
    const key = `${template}\n${url}`;
    const known = answers.get(key);
    if (known !== undefined) return known;
    const answer = match(url, template);
    if (answers.size >= limit) answers.clear();
    answers.set(key, answer);
    return answer;
  };
}

/**
 * Replaces the blob and queue dispatchers' `isURITemplateMatch` with the memoized one. Their generated code
 * reads the export at each call (`(0, utils_1.isURITemplateMatch)(…)`), so this works before or after they
 * load. The table service's pattern holds the entity's keys (a new string per entity): left alone.
 */
export function patchTemplateMatches(azuriteDir: string): void {
  for (const service of ['blob', 'queue']) {
    const path = join(azuriteDir, 'dist', 'src', service, 'generated', 'utils', 'utils.js');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- Azurite's generated module, untyped
    const utils = require(path) as { isURITemplateMatch?: TemplateMatch };
    const original = utils.isURITemplateMatch;
    if (typeof original !== 'function')
      throw new Error(`${path} has no isURITemplateMatch: Azurite changed, review dev/uriTemplateMemo.ts`);
    utils.isURITemplateMatch = memoizedMatches(original);
  }
}
