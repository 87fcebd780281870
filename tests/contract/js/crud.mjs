// Single-record CRUD, upsert by external id and a relationship query through jsforce.
// Usage: node crud.mjs   (env: SF_INSTANCE_URL, SF_ACCESS_TOKEN, SF_API_VERSION)
import { captureError, run, runTag, tokenConnection } from './common.mjs';

run(async () => {
  const conn = tokenConnection();
  const tag = runTag();
  const accounts = conn.sobject('Account');

  const created = await accounts.create({ Name: `JS Crud ${tag}`, Phone: '555-0100', AnnualRevenue: 12345678 });
  const fetched = await accounts.retrieve(created.id);
  const updateResult = await accounts.update({ Id: created.id, Name: `JS Crud ${tag} v2` });
  const refetched = await accounts.retrieve(created.id);

  const contact = await conn.sobject('Contact').create({
    LastName: `Lovelace ${tag}`,
    FirstName: 'Ada',
    AccountId: created.id,
  });
  const joined = await conn.query(
    `SELECT Id, LastName, Account.Name FROM Contact WHERE Id = '${contact.id}'`,
  );

  const extId = `JS-EXT-${tag}`;
  const upsertCreated = await accounts.upsert({ Name: `JS Upsert ${tag}`, External_Id__c: extId }, 'External_Id__c');
  const upsertUpdated = await accounts.upsert(
    { Name: `JS Upsert ${tag} v2`, External_Id__c: extId },
    'External_Id__c',
  );
  const upserted = await conn.query(`SELECT Id, Name FROM Account WHERE External_Id__c = '${extId}'`);

  const contactDeleted = await conn.sobject('Contact').destroy(contact.id);
  const accountDeleted = await accounts.destroy(created.id);
  const retrieveDeleted = await captureError(() => accounts.retrieve(created.id));
  const deletedVisible = await conn.query(
    `SELECT Id, IsDeleted FROM Account WHERE Id = '${created.id}'`,
    { scanAll: true },
  );

  return {
    created,
    fetched: {
      Id: fetched.Id,
      Name: fetched.Name,
      Phone: fetched.Phone,
      AnnualRevenue: fetched.AnnualRevenue,
      type: fetched.attributes?.type,
    },
    updateResult,
    refetchedName: refetched.Name,
    contact,
    joined,
    upsertCreated,
    upsertUpdated,
    upserted,
    contactDeleted,
    accountDeleted,
    retrieveDeleted,
    deletedVisible,
  };
});
