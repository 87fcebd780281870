// Login paths of jsforce against the emulator: OAuth2 username-password (conn.login with a client
// id and secret), the raw OAuth2 client, JWT bearer through conn.authorize, bad credentials, logout.
// Usage: node login.mjs
import { createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  apiVersion,
  captureError,
  describeError,
  env,
  jsforce,
  oauth2,
  passwordConnection,
  run,
} from './common.mjs';

const b64url = (data) => Buffer.from(data).toString('base64url');

function jwtAssertion() {
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = b64url(
    JSON.stringify({
      iss: env('SF_CLIENT_ID'),
      sub: env('SF_USERNAME'),
      aud: 'https://login.salesforce.com',
      exp: Math.floor(Date.now() / 1000) + 180,
    }),
  );
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${claims}`);
  return `${header}.${claims}.${signer.sign(readFileSync(env('SF_JWT_KEY_FILE')), 'base64url')}`;
}

run(async () => {
  const conn = await passwordConnection();
  const whoami = await conn.query(`SELECT Id, Username FROM User WHERE Id = '${conn.userInfo.id}'`);
  const userInfo = { ...conn.userInfo };
  let identity;
  try {
    const info = await conn.identity();
    identity = { ok: { user_id: info.user_id, organization_id: info.organization_id, username: info.username } };
  } catch (err) {
    identity = { error: describeError(err) };
  }

  const token = await oauth2().authenticate(env('SF_USERNAME'), env('SF_PASSWORD'));
  const wrongPassword = await captureError(() => oauth2().authenticate(env('SF_USERNAME'), 'wrong-password'));

  const jwtConn = new jsforce.Connection({ oauth2: oauth2(), loginUrl: env('SF_LOGIN_URL'), version: apiVersion() });
  const jwt = await captureError(() =>
    jwtConn.authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwtAssertion() }),
  );
  const jwtQuery = jwt ? null : await jwtConn.query('SELECT COUNT() FROM Account');

  const revoked = new jsforce.Connection({
    instanceUrl: conn.instanceUrl,
    accessToken: conn.accessToken,
    version: apiVersion(),
  });
  await conn.logout();
  const afterLogout = await captureError(() => revoked.query('SELECT Id FROM Account LIMIT 1'));

  return {
    userInfo,
    loginInstanceUrl: revoked.instanceUrl,
    whoami: whoami.records.map((r) => ({ Id: r.Id, Username: r.Username })),
    identity,
    token: {
      keys: Object.keys(token).sort(),
      token_type: token.token_type,
      instance_url: token.instance_url,
      id: token.id,
      issued_at: token.issued_at,
    },
    wrongPassword,
    jwt,
    jwtQueryTotal: jwtQuery ? jwtQuery.totalSize : null,
    afterLogout,
  };
});
