// Array create/update/upsert/retrieve/destroy through sObject Collections (allowRecursive).
// Usage: node collections.mjs <count>
import { captureError, pad, range, requestLog, run, runTag, tokenConnection } from './common.mjs';

run(async ([countArg = '450']) => {
  const count = Number(countArg);
  const conn = tokenConnection();
  const tag = runTag();
  const accounts = conn.sobject('Account');
  const records = range(count).map((i) => ({ Name: `JS Coll ${tag} ${pad(i)}`, Phone: `555-${pad(i, 4)}` }));

  const created = await accounts.create(records, { allowRecursive: true });
  const ids = created.map((r) => r.id);
  const createRequests = requestLog.filter((r) => r.method === 'POST' && r.path.includes('/composite/sobjects')).length;

  const updated = await accounts.update(
    ids.map((Id, i) => ({ Id, Name: `JS Coll ${tag} ${pad(i)} upd` })),
    { allowRecursive: true },
  );
  const retrieved = await accounts.retrieve(ids.slice(0, 5));

  const upserted = await accounts.upsert(
    range(3).map((i) => ({ Name: `JS CollUp ${tag} ${i}`, External_Id__c: `JSC-${tag}-${i}` })),
    'External_Id__c',
  );
  const upsertedAgain = await accounts.upsert(
    range(3).map((i) => ({ Name: `JS CollUp ${tag} ${i} v2`, External_Id__c: `JSC-${tag}-${i}` })),
    'External_Id__c',
  );

  const mixed = await accounts.create([{ Name: `JS Coll ${tag} good` }, { Phone: '555-0199' }]);
  const tooMany = await captureError(() => accounts.create(range(201).map((i) => ({ Name: `x${i}` }))));

  const countAfterUpdate = await conn.query(
    `SELECT COUNT() FROM Account WHERE Name LIKE 'JS Coll ${tag} %upd'`,
  );
  const destroyed = await accounts.destroy(ids, { allowRecursive: true });
  const remaining = await conn.query(`SELECT Id FROM Account WHERE Name LIKE 'JS Coll ${tag} %upd'`);

  return {
    createdCount: created.length,
    createdAllSuccess: created.every((r) => r.success === true && typeof r.id === 'string' && r.id.length === 18),
    createRequests,
    updatedCount: updated.length,
    updatedAllSuccess: updated.every((r) => r.success === true),
    updatedIdsInOrder: updated.every((r, i) => r.id === ids[i]),
    retrieved: retrieved.map((r) => ({ Id: r?.Id, Name: r?.Name })),
    expectedRetrievedIds: ids.slice(0, 5),
    upserted,
    upsertedAgain,
    mixed,
    tooMany,
    countAfterUpdate: countAfterUpdate.totalSize,
    destroyedCount: destroyed.length,
    destroyedAllSuccess: destroyed.every((r) => r.success === true),
    remaining: remaining.totalSize,
  };
});
