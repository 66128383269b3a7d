import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EventId } from '../shared/ids.js';
import { asEventId, asItemId, asLot, asPositionId, asSerial } from '../shared/ids.js';
import { asJobId } from './commands.js';
import type { RecallReport, TraversalOptions } from './queries.js';
import {
  DEFAULT_MAX_DEPTH,
  ancestors,
  csvCell,
  descendants,
  genealogyQueriesOf,
  genealogyTree,
  recallCsv,
  recallReport,
} from './queries.js';
import type {
  GenealogyLink,
  GenealogyLinks,
  GenealogyNode,
  LinkKind,
  LinkStatus,
  NodeKey,
} from './state.js';
import {
  applyProductionChange,
  containerNode,
  followsLink,
  initialProductionState,
  jobNode,
  lotNode,
  nodeKey,
  nodeOfKey,
  productionViewOf,
  serialNode,
  shipmentNode,
} from './state.js';

// ─── A graph to query ───────────────────────────────────────────────────────────────────────

/** Node `i`: one of every kind in turn, so keys of all shapes mix. */
function nodeAt(i: number): GenealogyNode {
  switch (i % 5) {
    case 0:
      return lotNode(asItemId(`item-${i % 97}`), asLot(`L${i}`));
    case 1:
      return serialNode(asItemId(`item-${i % 89}`), asSerial(`SN:${i}`));
    case 2:
      return jobNode(asJobId(`0192f0c8-0000-7000-8000-${String(i).padStart(12, '0')}`));
    case 3:
      return containerNode(asPositionId(`pallet ${i}`));
    default:
      return shipmentNode(asEventId(`e${i}`));
  }
}

let linkSeq = 0;
function linkOf(
  from: GenealogyNode,
  to: GenealogyNode,
  status: LinkStatus = 'active',
  kind: LinkKind = 'consumed-into',
  fromKey = nodeKey(from),
  toKey = nodeKey(to),
): GenealogyLink {
  const eventId = asEventId(`g${++linkSeq}`);
  return {
    // Unique like a real assembly link's id; `linkIdOf` is the fold's business.
    id: `${kind}|${fromKey}|${toKey}|${eventId}`,
    kind,
    from,
    to,
    fromKey,
    toKey,
    quantity: status === 'reversed' ? 0 : 1,
    eventId,
    lastEventId: eventId,
    status,
    replacement: null,
    shipment: null,
  };
}

