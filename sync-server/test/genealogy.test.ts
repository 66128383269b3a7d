import { asItemId, asLot, asSerial, lotNode, nodeKey, serialNode } from '@floorsync/domain';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestServer } from './harness.js';
import { quantityAt, warehouseWithOperators } from './harness.js';

/**
 * Scenario 23 through the sync protocol and the read API: a production job consumes lot L1 and
 * serial S7 and produces serial P1; P1 is packed on pallet C and shipped. "What went into P1"
 * and "where did L1 go" are answered from the stored graph; the recall report names the
 * shipment.
 */
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const JOB = '0192f0c8-0000-7000-8000-0000000000c3';

describe('production and genealogy over the API', () => {
  it('scenario 23: what went into P1, where L1 went, and the recall of L1', async () => {
    const w = await warehouseWithOperators();
    server = w.server;
    const sup = w.supervisor;
    const ok = async (
      d: typeof sup,
      mutations: { name: string; args: Record<string, unknown> }[],
    ) => {
      const res = await d.pushOk(mutations.map((m) => d.mutation(m.name, m.args)));
      expect(res.results.map((r) => [r.status, r.error?.code])).toEqual(
        mutations.map(() => ['applied', undefined]),
      );
    };
    await ok(sup, [
      { name: 'receiveStock', args: { itemId: 'L', positionId: 'P', quantity: 5, lot: 'L1' } },
      { name: 'receiveStock', args: { itemId: 'S', positionId: 'P', quantity: 1, serial: 'S7' } },
      { name: 'createProductionJob', args: { jobId: JOB, code: 'J-23', itemId: 'S' } },
      { name: 'startProductionJob', args: { jobId: JOB } },
    ]);
    await ok(w.op1, [
      {
        name: 'consumeForJob',
        args: { jobId: JOB, itemId: 'L', from: 'P', quantity: 2, lot: 'L1' },
      },
      {
        name: 'consumeForJob',
        args: { jobId: JOB, itemId: 'S', from: 'P', quantity: 1, serial: 'S7' },
      },
      {
        name: 'produceForJob',
        args: { jobId: JOB, itemId: 'S', to: 'P', quantity: 1, serial: 'P1' },
      },
      { name: 'moveStock', args: { itemId: 'S', from: 'P', to: 'C', quantity: 1, serial: 'P1' } },
      { name: 'shipStock', args: { itemId: 'S', from: 'C', quantity: 1, serial: 'P1' } },
    ]);
    expect(await quantityAt(w.server, sup.token, 'L', 'P')).toBe(3);

    const get = async <T>(path: string): Promise<T> => {
      const res = await w.server.request(path, { token: sup.token });
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as T;
    };
    const P1 = nodeKey(serialNode(asItemId('S'), asSerial('P1')));
    const L1 = nodeKey(lotNode(asItemId('L'), asLot('L1')));
    const S7 = nodeKey(serialNode(asItemId('S'), asSerial('S7')));
    const into = await get<{ nodes: { key: string; node: { kind: string } }[] }>(
      `/api/genealogy?node=${encodeURIComponent(P1)}&direction=ancestors`,
    );
    // Exactly what went in: the job that made it, lot L1 and serial S7 — nothing else.
    expect(into.nodes.map((n) => n.key).sort()).toEqual(
      [L1, S7, ...into.nodes.filter((n) => n.node.kind === 'job').map((n) => n.key)].sort(),
    );
    expect(into.nodes.filter((n) => n.node.kind === 'job')).toHaveLength(1);
    const went = await get<{ nodes: { key: string; node: { kind: string } }[] }>(
      `/api/genealogy?node=${encodeURIComponent(L1)}&direction=descendants`,
    );
    // Exactly where it went: the job, P1, pallet C and the shipment.
    expect(went.nodes.map((n) => n.node.kind).sort()).toEqual([
      'container',
      'job',
      'serial',
      'shipment',
    ]);
    expect(went.nodes.find((n) => n.node.kind === 'serial')?.key).toBe(P1);
    expect(went.nodes.find((n) => n.node.kind === 'container')?.key).toContain('C');

    const recall = await w.server.request('/api/genealogy/recall?itemId=L&lot=L1&format=csv', {
      token: sup.token,
    });
    expect(recall.headers.get('content-type')).toContain('text/csv');
    const csv = await recall.text();
    expect(csv.split('\n').length).toBeGreaterThan(1);
    expect(csv).toContain('P1');

    // The same as a PDF for the letter's annex: the shipment's row is in its text.
    const pdf = await w.server.request('/api/genealogy/recall?itemId=L&lot=L1&format=pdf', {
      token: sup.token,
    });
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
    const doc = await getDocument({
      data: new Uint8Array(await pdf.arrayBuffer()),
      isEvalSupported: false,
      verbosity: 0,
    }).promise;
    const text = (await (await doc.getPage(1)).getTextContent()).items
      .map((i) => ('str' in i ? i.str : ''))
      .join(' ');
    expect(text).toContain('Recall: lot L1 of L');
    expect(text).toContain('1 shipment · generated');
    expect(text).toContain('P1');
    // In German when asked (the screen asks in its language); a language it does not have is
    // English.
    const pdfText = async (query: string) => {
      const res = await w.server.request(`/api/genealogy/recall?${query}`, { token: sup.token });
      expect(res.headers.get('content-type')).toBe('application/pdf');
      const d = await getDocument({
        data: new Uint8Array(await res.arrayBuffer()),
        isEvalSupported: false,
        verbosity: 0,
      }).promise;
      return (await (await d.getPage(1)).getTextContent()).items
        .map((i) => ('str' in i ? i.str : ''))
        .join(' ');
    };
    const german = await pdfText('itemId=L&lot=L1&format=pdf&lang=de');
    expect(german).toContain('Rückruf: Charge L1 von L');
    expect(german).toContain('1 Sendung · erstellt');
    expect(await pdfText('itemId=L&lot=L1&format=pdf&lang=xx')).toContain('Recall: lot L1');

    // A recall cut short by the depth limit is not handed out as a letter.
    const cut = await w.server.request(
      '/api/genealogy/recall?itemId=L&lot=L1&format=csv&maxDepth=1',
      { token: sup.token },
    );
    expect(cut.status).toBe(409);
    expect(await cut.text()).toContain('RECALL_TRUNCATED');

    // Bad questions get clear answers; operators do not ask them.
    const bad = await w.server.request('/api/genealogy?node=nonsense', { token: sup.token });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    const op = await w.server.request(`/api/genealogy?node=${encodeURIComponent(L1)}`, {
      token: w.op1.token,
    });
    expect(op.status).toBe(403);
  });

  it('consuming for a job completed meanwhile is stale: nothing moves', async () => {
    const w = await warehouseWithOperators();
    server = w.server;
    const sup = w.supervisor;
    await sup.pushOk([
      sup.mutation('receiveStock', { itemId: 'L', positionId: 'P', quantity: 5, lot: 'L1' }),
      sup.mutation('createProductionJob', { jobId: JOB, code: 'J-1', itemId: 'S' }),
      sup.mutation('startProductionJob', { jobId: JOB }),
      sup.mutation('completeProductionJob', { jobId: JOB }),
    ]);
    const late = await w.op1.pushOk([
      w.op1.mutation('consumeForJob', {
        jobId: JOB,
        itemId: 'L',
        from: 'P',
        quantity: 2,
        lot: 'L1',
      }),
    ]);
    expect(late.results[0]).toMatchObject({ status: 'rejected', error: { code: 'STALE_INTENT' } });
    expect(await quantityAt(w.server, sup.token, 'L', 'P')).toBe(5);
  });
});
