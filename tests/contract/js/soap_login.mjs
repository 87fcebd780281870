// jsforce's SOAP login (conn.login with no OAuth2 client): session, query, logout, bad password.
// Usage: node soap_login.mjs
import { apiVersion, captureError, env, jsforce, run } from './common.mjs';

const soapConnection = () =>
  new jsforce.Connection({ loginUrl: env('SF_LOGIN_URL'), version: apiVersion() });

run(async () => {
  const conn = soapConnection();
  const userInfo = await conn.login(env('SF_USERNAME'), env('SF_PASSWORD') + env('SF_SECURITY_TOKEN'));
  const whoami = await conn.query(`SELECT Username FROM User WHERE Id = '${userInfo.id}'`);
  const session = { instanceUrl: conn.instanceUrl, accessToken: conn.accessToken };
  await conn.logout();
  const stale = new jsforce.Connection({ ...session, version: apiVersion() });
  const afterLogout = await captureError(() => stale.query('SELECT Id FROM Account LIMIT 1'));
  const wrongPassword = await captureError(() => soapConnection().login(env('SF_USERNAME'), 'wrong-password'));
  return {
    userInfo,
    instanceUrl: session.instanceUrl,
    usernames: whoami.records.map((r) => r.Username),
    afterLogout,
    wrongPassword,
  };
});
