import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestServer } from '../sync/test-server.js';
import { de } from '../i18n/de.js';
import { format } from '../i18n/format.js';
import { ApiError, api, apiErrorText, apiFile, signInErrorText } from './api.js';

/**
 * The screens' API helpers against the real server app (in-process, on a temp SQLite file):
 * the browser's `fetch` of a relative path is routed to it, or fails as an unreachable server.
 */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.unstubAllGlobals();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function browserOf() {
  const s = await startTestServer((fn) => {
    cleanups.push(fn);
  });
  /** `down`: no connection; `gateway`: a reverse proxy answers for a server it cannot reach. */
  const net = { down: false, gateway: 0 };
  vi.stubGlobal('fetch', async (input: string, init?: RequestInit) => {
    if (net.down) throw new TypeError('Failed to fetch');
    if (net.gateway)
      return new Response('<html><body>Bad Gateway</body></html>', {
        status: net.gateway,
        headers: { 'content-type': 'text/html' },
      });
    return s.deliver(input, init);
  });
  const sup = await s.login('sup', 'sup-password');
  return { s, net, token: sup.token };
}

const refusal = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ApiError);
  return e as ApiError;
};

describe('apiFile: files the server makes', () => {
  it('returns the bytes of a file', async () => {
    const { token } = await browserOf();
    const file = await apiFile(token, '/api/genealogy/recall?itemId=A&lot=L-1&format=csv');
    expect(file.size).toBeGreaterThan(0);
    expect(await file.text()).toMatch(/,/); // a CSV header at least
  });

  it('a refusal carries the server’s own words, not "offline"', async () => {
    const { token } = await browserOf();
    const e = await refusal(apiFile(token, '/api/count-sessions/no-such-session/sheet?format=csv'));
    expect(e.status).toBe(404);
    expect(e.message).not.toBe('offline');
    expect(e.message.length).toBeGreaterThan(0);
    const bad = await refusal(apiFile(token, '/api/labels/pdf', { json: { labels: [] } }));
    expect(bad.status).toBe(400);
    expect(bad.message).not.toMatch(/^HTTP /); // the problem's detail, not a bare status
  });

  it('an unreachable server is "offline" (status 0), for files and for JSON alike', async () => {
    const { net, token } = await browserOf();
    net.down = true;
    expect(await refusal(apiFile(token, '/api/genealogy/recall?itemId=A&lot=L-1'))).toMatchObject({
      status: 0,
      message: 'offline',
    });
    expect(await refusal(api(token, '/api/conflicts'))).toMatchObject({
      status: 0,
      message: 'offline',
    });
  });

  it('a proxy’s error page for a server it cannot reach is "offline" too; the server’s own refusals keep their status', async () => {
    const { net, token } = await browserOf();
    for (const status of [502, 503, 504]) {
      net.gateway = status;
      expect(await refusal(apiFile(token, '/api/genealogy/recall?itemId=A&lot=L-1'))).toMatchObject(
        { status: 0, message: 'offline' },
      );
      expect(await refusal(api(token, '/api/conflicts'))).toMatchObject({ status: 0 });
    }
    net.gateway = 0;
    // The server's own refusals keep their status and words (here a 404 problem).
    const own = await refusal(api(token, '/api/conflicts/no-such-conflict'));
    expect(own.status).toBe(404);
    // What a screen shows: its own words for "offline", the server's for a refusal.
    net.gateway = 503;
    const down = await refusal(api(token, '/api/conflicts'));
    expect(apiErrorText(down, 'Server nicht erreichbar')).toBe('Server nicht erreichbar');
    expect(apiErrorText(own, 'Server nicht erreichbar')).toBe(own.message);
    expect(own.message).not.toBe('offline');
    expect(apiErrorText('plain', 'x')).toBe('plain');
  });
});

describe('api: the answer’s headers', () => {
  it('hands them to the caller before the body (the conflicts list’s total)', async () => {
    const { token } = await browserOf();
    const seen: (string | null)[] = [];
    const list = await api<unknown[]>(token, '/api/conflicts?status=open', {
      headers: (h) => seen.push(h.get('x-total-count')),
    });
    expect(seen).toEqual([String(list.length)]);
    // Not for a refusal: its problem is the answer.
    await refusal(api(token, '/api/conflicts?status=maybe', { headers: () => seen.push('no') }));
    expect(seen).toHaveLength(1);
  });
});

