// SOSL through jsforce: conn.search() (GET /search) answers the searchRecords of matching records.
// Usage: node search.mjs
import { run, runTag, tokenConnection } from './common.mjs';

run(async () => {
  const conn = tokenConnection();
  const tag = `Srch${runTag()}`;
  const account = await conn.sobject('Account').create({ Name: `${tag} Industries`, Phone: '(415) 555-0199' });
  await conn.sobject('Contact').create({ LastName: `${tag}son`, Email: `${tag.toLowerCase()}@example.com` });

  const found = await conn.search(`FIND {${tag}*} IN NAME FIELDS RETURNING Account(Id, Name), Contact(LastName)`);
  const byPhone = await conn.search('FIND {4155550199} IN PHONE FIELDS RETURNING Account(Id)');
  let refused = null;
  try {
    await conn.search('FIND ab');
  } catch (e) {
    refused = { name: e.name, errorCode: e.errorCode ?? null, message: e.message };
  }
  return {
    accountId: account.id,
    found: found.searchRecords.map((r) => ({ type: r.attributes.type, Name: r.Name ?? null, LastName: r.LastName ?? null })),
    byPhone: byPhone.searchRecords.map((r) => r.Id),
    refused,
  };
});
