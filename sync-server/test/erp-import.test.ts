import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ListDropReport } from '@floorsync/workers';
import { SyncApi, listIdOf, startListDrop } from '@floorsync/workers';
import { afterEach, describe, expect, it } from 'vitest';
import { warehouseServer } from './harness.js';

/**
 * Movement lists imported from CSV files an ERP drops in a folder, through the sync protocol
 * against a real server: checked first (a file with an error imports nothing and says why),
 * sent as the file's own client so a file sent twice creates nothing twice.
 */
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(
  settleMs = 0,
  makeApi = (o: ConstructorParameters<typeof SyncApi>[0]): SyncApi => new SyncApi(o),
) {
  const w = await warehouseServer();
  const base = await w.server.listen();
  cleanup.push(() => w.server.close());
  const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-drop-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const api = makeApi({ base, username: 'sup', password: 'sup-password' });
  const reports: ListDropReport[] = [];
  const drop = startListDrop({
    api,
    dir,
    pollMs: 3_600_000, // the test scans by hand
    settleMs,
    onFile: (r) => reports.push(r),
  });
  cleanup.push(() => drop.stop());
  const lists = async (): Promise<{ code: string; lineCount: number; partner: string }[]> => {
    const res = await w.server.request('/api/lists', { token: w.supervisor.token });
    return (await res.json()) as { code: string; lineCount: number; partner: string }[];
  };
  const put = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    const past = new Date(Date.now() - 5000);
    utimesSync(path.join(dir, name), past, past);
  };
  const files = (sub: string) => readdirSync(path.join(dir, sub)).sort();
  return { ...w, dir, drop, reports, lists, put, files };
}

const RECEIPTS = [
  'list;line;item;quantity;partner;due;position',
  'PO-100;1;A;10;ACME;2026-12-01;P',
  'PO-100;2;L;5;;;Q',
  'PO-101;1;A;3;Beta;;',
].join('\n');

