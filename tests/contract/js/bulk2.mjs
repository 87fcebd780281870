// Bulk API 2.0 through jsforce: loadAndWaitForResults (insert with one bad row, empty input, delete)
// and bulk2.query across several result pages (Sforce-Locator).
// Usage: node bulk2.mjs <rows>   (the emulator's Bulk query page size should be well below <rows>)
import bulk2Api from 'jsforce/lib/api/bulk2.js';
import { pad, range, run, runTag, tokenConnection } from './common.mjs';

const POLL = { pollInterval: 50, pollTimeout: 30000 };

function summary(results) {
  return {
    successful: results.successfulResults.length,
    failed: results.failedResults.length,
    unprocessed: results.unprocessedRecords.length,
  };
}

run(async ([rowsArg = '2500']) => {
  const rows = Number(rowsArg);
  const conn = tokenConnection();
  conn.bulk2.pollInterval = POLL.pollInterval;
  conn.bulk2.pollTimeout = POLL.pollTimeout;
  const tag = runTag();
  const prefix = `JS Bulk ${tag}`;

  const input = range(rows).map((i) => ({ Name: `${prefix} ${pad(i)}`, Phone: `555-${pad(i, 4)}` }));
  input.push({ Name: '', Phone: '555-9999' }); // no Name: a row-level REQUIRED_FIELD_MISSING
  const inserted = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input, ...POLL });
  const ok = inserted.successfulResults;
  const firstOk = ok[0] ?? null;
  const failedRow = inserted.failedResults[0] ?? null;

  // conn.bulk2.query end to end (create, poll, results until Sforce-Locator is "null") on one page.
  const single = await (
    await conn.bulk2.query(`SELECT Id, Name FROM Account WHERE Name LIKE '${prefix} 000%'`, POLL)
  ).toArray();

  // Several locator pages. jsforce's own QueryJobV2.result() (behind conn.bulk2.query) pipes every raw
  // page into one stream, which is broken client-side for more than one page: the destination is ended
  // by the first page ("write after end", crashing the process), or, with pages larger than the stream
  // buffer, data is dropped and the CSV parser fails ("Invalid Closing Quote", reported against real orgs
  // in jsforce#1740). So the job is created and polled by jsforce's QueryJobV2 and each page is fetched
  // with that job's own request helper, which tracks the Sforce-Locator header exactly as result() does.
  const job = new bulk2Api.QueryJobV2(conn, {
    bodyParams: { query: `SELECT Id, Name FROM Account WHERE Name LIKE '${prefix} %'`, operation: 'query' },
    pollingOptions: conn.bulk2,
  });
  await job.open();
  await job.poll(POLL.pollInterval, POLL.pollTimeout);
  const pages = [];
  const locators = [];
  while (job.locator !== 'null') {
    const path = job.locator ? `/${job.id}/results?locator=${job.locator}` : `/${job.id}/results`;
    pages.push(
      await job.createQueryRequest({ method: 'GET', path, headers: { Accept: 'text/csv' }, responseType: 'text/csv' }),
    );
    locators.push(job.locator ?? null);
    if (pages.length > 50) throw new Error('Sforce-Locator never became "null"');
  }
  const queried = pages.flat();
  const emptyInsert = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input: [], ...POLL });
  const emptyDelete = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'delete', input: [], ...POLL });

  const deleted = await conn.bulk2.loadAndWaitForResults({
    object: 'Account',
    operation: 'delete',
    input: ok.map((r) => ({ Id: r.sf__Id })),
    ...POLL,
  });
  const afterDelete = await (await conn.bulk2.query(`SELECT Id FROM Account WHERE Name LIKE '${prefix} %'`, POLL)).toArray();

  return {
    inserted: summary(inserted),
    firstOk: firstOk && { sf__Id: firstOk.sf__Id, sf__Created: firstOk.sf__Created, Name: firstOk.Name },
    allCreatedTrue: ok.every((r) => r.sf__Created === 'true' && String(r.sf__Id).length === 18),
    failedRow,
    queried: {
      count: queried.length,
      distinct: new Set(queried.map((r) => r.Id)).size,
      keys: queried.length ? Object.keys(queried[0]) : [],
      allMatch: queried.every((r) => String(r.Name).startsWith(prefix)),
    },
    single: { count: single.length, allMatch: single.every((r) => String(r.Name).startsWith(`${prefix} 000`)) },
    pageSizes: pages.map((p) => p.length),
    locators,
    pageKeys: pages.map((p) => (p.length ? Object.keys(p[0]) : [])),
    emptyInsert: summary(emptyInsert),
    emptyDelete: summary(emptyDelete),
    deleted: summary(deleted),
    deletedCreatedFalse: deleted.successfulResults.every((r) => r.sf__Created === 'false'),
    afterDelete: afterDelete.length,
  };
});
