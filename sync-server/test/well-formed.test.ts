import { afterEach, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startServer } from './harness.js';
import type { TestServer } from './harness.js';

let server: TestServer;
afterEach(async () => {
  await server.close();
});

// Found by fuzzing (1,000,000 cases, FUZZ_SEED=20261126, mutations batch 29): two lots that
// differ only in lone surrogates were two stock lines in memory and one row in SQLite (UTF-8
// makes both U+FFFD), and the second push answered 500 on every retry.
it('strings with lone surrogates are made well-formed on the way in: two such lots, no 500', async () => {
  server = await startServer();
  const token = await server.login('admin', ADMIN_PASSWORD, 'wf');
  let id = 0;
  const push = (name: string, args: Record<string, unknown>) =>
    server.request('/sync/push', {
      method: 'POST',
      token,
      json: {
        pushVersion: 1,
        clientGroupID: 'wf',
        profileID: 'p',
        mutations: [{ clientID: 'wf-1', id: ++id, name, args, timestamp: 1 }],
      },
    });
  const applied = async (res: Response) => {
    expect(res.status).toBe(200);
    return ((await res.json()) as { results: { status: string }[] }).results[0]?.status;
  };
  expect(
    await applied(await push('defineItem', { itemId: 'L', sku: 'L', name: 'L', tracking: 'lot' })),
  ).toBe('applied');
  expect(
    await applied(await push('definePosition', { positionId: 'A', code: 'A', kind: 'bin' })),
  ).toBe('applied');
  for (const lot of ['\udfff\ud800', '\udc00\ud801'])
    expect(
      await applied(
        await push('adjustStock', { itemId: 'L', positionId: 'A', delta: 2, reason: 'found', lot }),
      ),
    ).toBe('applied');
  const stock = (await (await server.request('/api/stock?itemId=L', { token })).json()) as {
    lot: string;
    quantity: number;
  }[];
  expect(stock).toEqual([expect.objectContaining({ lot: '\ufffd\ufffd', quantity: 4 })]);
});