describe('ERP list import from a folder', () => {
  it('imports every list of a file, moves it to done/ with a report', async () => {
    const t = await setup();
    t.put('orders-1.csv', RECEIPTS);
    await t.drop.scan();
    expect(t.reports.map((r) => r.outcome)).toEqual(['imported']);
    expect(t.reports[0]?.lists).toEqual([
      { code: 'PO-100', status: 'applied' },
      { code: 'PO-101', status: 'applied' },
    ]);
    expect((await t.lists()).map((l) => [l.code, l.lineCount, l.partner]).sort()).toEqual([
      ['PO-100', 2, 'ACME'],
      ['PO-101', 1, 'Beta'],
    ]);
    const done = t.files('done');
    expect(done.some((f) => f.endsWith('orders-1.csv'))).toBe(true);
    expect(done.some((f) => f.endsWith('orders-1.csv.report.json'))).toBe(true);
    expect(readdirSync(t.dir).filter((f) => f.endsWith('.csv'))).toEqual([]);
  });

  it('a file dropped twice (or a document re-sent in another file) creates nothing twice', async () => {
    const t = await setup();
    t.put('a.csv', RECEIPTS);
    await t.drop.scan();
    // The same bytes again, under another name.
    t.put('a-again.csv', RECEIPTS);
    await t.drop.scan();
    expect(t.reports[1]?.outcome).toBe('imported');
    expect(t.reports[1]?.lists.map((l) => l.status)).toEqual(['existing', 'existing']);
    // The same document in another file (an ERP that re-exports open orders): left as it is.
    t.put('b.csv', 'list;line;item;quantity\nPO-100;1;A;99\n');
    await t.drop.scan();
    expect(t.reports[2]).toMatchObject({
      outcome: 'imported',
      lists: [{ code: 'PO-100', status: 'existing' }],
    });
    const lists = await t.lists();
    expect(lists).toHaveLength(2);
    expect(lists.find((l) => l.code === 'PO-100')?.lineCount).toBe(2);
  });

  it('a list the rules refuse (a lot for an item without lots) fails the whole file before anything is sent', async () => {
    const t = await setup();
    t.put('mixed.csv', 'list;line;item;quantity;lot\nPO-1;1;A;5;\nPO-2;1;A;5;LOT-9\n');
    await t.drop.scan();
    expect(t.reports[0]?.outcome).toBe('failed');
    expect(t.reports[0]?.errors).toEqual([
      'line 3, list PO-2: line 1: A is not lot-tracked; do not give a lot',
    ]);
    expect(await t.lists()).toEqual([]);
  });

  it('a list refused while the file is sent (taken since the check) fails the file, and the note names the lists that were created', async () => {
    let createByHand = (_args: Record<string, unknown>): Promise<void> =>
      Promise.reject(new Error('the server is not up yet'));
    // 101 lists: two pushes. Between them a supervisor creates PO-101 by hand under another
    // id, so the check passed and the server refuses that list at the push.
    const rows = Array.from({ length: 101 }, (_, k) => `PO-${k + 1};1;A;1`);
    class RacingApi extends SyncApi {
      override async session(clientGroupID: string) {
        const session = await super.session(clientGroupID);
        const push = session.push.bind(session);
        let pushes = 0;
        session.push = async (mutations) => {
          if (pushes++ === 1) {
            await createByHand(
              mutations.find((m) => m.id === 101)?.args as Record<string, unknown>,
            );
          }
          return push(mutations);
        };
        return session;
      }
    }
    const t = await setup(0, (o) => new RacingApi(o));
    createByHand = async (args) => {
      await t.supervisor.pushOk([
        t.supervisor.mutation('createList', { ...args, listId: crypto.randomUUID() }),
      ]);
    };
    t.put('big.csv', ['list;line;item;quantity', ...rows].join('\n'));
    await t.drop.scan();
    const reports = t.reports;
    expect(reports.map((r) => r.outcome)).toEqual(['failed']);
    expect(reports[0]?.errors).toHaveLength(1);
    expect(reports[0]?.errors[0]).toMatch(/^line 102, list PO-101: /);
    expect(reports[0]?.lists.filter((l) => l.status === 'applied')).toHaveLength(100);
    const note = readFileSync(
      path.join(
        t.dir,
        'failed',
        t.files('failed').find((f) => f.endsWith('.errors.txt')) as string,
      ),
      'utf8',
    );
    const lines = note.trimEnd().split('\n');
    expect(lines[0]).toBe(reports[0]?.errors[0]);
    expect(lines[2]).toBe(
      'These 100 lists of the file were created (or were there already) and stay:',
    );
    expect(lines.slice(3)).toEqual(
      Array.from({ length: 100 }, (_, k) => `  PO-${k + 1} (applied)`),
    );
    // The list made by hand is the one there, with the other 100.
    expect((await t.lists()).length).toBe(101);
  });

  it('a file written again under the same name while the first is imported is a new file', async () => {
    const t = await setup();
    t.put('export.csv', RECEIPTS);
    await t.drop.scan();
    t.put('export.csv', 'list;line;item;quantity\nPO-200;1;A;1\n');
    await t.drop.scan();
    expect(t.reports.map((r) => r.outcome)).toEqual(['imported', 'imported']);
    expect((await t.lists()).map((l) => l.code).sort()).toEqual(['PO-100', 'PO-101', 'PO-200']);
    expect(t.files('done').filter((f) => f.endsWith('export.csv'))).toHaveLength(2);
  });

  it('a file with an error imports nothing and says which line and column', async () => {
    const t = await setup();
    t.put('bad.csv', 'list;line;item;quantity;position\nPO-7;1;A;10;P\nPO-8;1;NOPE;two;ZZ\n');
    t.put('binary.csv', '\u0000\u0001\u0002');
    await t.drop.scan();
    expect(t.reports.map((r) => [r.file, r.outcome])).toEqual([
      ['bad.csv', 'failed'],
      ['binary.csv', 'failed'],
    ]);
    expect(t.reports[0]?.errors).toEqual([
      'line 3, item: unknown item "NOPE" (neither a SKU nor a barcode)',
      'line 3, quantity: "two" is not a quantity',
      'line 3, position: unknown position "ZZ"',
    ]);
    expect(await t.lists()).toEqual([]);
    const note = t.files('failed').find((f) => f.endsWith('bad.csv.errors.txt')) as string;
    expect(readFileSync(path.join(t.dir, 'failed', note), 'utf8')).toContain('line 3, item');
  });

  it('list ids come from the document, the same every time', () => {
    const a = listIdOf('receipt', 'PO-1');
    expect(a).toBe(listIdOf('receipt', 'PO-1'));
    expect(a).not.toBe(listIdOf('shipment', 'PO-1'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('a folder that cannot be made or read is said and tried again at every tick, never a crash', async () => {
    const w = await warehouseServer();
    const base = await w.server.listen();
    cleanup.push(() => w.server.close());
    const parent = mkdtempSync(path.join(tmpdir(), 'floorsync-drop-'));
    cleanup.push(() => rmSync(parent, { recursive: true, force: true }));
    const dir = path.join(parent, 'drop');
    writeFileSync(dir, 'a file where the folder should be (a share not mounted yet)');
    const errors: string[] = [];
    const reports: ListDropReport[] = [];
    const drop = startListDrop({
      api: new SyncApi({ base, username: 'sup', password: 'sup-password' }),
      dir,
      pollMs: 20,
      settleMs: 0,
      onFile: (r) => reports.push(r),
      onError: (e) => errors.push((e as NodeJS.ErrnoException).code ?? String(e)),
    });
    cleanup.push(() => drop.stop());
    await expect.poll(() => errors.length).toBeGreaterThanOrEqual(3);
    expect(new Set(errors)).toEqual(new Set(['ENOTDIR']));
    // The folder comes: the next tick makes its subfolders and imports what is there.
    rmSync(dir);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'orders.csv'), RECEIPTS);
    const past = new Date(Date.now() - 5000);
    utimesSync(path.join(dir, 'orders.csv'), past, past);
    await expect
      .poll(() => reports.map((r) => r.outcome), { timeout: 10_000 })
      .toEqual(['imported']);
  });

  it('a server not reached: the claimed file waits longer after each failure, then imports once it is back', async () => {
    const w = await warehouseServer();
    cleanup.push(() => w.server.close());
    const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-drop-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'orders.csv'), RECEIPTS);
    const past = new Date(Date.now() - 5000);
    utimesSync(path.join(dir, 'orders.csv'), past, past);
    // A port nobody listens on yet: the server is down.
    const closed = await w.server.listen();
    await w.server.close();
    const errors: number[] = [];
    const reports: ListDropReport[] = [];
    let api = new SyncApi({ base: closed, username: 'sup', password: 'sup-password' });
    const drop = startListDrop({
      api: { session: (id: string) => api.session(id) } as SyncApi,
      dir,
      pollMs: 20,
      settleMs: 0,
      onFile: (r) => reports.push(r),
      onError: () => errors.push(Date.now()),
    });
    cleanup.push(() => drop.stop());
    await new Promise((r) => setTimeout(r, 1500));
    // Every 20 ms, it would have tried some 70 times; doubling from 40 ms, at most 6.
    // (A busy machine only makes it fewer.)
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors.length).toBeLessThanOrEqual(7);
    expect(reports).toEqual([]);
    // A server is there again: the file goes through.
    const back = await warehouseServer();
    cleanup.push(() => back.server.close());
    api = new SyncApi({
      base: await back.server.listen(),
      username: 'sup',
      password: 'sup-password',
    });
    await expect
      .poll(() => reports.map((r) => r.outcome), { timeout: 15_000 })
      .toEqual(['imported']);
  });

  it('a file over the size limit is refused unread, with its size', async () => {
    const w = await warehouseServer();
    const base = await w.server.listen();
    cleanup.push(() => w.server.close());
    const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-drop-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const reports: ListDropReport[] = [];
    const drop = startListDrop({
      api: new SyncApi({ base, username: 'sup', password: 'sup-password' }),
      dir,
      pollMs: 3_600_000,
      settleMs: 0,
      maxBytes: 100,
      onFile: (r) => reports.push(r),
    });
    cleanup.push(() => drop.stop());
    writeFileSync(path.join(dir, 'huge.csv'), RECEIPTS + '\n'.repeat(200));
    await drop.scan();
    expect(reports).toMatchObject([
      {
        file: 'huge.csv',
        outcome: 'failed',
        errors: [expect.stringMatching(/^the file has \d+ bytes; at most 100/)],
      },
    ]);
  });

  it('a file still being written waits', async () => {
    const t = await setup(60_000);
    writeFileSync(path.join(t.dir, 'fresh.csv'), RECEIPTS);
    await t.drop.scan();
    expect(t.reports).toEqual([]);
    expect(readdirSync(t.dir)).toContain('fresh.csv');
  });
});
