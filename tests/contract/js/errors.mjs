// Error names jsforce surfaces from the emulator's error bodies.
// Usage: node errors.mjs   (env: SF_ACCESS_TOKEN valid, SF_BAD_TOKEN for the session errors)
import { captureError, env, run, runTag, tokenConnection } from './common.mjs';

run(async () => {
  const conn = tokenConnection();
  const bad = tokenConnection(env('SF_BAD_TOKEN', 'not-a-valid-session'));
  const key = `JS-LK-${runTag()}`;
  await conn.sobject('Account').create([
    { Name: 'Twin A', Legacy_Key__c: key },
    { Name: 'Twin B', Legacy_Key__c: key },
  ]);
  return {
    multipleChoices: await captureError(() =>
      conn.sobject('Account').upsert({ Name: 'Which one?', Legacy_Key__c: key }, 'Legacy_Key__c'),
    ),
    notFound: await captureError(() => conn.sobject('Account').retrieve('001000000000000AAA')),
    unknownObject: await captureError(() => conn.sobject('NoSuchThing__c').describe()),
    malformedQuery: await captureError(() => conn.query('SELEC Id FRM Account')),
    invalidField: await captureError(() => conn.query('SELECT Bacon__c FROM Account')),
    requiredField: await captureError(() => conn.sobject('Contact').create({ FirstName: 'NoLastName' })),
    restSession: await captureError(() => bad.query('SELECT Id FROM Account')),
    bulkSession: await captureError(async () => {
      bad.bulk2.pollInterval = 50;
      await (await bad.bulk2.query('SELECT Id FROM Account')).toArray();
    }),
  };
});
