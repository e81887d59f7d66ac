/**
 * Scenario 9: BENCH_ITEMS (default 100,000) HTTP pushes in STATUS_MODE=queue, end to end, with a stand-in of
 * this process's own whose worker ingests as they come, and the sweep every BENCH_SWEEP_SECONDS (default 5)
 * meanwhile, as the timer would run it. Done when every source is closed: every one must be closed as
 * ingested (the sweeps' succeeded add up to the items; none failed, reported stuck or abandoned), and the
 * table must hold exactly one row per item (none lost, none ingested twice).
 *
 * Recoveries are allowed, counted and reported, because they are the product working: a transient failure
 * the service reports is queued again, and so is a source whose Put Message failed in a way that may or may
 * not have stored it (an uncertain enqueue) once it has had no report for STALE_AFTER_MINUTES, which the
 * run sets to BENCH_STALE_MINUTES (default 10; the app's default is 120). On a loaded local stack both
 * happen: in one run at 100,000, 9 Put Messages failed together with ECONNRESET after 10 s and nothing of
 * them was stored (most likely Azurite stalled and, on resuming, closed keep-alive sockets whose idle timer
 * had run out meanwhile, with requests waiting unread on them), and one blob download hung up. The table
 * check tells whether a re-queue doubled anything.
 *
 * Pushes pause while more than BENCH_MAX_BACKLOG (default 2,000) items are pushed and not yet closed: the
 * in-memory Azurite sorts every visible message of a queue on each receive, so a backlog of tens of
 * thousands would measure its sort rather than the pipeline (unbounded, 5,000 items gave one sweep of 259 s,
 * on Azurite before its LokiJS fix). A service that keeps up holds a bounded backlog anyway; the bound only
 * keeps the bench from outrunning it.
 *
 * The app's and the stand-in's warnings and errors are counted by event and shown with the progress; if the
 * open count stops moving once all is pushed (BENCH_STALL_MINUTES, default 5 past the stale limit,
 * so it stays quiet while uncertain sources wait for it), each open source's row and its rows in the table are
 * printed once, so a run that does not finish says why.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { handleIngestPush } from '../../shared/app/http/ingestHandlers';
import type { HttpRequestLike } from '../../shared/app/http/httpTypes';
import { runSweep } from '../../shared/app/sweep/sweep';
import { emptySummary, type SweepSummary } from '../../shared/app/sweep/sweepSummary';
import type { Logger } from '../../shared/log';
import { pool } from '../harness';
import { progress, report, run, setting, timed } from './common';
import { privateStack } from './privateStack';

function request(i: number): HttpRequestLike {
  return {
    method: 'POST',
    url: 'http://localhost:7071/api/ingest/demo/Volume',
    headers: new Headers({ 'content-type': 'text/csv' }),
    query: new URLSearchParams(),
    params: { database: 'demo', table: 'Volume' },
    body: new Blob([`${i},item ${i}\n`]).stream(),
  };
}

/** Warnings and errors, counted by their event (or their first words); the first few of each kept whole. */
class Noted {
  readonly counts = new Map<string, number>();
  readonly first: string[] = [];

  note(line: string): void {
    let key = line.slice(0, 48);
    try {
      const event = (JSON.parse(line) as { event?: unknown }).event;
      if (typeof event === 'string') key = event;
    } catch {
      // not JSON: its first words name it
    }
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    if (n <= 3) this.first.push(line.slice(0, 400));
  }

  logger(): Logger {
    const note = (m: string) => this.note(m);
    return { debug: () => undefined, info: () => undefined, warn: note, error: note };
  }

  toString(): string {
    return [...this.counts].map(([k, n]) => `${k} ${n}`).join(', ');
  }
}

