import type { Hono, MiddlewareHandler } from 'hono';
import type {
  GenealogyNode,
  ItemId,
  Lot,
  ReachedNode,
  Traversal,
  TraversalOptions,
} from '@floorsync/domain';
import {
  DEFAULT_MAX_DEPTH,
  MAX_DEPTH_LIMIT,
  genealogyQueriesOf,
  nodeKey,
  nodeOfKey,
  recallCsv,
  recallReport,
} from '@floorsync/domain';
import { RECALL_PDF_LANGS, recallPdf } from '@floorsync/workers';
import type { Env } from '../app.js';
import { HttpProblem, badRequest } from '../http/problem.js';
import type { ReadTx, Storage } from '../storage/port.js';

/**
 * Genealogy questions for supervisors (DOMAIN.md "Genealogy"): what went into a lot or serial
 * (ancestors), where it went (descendants: products, containers, shipments), the full tree, and
 * the recall report — every shipment that contains a lot — as JSON or CSV. The traversals are
 * the domain's, over the store's two questions (a node's links out and in), in one read.
 */
/**
 * Ancestors or descendants: in one query where the store has one (`reachable`, held equal to
 * the domain's traversal by the storage contract), else the domain's traversal.
 */
export function reach(
  tx: ReadTx,
  node: GenealogyNode,
  direction: 'up' | 'down',
  opts: TraversalOptions,
): Traversal {
  const g = genealogyQueriesOf(tx);
  if (!tx.reachable)
    return direction === 'up' ? g.ancestors(node, opts) : g.descendants(node, opts);
  const depth = Math.max(
    0,
    Math.min(MAX_DEPTH_LIMIT, Math.floor(opts.maxDepth ?? DEFAULT_MAX_DEPTH)),
  );
  const r = tx.reachable(nodeKey(node), direction, depth, opts.history ?? false);
  // By depth, then key (keys are ASCII: the native sort is the domain's order).
  const byDepth: string[][] = [];
  for (const { key, depth: d } of r.nodes) (byDepth[d] ??= []).push(key);
  const nodes: ReachedNode[] = [];
  byDepth.forEach((keys, d) => {
    for (const key of keys.sort())
      nodes.push({ node: nodeOfKey(key) as GenealogyNode, key, depth: d });
  });
  return { nodes, truncated: r.truncated };
}

export function genealogyRoutes(
  app: Hono<Env>,
  o: {
    readonly storage: Storage;
    readonly requireRole: (role: 'supervisor') => MiddlewareHandler<Env>;
  },
): void {
  const options = (q: Record<string, string>) => {
    const depth = q['maxDepth'] === undefined ? undefined : Number(q['maxDepth']);
    if (depth !== undefined && !(Number.isInteger(depth) && depth >= 1 && depth <= MAX_DEPTH_LIMIT))
      throw badRequest(`maxDepth must be a whole number from 1 to ${MAX_DEPTH_LIMIT}`);
    return { ...(depth !== undefined ? { maxDepth: depth } : {}), history: q['history'] === '1' };
  };

  app.get('/api/genealogy', o.requireRole('supervisor'), async (c) => {
    const q = c.req.query();
    const node = nodeOfKey(q['node'] ?? '');
    if (!node)
      throw badRequest(
        'node must be a node key: lot:<itemId>:<lot>, serial:<itemId>:<serial>, job:<jobId>, container:<positionId> or shipment:<eventId>, each character of a part other than A-Z a-z 0-9 _ . ~ - written as % and 4 lowercase hex digits',
      );
    const direction = q['direction'] ?? 'tree';
    if (!['ancestors', 'descendants', 'tree'].includes(direction))
      throw badRequest('direction must be ancestors, descendants or tree');
    const opts = options(q);
    const answer = await o.storage.read((tx) => {
      if (direction !== 'tree')
        return reach(tx, node, direction === 'ancestors' ? 'up' : 'down', opts);
      return genealogyQueriesOf(tx).tree(node, opts);
    });
    return c.json(answer);
  });

  app.get('/api/genealogy/recall', o.requireRole('supervisor'), async (c) => {
    const q = c.req.query();
    const itemId = q['itemId'];
    const lot = q['lot'];
    if (!itemId || !lot) throw badRequest('itemId and lot are required');
    const opts = options(q);
    const [report, sku] = await o.storage.read(
      (tx) =>
        [
          recallReport(
            tx,
            { itemId: itemId as ItemId, lot: lot as Lot },
            {
              item: (id) => tx.item(id),
              position: (id) => tx.position(id),
              productionJob: (id) => tx.productionJob(id),
            },
            opts.maxDepth !== undefined ? { maxDepth: opts.maxDepth } : {},
          ),
          tx.item(itemId as ItemId)?.sku,
        ] as const,
    );
    // A recall letter must not miss a shipment: a report the depth limit cut short is refused
    // as CSV or PDF (the JSON says `truncated`).
    if ((q['format'] === 'csv' || q['format'] === 'pdf') && report.truncated)
      throw new HttpProblem(
        409,
        'RECALL_TRUNCATED',
        'Conflict',
        `the search stopped at depth ${opts.maxDepth ?? DEFAULT_MAX_DEPTH} with more beyond it: ask again with a larger maxDepth (at most ${MAX_DEPTH_LIMIT})`,
      );
    if (q['format'] === 'pdf') {
      // In the asker's language (`lang`: en, de), the item by its SKU.
      const lang = RECALL_PDF_LANGS.find((l) => l === q['lang']) ?? 'en';
      const pdf = await recallPdf(report, {
        lot,
        item: sku ?? itemId,
        generatedAt: new Date().toISOString(),
        lang,
      });
      return c.body(pdf as Uint8Array<ArrayBuffer>, 200, {
        'content-type': 'application/pdf',
        'content-disposition': `attachment; filename="recall-${encodeURIComponent(lot)}.pdf"`,
      });
    }
    if (q['format'] === 'csv')
      return c.body(recallCsv(report), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="recall-${encodeURIComponent(lot)}.csv"`,
      });
    return c.json(report);
  });
}
