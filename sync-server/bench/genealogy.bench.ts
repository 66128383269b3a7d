import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EventId, GenealogyLink, GenealogyNode, JobId } from '@floorsync/domain';
import {
  asEventId,
  asItemId,
  asLot,
  asSerial,
  jobNode,
  linkIdOf,
  lotNode,
  nodeKey,
  serialNode,
} from '@floorsync/domain';
import type { Bench, BenchResult } from '../../scripts/bench-kit.js';
import { reach } from '../src/genealogy/routes.js';
import { openMemoryStorage } from '../src/storage/memory/memory-storage.js';
import type { Storage } from '../src/storage/port.js';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';

/**
 * "Where did this lot go?" over a graph of 100,000 genealogy links, from the stored graph
 * (`genealogy.descendants100k_ms`, target < 200 ms): the server's answer, as the API gives it
 * (SQLite: one recursive query; the in-memory twin: the domain's traversal over its indexes).
 *
 * The graph is a production history: 2,000 jobs in 20 generations; each job consumes five
 * lots or serials made by earlier jobs (or bought in), produces ten serials, and its serials
 * are packed on containers and shipped — 100,000 links. The measured root is a lot bought in at
 * the start, whose descendants run through every later generation.
 */
const LINKS = 100_000;

function graph(): GenealogyLink[] {
  const links: GenealogyLink[] = [];
  let n = 0;
  const ev = () => asEventId(`ev-${n++}`);
  const link = (kind: GenealogyLink['kind'], from: GenealogyNode, to: GenealogyNode) => {
    const fromKey = nodeKey(from);
    const toKey = nodeKey(to);
    const eventId: EventId = ev();
    links.push({
      id: linkIdOf(kind, fromKey, toKey),
      kind,
      from,
      to,
      fromKey,
      toKey,
      quantity: 1,
      eventId,
      lastEventId: eventId,
      status: 'active',
      replacement: null,
      shipment: null,
    });
  };
  const item = asItemId('item-p');
  const bought = Array.from({ length: 200 }, (_, i) =>
    lotNode(asItemId('item-raw'), asLot(`RAW-${i}`)),
  );
  let previous: GenealogyNode[] = bought;
  let rand = 42;
  const next = () => (rand = (rand * 1103515245 + 12345) % 2 ** 31);
  for (let g = 0; links.length < LINKS; g++) {
    const made: GenealogyNode[] = [];
    for (let j = 0; j < 100 && links.length < LINKS; j++) {
      const job = jobNode(`job-${g}-${j}` as JobId);
      for (let k = 0; k < 5; k++)
        link('consumed-into', previous[next() % previous.length] as GenealogyNode, job);
      for (let k = 0; k < 10; k++) {
        const out = serialNode(item, asSerial(`S-${g}-${j}-${k}`));
        link('produced', job, out);
        made.push(out);
      }
      // Half the output is packed on a pallet and shipped.
      const pallet: GenealogyNode = { kind: 'container', positionId: `pallet-${g}-${j}` as never };
      const shipment: GenealogyNode = { kind: 'shipment', eventId: asEventId(`ship-${g}-${j}`) };
      for (let k = 0; k < 5; k++) {
        link('packed-on', made[made.length - 10 + k] as GenealogyNode, pallet);
        link('shipped-in', made[made.length - 10 + k] as GenealogyNode, shipment);
      }
    }
    previous = made;
  }
  return links.slice(0, LINKS);
}

async function measure(storage: Storage, links: GenealogyLink[]): Promise<BenchResult> {
  for (let i = 0; i < links.length; i += 5000) {
    const part = links.slice(i, i + 5000);
    await storage.write((tx) => {
      for (const l of part) tx.applyProductionChange({ op: 'putLink', link: l }, 1);
    });
  }
  const root = lotNode(asItemId('item-raw'), asLot('RAW-0'));
  const times: number[] = [];
  let reached = 0;
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    // As the API answers it: one recursive query where the store has one (SQLite).
    reached = await storage.read((tx) => reach(tx, root, 'down', { maxDepth: 1000 }).nodes.length);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  process.stderr.write(`  descendants of RAW-0: ${reached} nodes reached\n`);
  return {
    value: times[3] as number,
    unit: `ms (median of 7; ${reached} of the graph's nodes reached)`,
  };
}

export const benches: Bench[] = [
  {
    name: 'genealogy.descendants100k_ms',
    async run() {
      const links = graph();
      const dir = mkdtempSync(path.join(tmpdir(), 'floorsync-bench-genealogy-'));
      const sqlite = openSqliteStorage({ path: path.join(dir, 'floorsync.db') });
      let onSqlite: BenchResult;
      try {
        onSqlite = await measure(sqlite, links);
      } finally {
        await sqlite.close();
        rmSync(dir, { recursive: true, force: true });
      }
      const memory = openMemoryStorage();
      const inMemory = await measure(memory, links);
      await memory.close();
      return {
        'genealogy.descendants100k_ms': onSqlite,
        'genealogy.descendants100k_memory_ms': inMemory,
      };
    },
  },
];