run(async () => {
  const items = Number(setting('BENCH_ITEMS', '100000'));
  const sweepEveryMs = Number(setting('BENCH_SWEEP_SECONDS', '5')) * 1000;
  const maxBacklog = Number(setting('BENCH_MAX_BACKLOG', '2000'));
  const staleMinutes = setting('BENCH_STALE_MINUTES', '10');
  const stallMs = Number(setting('BENCH_STALL_MINUTES', String(Number(staleMinutes) + 5))) * 60_000;
  const noted = new Noted();
  const { standin, ctx } = await privateStack({
    statusMode: 'queue',
    workerPaused: false,
    batchingWindowMs: 1000,
    settings: { STALE_AFTER_MINUTES: staleMinutes },
    logger: noted.logger(),
    // The worker logs each ingestion it fails; a volume run expects none, so every line is worth a count.
    standinLog: (line) => noted.note(`standin: ${line}`),
  });
  const log = noted.logger();
  const kusto = async (path: string, csl: string): Promise<unknown> => {
    const response = await fetch(`${standin.engineUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ db: 'demo', csl }),
    });
    if (!response.ok) throw new Error(`${csl}: HTTP ${response.status}`);
    return response.json();
  };
  await kusto('/v1/rest/mgmt', '.create table Volume (id:long, name:string)');
  const total = emptySummary();
  const add = (s: SweepSummary) => {
    for (const k of Object.keys(total) as (keyof SweepSummary)[]) if (k !== 'open') total[k] += s[k];
  };
  let sweeps = 0;
  let longestSweepS = 0;
  const sweep = async (): Promise<number> => {
    let open = 0;
    const s = await timed(async () => {
      const summary = await runSweep(ctx, log);
      add(summary);
      open = summary.open;
    });
    sweeps += 1;
    longestSweepS = Math.max(longestSweepS, s);
    return open;
  };
  let pushedCount = 0;
  const itemOf = new Map<string, number>();
  // What each source still open looks like: its row, and how many rows of its item the table holds.
  const dumpOpen = async (): Promise<void> => {
    for await (const entry of ctx.tracking.openEntries()) {
      const r = await ctx.tracking.get(entry.sourceId);
      const i = itemOf.get(entry.sourceId);
      const rows =
        i === undefined
          ? '?'
          : (
              (await kusto('/v1/rest/query', `Volume | where id == ${i} | count`)) as {
                Tables: { Rows: unknown[][] }[];
              }
            ).Tables[0]?.Rows[0]?.[0];
      progress(
        `open ${entry.sourceId} (item ${i}, ${String(rows)} rows): ` +
          JSON.stringify(
            r && {
              state: r.state,
              uncertain: r.uncertain,
              leaseUntil: r.leaseUntil,
              createdOn: r.createdOn,
              updatedOn: r.updatedOn,
              requeueCount: r.requeueCount,
              history: r.history,
            },
          ),
      );
    }
  };
  let lastOpen = -1;
  let openSince = Date.now();
  let dumped = false;
  const deadline = Date.now() + Number(setting('BENCH_DEADLINE_MINUTES', '240')) * 60_000;
  const seconds = await timed(async () => {
    const sweeping = (async () => {
      for (;;) {
        const started = Date.now();
        const open = await sweep();
        const notes = noted.counts.size > 0 ? `; noted: ${noted.toString()}` : '';
        const errors = total.errors > 0 ? `, ${total.errors} sweep errors` : '';
        progress(
          `${pushedCount} pushed, ${total.succeeded} closed, ${open} open after sweep ${sweeps}${errors}${notes}`,
        );
        if (pushedCount === items && open === 0) return;
        if (open !== lastOpen) [lastOpen, openSince] = [open, Date.now()];
        if (pushedCount === items && !dumped && Date.now() - openSince > stallMs) {
          dumped = true;
          for (const line of noted.first) progress(`noted: ${line}`);
          await dumpOpen();
        }
        if (Date.now() > deadline) throw new Error(`${open} sources still open at the deadline`);
        await sleep(Math.max(0, sweepEveryMs - (Date.now() - started)));
      }
    })();
    await pool(items, 50, async (i) => {
      while (i - total.succeeded >= maxBacklog) {
        if (Date.now() > deadline)
          throw new Error(`push ${i}: the backlog stayed over ${maxBacklog} till the deadline`);
        await sleep(100);
      }
      const result = await handleIngestPush(request(i), ctx, log);
      if (result.status !== 202) throw new Error(`push ${i}: ${result.status}`);
      itemOf.set((result.jsonBody as { sourceId: string }).sourceId, i);
      pushedCount += 1;
    });
    await sweeping;
  });
  const counted = (await kusto('/v1/rest/query', 'Volume | count')) as { Tables: { Rows: unknown[][] }[] };
  const rows = Number(counted.Tables[0]?.Rows[0]?.[0]);
  const perId = (await kusto('/v1/rest/query', 'Volume | summarize count() by id')) as {
    Tables: { Rows: unknown[][] }[];
  };
  const ids = perId.Tables[0]?.Rows.length ?? 0;
  const twice = (perId.Tables[0]?.Rows ?? []).filter((r) => Number(r[1]) !== 1).length;
  await standin.stop();
  const wrong = [
    total.succeeded !== items && `${total.succeeded} closed as ingested`,
    rows !== items && `${rows} rows in the table`,
    ids !== items && `${ids} distinct ids in the table`,
    twice > 0 && `${twice} ids ingested more than once`,
    total.failed + total.stuck + total.abandoned > 0 &&
      `failed ${total.failed}, stuck ${total.stuck}, abandoned ${total.abandoned}`,
  ].filter(Boolean);
  if (wrong.length > 0) throw new Error(`${items} items: ${wrong.join('; ')}`);
  report({
    items,
    itemsPerSec: items / seconds,
    closed: total.succeeded,
    rows,
    reports: total.reports,
    requeued: total.requeued,
    reenqueued: total.reenqueued,
    uncertainEnqueues: noted.counts.get('EnqueueUncertain') ?? 0,
    sweeps,
    longestSweepS,
  });
});
