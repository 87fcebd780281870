// Shared plumbing for the jsforce contract scripts.
//
// Every script prints exactly one JSON document on stdout (its last line): the result object,
// or {"error": {...}} with a non-zero exit code. The Python tests assert on that document.
// Connection settings come from SF_* environment variables set by tests/contract/contract_helpers.py.
import diagnostics_channel from 'node:diagnostics_channel';
import jsforce from 'jsforce';

export { jsforce };

/** Every HTTP request jsforce sends (method + path), seen through Node's diagnostics channels
 * (node:http for jsforce builds on node-fetch, undici for builds on undici). */
export const requestLog = [];
const logRequest = ({ request }) => requestLog.push({ method: request.method, path: request.path });
diagnostics_channel.channel('http.client.request.start').subscribe(logRequest);
diagnostics_channel.channel('undici:request:create').subscribe(logRequest);

export function env(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`environment variable ${name} is not set`);
  }
  return value;
}

export const apiVersion = () => env('SF_API_VERSION', '62.0');

/** A connection from an access token (SF_ACCESS_TOKEN) and the instance URL. */
export function tokenConnection(accessToken = env('SF_ACCESS_TOKEN')) {
  return new jsforce.Connection({
    instanceUrl: env('SF_INSTANCE_URL'),
    accessToken,
    version: apiVersion(),
  });
}

/** An OAuth2 client for the emulator's token endpoint. */
export function oauth2() {
  return new jsforce.OAuth2({
    loginUrl: env('SF_LOGIN_URL'),
    clientId: env('SF_CLIENT_ID'),
    clientSecret: env('SF_CLIENT_SECRET'),
    redirectUri: 'http://localhost:1717/OauthRedirect',
  });
}

/** Log in with the OAuth username-password flow and return a ready connection. */
export async function passwordConnection() {
  const conn = new jsforce.Connection({
    oauth2: oauth2(),
    loginUrl: env('SF_LOGIN_URL'),
    version: apiVersion(),
  });
  await conn.login(env('SF_USERNAME'), env('SF_PASSWORD'));
  return conn;
}

/** The interesting parts of a jsforce error, for assertions on the Python side. */
export function describeError(err) {
  if (err === null || err === undefined) return null;
  return {
    name: err.name ?? null,
    errorCode: err.errorCode ?? null,
    message: String(err.message ?? err),
    data: err.data ?? null,
  };
}

/** Run an async body and capture the error it throws (or null if it resolves). */
export async function captureError(fn) {
  try {
    await fn();
    return null;
  } catch (err) {
    return describeError(err);
  }
}

/** Run `main(args)` and print its result as JSON; errors become {"error": ...} and exit code 1. */
export async function run(main) {
  try {
    const result = await main(process.argv.slice(2));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (err) {
    const out = { error: describeError(err), stack: String(err?.stack ?? '') };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    process.exitCode = 1;
  }
}

export function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}

export const pad = (i, width = 5) => String(i).padStart(width, '0');

/** A short random tag so several runs against one org never see each other's rows. */
export const runTag = () => Math.random().toString(36).slice(2, 10);