function portOf(links: readonly GenealogyLink[]) {
  const state = initialProductionState();
  for (const link of links) applyProductionChange(state, { op: 'putLink', link });
  return productionViewOf(state);
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The followable links of one direction as arrays of numbered ends: built once per graph. */
function linkTable(links: readonly GenealogyLink[], direction: 'up' | 'down', history: boolean) {
  const ids = new Map<NodeKey, number>();
  const idOf = (k: NodeKey) => ids.get(k) ?? (ids.set(k, ids.size), ids.size - 1);
  const near: number[] = [];
  const far: number[] = [];
  for (const l of links) {
    if (!followsLink(l, history)) continue;
    near.push(idOf(direction === 'down' ? l.fromKey : l.toKey));
    far.push(idOf(direction === 'down' ? l.toKey : l.fromKey));
  }
  return { ids, near: Int32Array.from(near), far: Int32Array.from(far) };
}
type LinkTable = ReturnType<typeof linkTable>;

/**
 * The answer, brute force and independent of the BFS: layer by layer, scan *every* link and
 * give the far end of each link leaving the current layer the next depth.
 */
function bruteForce(table: LinkTable, root: GenealogyNode, maxDepth = DEFAULT_MAX_DEPTH) {
  const { ids, near, far } = table;
  const rootId = ids.get(nodeKey(root)) ?? -2;
  const dist = new Int32Array(ids.size).fill(-1);
  if (rootId >= 0) dist[rootId] = 0;
  for (let d = 0; d < maxDepth && rootId >= 0; d++) {
    let grew = false;
    for (let i = 0; i < near.length; i++) {
      const f = far[i] as number;
      if (dist[near[i] as number] === d && dist[f] === -1) {
        dist[f] = d + 1;
        grew = true;
      }
    }
    if (!grew) break;
  }
  const truncated = near.some((a, i) => dist[a] === maxDepth && dist[far[i] as number] === -1);
  const nodes: { key: NodeKey; depth: number }[] = [];
  for (const [key, id] of ids) {
    const depth = dist[id] as number;
    if (depth > 0) nodes.push({ key, depth });
  }
  nodes.sort((a, b) => a.depth - b.depth || (a.key < b.key ? -1 : 1));
  return { nodes, truncated };
}

/** A port that records which nodes a query asked about. */
function spy(port: GenealogyLinks) {
  const asked: NodeKey[] = [];
  const spied: GenealogyLinks = {
    linksFrom: (key) => (asked.push(key), port.linksFrom(key)),
    linksTo: (key) => (asked.push(key), port.linksTo(key)),
  };
  return { spied, asked };
}

const keysOf = (t: { readonly nodes: readonly { key: NodeKey; depth: number }[] }) =>
  t.nodes.map((n) => ({ key: n.key, depth: n.depth }));

// ─── 100,000 links ──────────────────────────────────────────────────────────────────────────

/**
 * 30,000 nodes in 1,000 clusters of 30, densely and cyclically linked inside, a few links
 * across; some links replaced (history), some reversed (never followed). Built on first use,
 * inside the first test, so its time counts.
 */
function bigGraph() {
  const rand = random(23);
  const CLUSTERS = 1000;
  const SIZE = 30;
  const nodes = Array.from({ length: CLUSTERS * SIZE }, (_, i) => nodeAt(i));
  const keys = nodes.map(nodeKey);
  const at = (cluster: number) => cluster * SIZE + Math.floor(rand() * SIZE);
  const links: GenealogyLink[] = [];
  for (let i = 0; i < 100_000; i++) {
    const c = Math.floor(rand() * CLUSTERS);
    const across = rand() < 0.003;
    const r = rand();
    const status: LinkStatus = r < 0.85 ? 'active' : r < 0.95 ? 'replaced' : 'reversed';
    const a = at(c);
    const b = at(across ? Math.floor(rand() * CLUSTERS) : c);
    const [from, to] = [nodes[a], nodes[b]] as [GenealogyNode, GenealogyNode];
    links.push(linkOf(from, to, status, 'consumed-into', keys[a], keys[b]));
  }
  const tables: Record<string, LinkTable> = {};
  for (const direction of ['up', 'down'] as const) {
    for (const history of [false, true]) {
      tables[`${direction}${history}`] = linkTable(links, direction, history);
    }
  }
  const roots = Array.from(
    { length: 6 },
    () => nodes[at(Math.floor(rand() * CLUSTERS))] as GenealogyNode,
  );
  return { links, port: portOf(links), tables, roots };
}
let built: ReturnType<typeof bigGraph> | undefined;
const graph = () => (built ??= bigGraph());

describe('traversals of a 100,000-link graph', () => {
  it('ancestors and descendants are exactly the brute-force answer, asking only about reached nodes', () => {
    const { links, port, tables, roots } = graph();
    expect(links).toHaveLength(100_000);
    for (const root of roots) {
      for (const options of [{}, { history: true }, { maxDepth: 2 }] as TraversalOptions[]) {
        for (const direction of ['up', 'down'] as const) {
          const { spied, asked } = spy(port);
          const q = genealogyQueriesOf(spied);
          const got =
            direction === 'down' ? q.descendants(root, options) : q.ancestors(root, options);
          const table = tables[`${direction}${options.history === true}`] as LinkTable;
          const expected = bruteForce(table, root, options.maxDepth);
          expect(keysOf(got)).toEqual(expected.nodes);
          expect(got.truncated).toBe(expected.truncated);
          // Each node asked about once, and only nodes it reached (or the root).
          const reached = new Set([nodeKey(root), ...got.nodes.map((n) => n.key)]);
          expect(asked.every((k) => reached.has(k))).toBe(true);
          expect(new Set(asked).size).toBe(asked.length);
          for (const n of got.nodes) expect(nodeKey(n.node)).toBe(n.key);
        }
      }
    }
  }, 60_000); // builds a 100,000-link graph and a brute-force answer: slow on a busy machine

  it('does not depend on the order a store returns links in', () => {
    const { port, roots } = graph();
    const shuffled: GenealogyLinks = {
      linksFrom: (k) => [...port.linksFrom(k)].reverse(),
      linksTo: (k) => [...port.linksTo(k)].reverse(),
    };
    for (const root of roots.slice(0, 2)) {
      expect(genealogyTree(shuffled, root)).toEqual(genealogyTree(port, root));
    }
  });

  it('the tree is both directions, with the links it followed', () => {
    const { links, port, roots } = graph();
    const root = roots[0] as GenealogyNode;
    const tree = genealogyQueriesOf(port).tree(root);
    expect(tree.ancestors).toEqual(ancestors(port, root));
    expect(tree.descendants).toEqual(descendants(port, root));
    const inTree = new Set([tree.rootKey, ...tree.ancestors.nodes.map((n) => n.key)]);
    const below = new Set([tree.rootKey, ...tree.descendants.nodes.map((n) => n.key)]);
    // Exactly the followable links among what the walks reached.
    const expected = links
      .filter(
        (l) =>
          followsLink(l, false) &&
          ((inTree.has(l.fromKey) && inTree.has(l.toKey)) ||
            (below.has(l.fromKey) && below.has(l.toKey))),
      )
      .map((l) => l.id)
      .sort();
    expect(tree.links.map((l) => l.id)).toEqual(expected);
  });
});

// ─── Cycles and depth ───────────────────────────────────────────────────────────────────────

const n = (i: number) => lotNode(asItemId('item'), asLot(`N${i}`));
const labels = (t: { readonly nodes: readonly { node: GenealogyNode; depth: number }[] }) =>
  t.nodes.map((r) => `${r.node.kind === 'lot' ? r.node.lot : r.node.kind}@${r.depth}`);

describe('cycles and depth', () => {
  it('a cycle ends: each node once, at its shortest distance, the root left out', () => {
    const port = portOf([
      linkOf(n(1), n(2)),
      linkOf(n(2), n(3)),
      linkOf(n(3), n(1)),
      linkOf(n(2), n(2)),
    ]);
    expect(labels(descendants(port, n(1)))).toEqual(['N2@1', 'N3@2']);
    expect(labels(ancestors(port, n(1)))).toEqual(['N3@1', 'N2@2']);
    expect(genealogyTree(port, n(1)).links).toHaveLength(4);
  });

  it('stops at the depth limit and says so', () => {
    const chain = Array.from({ length: 10 }, (_, i) => linkOf(n(i), n(i + 1)));
    const port = portOf(chain);
    const cut = descendants(port, n(0), { maxDepth: 3 });
    expect(labels(cut)).toEqual(['N1@1', 'N2@2', 'N3@3']);
    expect(cut.truncated).toBe(true);
    expect(descendants(port, n(0), { maxDepth: 10 }).truncated).toBe(false);
    expect(descendants(port, n(0), { maxDepth: 0 })).toEqual({ nodes: [], truncated: true });
    // Nonsense limits fall back to something sane rather than looping or throwing.
    expect(descendants(port, n(0), { maxDepth: Number.NaN }).nodes).toHaveLength(10);
    expect(descendants(port, n(0), { maxDepth: -5 }).nodes).toEqual([]);
  });

  it('follows replaced links only for history, reversed ones never', () => {
    const port = portOf([
      linkOf(n(1), n(0), 'active', 'contained-in'),
      linkOf(n(2), n(0), 'replaced', 'contained-in'),
      linkOf(n(3), n(0), 'reversed'),
    ]);
    expect(labels(ancestors(port, n(0)))).toEqual(['N1@1']);
    expect(labels(ancestors(port, n(0), { history: true }))).toEqual(['N1@1', 'N2@1']);
  });
});

// ─── Properties ─────────────────────────────────────────────────────────────────────────────

const smallGraph = fc.record({
  size: fc.integer({ min: 1, max: 9 }),
  edges: fc.array(
    fc.record({
      from: fc.nat(),
      to: fc.nat(),
      status: fc.constantFrom<LinkStatus>('active', 'active', 'replaced', 'reversed'),
    }),
    { maxLength: 25 },
  ),
  history: fc.boolean(),
});

describe('traversals (properties)', () => {
  it('y is a descendant of x exactly when x is an ancestor of y, at the same depth', () => {
    fc.assert(
      fc.property(smallGraph, ({ size, edges, history }) => {
        const port = portOf(edges.map((e) => linkOf(n(e.from % size), n(e.to % size), e.status)));
        const depth = (t: ReturnType<typeof descendants>) =>
          new Map(t.nodes.map((r) => [r.key, r.depth]));
        const down = Array.from({ length: size }, (_, i) =>
          depth(descendants(port, n(i), { history })),
        );
        const up = Array.from({ length: size }, (_, i) =>
          depth(ancestors(port, n(i), { history })),
        );
        for (let x = 0; x < size; x++) {
          for (let y = 0; y < size; y++) {
            if (x === y) continue;
            expect(down[x]?.get(nodeKey(n(y)))).toBe(up[y]?.get(nodeKey(n(x))));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('node keys are reversible, one-to-one and ASCII, whatever the ids hold', () => {
    const part = fc.oneof(
      fc.string({
        minLength: 1,
        maxLength: 8,
        unit: fc.oneof(
          fc.constantFrom(':', '%', '|', '~', ' ', 'é', '\ud800', '\udfff', '😀'),
          fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme-ascii' }),
        ),
      }),
      fc.constantFrom(':', '%', '%41', '|', 'a:b', '\ud800', 'é', ' x '),
    );
    const node = fc.oneof(
      fc.tuple(part, part).map(([i, l]) => lotNode(asItemId(i), asLot(l))),
      fc.tuple(part, part).map(([i, s]) => serialNode(asItemId(i), asSerial(s))),
      part.map((j) => jobNode(asJobId(j))),
      part.map((p) => containerNode(asPositionId(p))),
      part.map((e) => shipmentNode(asEventId(e))),
    );
    fc.assert(
      fc.property(node, node, (a, b) => {
        const key = nodeKey(a);
        expect(nodeOfKey(key)).toEqual(a);
        expect(/^[\x21-\x7e]+$/.test(key)).toBe(true);
        expect(key === nodeKey(b)).toBe(JSON.stringify(a) === JSON.stringify(b));
      }),
      { numRuns: 200 },
    );
    for (const bad of ['', 'lot', 'lot:a', 'lot:a:b:c', 'job:%zz', 'pallet:x', 'serial:a:%41']) {
      expect(nodeOfKey(bad)).toBeUndefined();
    }
  });
});

// ─── Recall ─────────────────────────────────────────────────────────────────────────────────

describe('recall', () => {
  const item = asItemId('item-L');
  const L1 = lotNode(item, asLot('L1'));
  const J1 = jobNode(asJobId('0192f0c8-0000-7000-8000-000000000001'));
  const P1 = serialNode(asItemId('item-PUMP'), asSerial('P1'));
  const BOX = serialNode(asItemId('item-BOX'), asSerial('B1'));
  const shipped = (goods: GenealogyNode, eventId: string, containers: string[] = []) => {
    const link = linkOf(goods, shipmentNode(asEventId(eventId)), 'active', 'shipped-in');
    return {
      ...link,
      quantity: goods.kind === 'lot' ? 4 : 1,
      shipment: {
        from: asPositionId(containers[0] ?? 'bin-P'),
        containers: containers.map(asPositionId),
        listId: eventId === 's2' ? 'list-9' : null,
        lineNo: eventId === 's2' ? 3 : null,
      },
    };
  };

  it('finds every shipment with the lot in it: directly, through products, through old assemblies', () => {
    const port = portOf([
      linkOf(L1, J1),
      linkOf(J1, P1, 'active', 'produced'),
      shipped(L1, 's3'),
      shipped(P1, 's2', ['pallet-C']),
      // P1 was in box B1 once; B1 shipped later: a recall names it (history is followed).
      linkOf(P1, BOX, 'replaced', 'contained-in'),
      shipped(BOX, 's1'),
      // Another lot's shipment is no business of L1.
      shipped(lotNode(item, asLot('L2')), 's0'),
    ]);
    const names = {
      item: (id: string) => ({ sku: id.replace('item-', '') }) as never,
      position: (id: string) => ({ code: id.toUpperCase() }) as never,
      productionJob: () => ({ code: 'J-1' }) as never,
    };
    const report = recallReport(port, { itemId: item, lot: asLot('L1') }, names);
    expect(report.truncated).toBe(false);
    expect(report.rows.map((r) => [r.shipmentId, r.sku, r.lot ?? r.serial, r.pathLabels])).toEqual([
      ['s1', 'BOX', 'B1', ['L lot L1', 'job J-1', 'PUMP serial P1', 'BOX serial B1']],
      ['s2', 'PUMP', 'P1', ['L lot L1', 'job J-1', 'PUMP serial P1']],
      ['s3', 'L', 'L1', ['L lot L1']],
    ]);
    expect(report.rows[1]).toMatchObject({
      containerCodes: ['PALLET-C'],
      listId: 'list-9',
      lineNo: 3,
    });
    // Without history, the old box is not followed.
    expect(
      recallReport(port, { itemId: item, lot: asLot('L1') }, names, { history: false }).rows,
    ).toHaveLength(2);
  });

  it('writes CSV that survives commas, quotes, line breaks and formula-looking codes', () => {
    const row = (over: Partial<RecallReport['rows'][number]>): RecallReport['rows'][number] => ({
      shipmentId: 'e1' as EventId,
      itemId: item,
      sku: 'L',
      lot: asLot('L1'),
      serial: null,
      quantity: 4,
      from: asPositionId('p'),
      fromCode: 'P',
      containers: [],
      containerCodes: [],
      listId: null,
      lineNo: null,
      path: [],
      pathLabels: ['L lot L1'],
      ...over,
    });
    const report: RecallReport = {
      itemId: item,
      lot: asLot('L1'),
      truncated: false,
      rows: [
        row({}),
        row({
          shipmentId: 'e2' as EventId,
          sku: 'Bolt, 10 "M8"',
          lot: asLot('=HYPERLINK("x")'),
          fromCode: 'dock\n2',
          containerCodes: ['T1', 'C;9'],
          listId: 'S-7',
          lineNo: 12,
          quantity: 0.5,
          pathLabels: ['L lot L1', '-job', ' pad'],
        }),
      ],
    };
    expect(recallCsv(report)).toBe(
      [
        'shipment,list,line,item,lot,serial,quantity,shipped_from,containers,path',
        'e1,,,L,L1,,4,P,,L lot L1',
        'e2,S-7,12,"Bolt, 10 ""M8""","\'=HYPERLINK(""x"")",,0.5,"dock\n2","T1 > C;9",L lot L1 > -job >  pad',
        '',
      ].join('\r\n'),
    );
    expect(csvCell(-4)).toBe('-4');
    expect(csvCell('-4')).toBe("'-4");
    expect(csvCell(' x')).toBe('" x"');
    expect(csvCell('@SUM')).toBe("'@SUM");
    expect(csvCell(null)).toBe('');
  });
});