describe('apiErrorText: a refusal in the user’s language', () => {
  const german = (key: string, params?: Readonly<Record<string, string | number>>) =>
    format((de as Record<string, string>)[key] ?? key, params, 'de');

  it('says a problem by its code when the catalog has it, else in the server’s words', async () => {
    const { s, token } = await browserOf();
    const empty = await refusal(api(token, '/api/jobs/bulk-adjust', { file: new Blob([]) }));
    expect(empty).toMatchObject({ status: 400, code: 'EMPTY_FILE' });
    expect(apiErrorText(empty, 'offline', german)).toBe('Die Datei ist leer.');
    // Without a translator, or for a code the catalog has no text for: the server's detail.
    expect(apiErrorText(empty, 'offline')).toBe(empty.message);
    const missing = await refusal(api(token, '/api/jobs/no-such-job'));
    expect(missing.code).toBe('NOT_FOUND');
    expect(apiErrorText(missing, 'offline', german)).toBe(`Nicht gefunden (${missing.message}).`);
    const newer = new ApiError(409, 'a newer server’s refusal', 'FROM_A_NEWER_SERVER');
    expect(apiErrorText(newer, 'offline', german)).toBe('a newer server’s refusal');
    // A refusal's reason, in the user's words; an unknown one falls back to the code, then detail.
    const revoked = new ApiError(
      403,
      'this device has been revoked; ask an admin',
      'FORBIDDEN',
      'DEVICE_REVOKED',
    );
    expect(apiErrorText(revoked, 'offline', german)).toBe('ein Admin hat dieses Gerät gesperrt');
    const novel = new ApiError(403, 'some new reason', 'FORBIDDEN', 'SOMETHING_NEW');
    expect(apiErrorText(novel, 'offline', german)).toBe('Das ist nicht erlaubt (some new reason).');
    // Signed out (a token that expired, or was ended elsewhere), and a wrong password at the
    // sign-in: the user's words, not the server's English.
    const signedOut = await refusal(api('not-a-token', '/api/conflicts?status=open'));
    expect(signedOut).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(apiErrorText(signedOut, 'offline', german)).toMatch(/^Sie sind abgemeldet/);
    const wrong = await refusal(
      api(null, '/api/auth/login', { json: { username: 'sup', password: 'not-it' } }),
    );
    expect(wrong).toMatchObject({ status: 401, code: 'BAD_CREDENTIALS' });
    expect(apiErrorText(wrong, 'offline', german)).toBe('Benutzername oder Passwort falsch.');
    expect(signInErrorText(wrong, german)).toBe('Benutzername oder Passwort falsch.');
    // An admin deactivates the account: its session ends, and says why (signing in again
    // cannot help). A sign-in, even with the right password, says no more than a wrong one.
    const users = await api<{ id: string; username: string }[]>(s.admin.token, '/api/users');
    const sup = users.find((u) => u.username === 'sup')?.id ?? '';
    await api(s.admin.token, `/api/users/${sup}`, { method: 'PATCH', json: { active: false } });
    const ended = await refusal(api(token, '/api/conflicts?status=open'));
    expect(ended).toMatchObject({ status: 401, code: 'USER_DEACTIVATED' });
    expect(apiErrorText(ended, 'offline', german)).toBe(
      'Dieses Konto wurde deaktiviert. Bitten Sie einen Admin, es wieder zu aktivieren.',
    );
    const right = await refusal(
      api(null, '/api/auth/login', { json: { username: 'sup', password: 'sup-password' } }),
    );
    expect(right).toMatchObject({ status: 401, code: 'BAD_CREDENTIALS' });
    expect(signInErrorText(right, german)).toBe('Benutzername oder Passwort falsch.');
    expect(signInErrorText(new ApiError(0, 'offline'), german)).toBe(german('auth.offline'));
    // Unreachable stays the screen's own offline words.
    expect(apiErrorText(new ApiError(0, 'offline'), 'Keine Verbindung', german)).toBe(
      'Keine Verbindung',
    );
  });
});
