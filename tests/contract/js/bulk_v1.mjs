// Bulk API 1.0 through jsforce: conn.bulk.load (insert with one bad row), find().update() and
// find().destroy() over jsforce's bulk threshold of 200 rows (default bulkApiVersion: 1), and
// conn.bulk.query. Polling keeps jsforce's defaults (1 s interval, 30 s timeout).
// Usage: node bulk_v1.mjs <rows>
import { pad, range, requestLog, run, runTag, tokenConnection } from './common.mjs';

const collect = (stream) =>
  new Promise((resolve, reject) => {
    const rows = [];
    stream.on('record', (r) => rows.push(r));
    stream.on('end', () => resolve(rows));
    stream.on('error', reject);
  });

run(async ([rowsArg = '300']) => {
  const rows = Number(rowsArg);
  const conn = tokenConnection();
  const tag = runTag();
  const prefix = `JSV1 ${tag}`;
  const input = range(rows).map((i) => ({ LastName: `${prefix} ${pad(i)}`, Email: `j${i}@example.com` }));
  input.push({ LastName: `${prefix} bad`, Email: 'not-an-email' });

  const loaded = await conn.bulk.load('Contact', 'insert', input);
  const okIds = loaded.filter((r) => r.success).map((r) => r.id);

  const asyncJobs = () => requestLog.filter((r) => r.method === 'POST' && /\/services\/async\/[^/]+\/job$/.test(r.path)).length;
  const jobsBeforeUpdate = asyncJobs();
  const updated = await conn
    .sobject('Contact')
    .find({ LastName: { $like: `${prefix} %` } }, ['Id'])
    .update({ Title: 'Bulk v1 updated' });
  const updateJobs = asyncJobs() - jobsBeforeUpdate;
  const titled = await conn.query(
    `SELECT COUNT() FROM Contact WHERE Title = 'Bulk v1 updated' AND LastName LIKE '${prefix} %'`,
  );

  const queried = await collect(await conn.bulk.query(`SELECT Id, LastName, Title FROM Contact WHERE LastName LIKE '${prefix} %'`));

  const jobsBeforeDestroy = asyncJobs();
  const destroyed = await conn
    .sobject('Contact')
    .find({ LastName: { $like: `${prefix} %` } }, ['Id'])
    .destroy();
  const destroyJobs = asyncJobs() - jobsBeforeDestroy;
  const left = await conn.query(`SELECT COUNT() FROM Contact WHERE LastName LIKE '${prefix} %'`);

  return {
    loaded: { count: loaded.length, ok: okIds.length, distinct: new Set(okIds).size, last: loaded[loaded.length - 1] },
    allCreated: loaded.slice(0, rows).every((r) => r.created === true),
    updated: { count: updated.length, ok: updated.filter((r) => r.success).length, jobs: updateJobs },
    titled: titled.totalSize,
    queried: {
      count: queried.length,
      keys: queried.length ? Object.keys(queried[0]).sort() : [],
      allTitled: queried.every((r) => r.Title === 'Bulk v1 updated'),
    },
    destroyed: { count: destroyed.length, ok: destroyed.filter((r) => r.success).length, jobs: destroyJobs },
    left: left.totalSize,
  };
});
