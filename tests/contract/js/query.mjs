// SOQL paging through jsforce: first page, queryMore, autoFetch across pages, queryAll.
// Usage: node query.mjs <rows>   (rows are created first through Collections)
import { pad, range, requestLog, run, runTag, tokenConnection } from './common.mjs';

run(async ([rowsArg = '4100']) => {
  const rows = Number(rowsArg);
  const conn = tokenConnection();
  const tag = runTag();
  const prefix = `JS Page ${tag}`;
  const created = await conn
    .sobject('Account')
    .create(range(rows).map((i) => ({ Name: `${prefix} ${pad(i)}` })), { allowRecursive: true });
  const failures = created.filter((r) => !r.success).length;
  const soql = `SELECT Id, Name FROM Account WHERE Name LIKE '${prefix} %' ORDER BY Name`;

  const first = await conn.query(soql);
  const second = first.nextRecordsUrl ? await conn.queryMore(first.nextRecordsUrl) : null;

  const before = requestLog.length;
  const all = await conn.query(soql, { autoFetch: true, maxFetch: 100000 });
  const autoFetchRequests = requestLog.slice(before).map((r) => r.path);
  const names = all.records.map((r) => r.Name);
  const sorted = names.every((n, i) => i === 0 || names[i - 1] < n);

  await conn.sobject('Account').destroy(created.slice(0, 3).map((r) => r.id));
  const live = await conn.query(`SELECT COUNT() FROM Account WHERE Name LIKE '${prefix} %'`);
  const withDeleted = await conn.query(`SELECT Id, IsDeleted FROM Account WHERE Name LIKE '${prefix} %'`, {
    scanAll: true,
    autoFetch: true,
    maxFetch: 100000,
  });

  return {
    failures,
    first: {
      totalSize: first.totalSize,
      done: first.done,
      count: first.records.length,
      nextRecordsUrl: first.nextRecordsUrl ?? null,
    },
    second: second && {
      totalSize: second.totalSize,
      done: second.done,
      count: second.records.length,
      nextRecordsUrl: second.nextRecordsUrl ?? null,
    },
    all: {
      totalSize: all.totalSize,
      done: all.done,
      count: all.records.length,
      distinct: new Set(all.records.map((r) => r.Id)).size,
      sorted,
    },
    autoFetchRequests,
    liveAfterDelete: live.totalSize,
    withDeleted: {
      count: withDeleted.records.length,
      deleted: withDeleted.records.filter((r) => r.IsDeleted === true).length,
    },
  };
});
