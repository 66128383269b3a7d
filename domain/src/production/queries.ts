import type { InventoryView } from '../inventory/state.js';
import type { EventId, ItemId, Lot, PositionId, Serial } from '../shared/ids.js';
import type { JobId } from './commands.js';
import type {
  GenealogyLink,
  GenealogyLinks,
  GenealogyNode,
  NodeKey,
  ProductionView,
} from './state.js';
import { followsLink, jobNode, lotNode, nodeKey } from './state.js';

/**
 * Genealogy questions: "what went into serial S?" (`ancestors`), "where did lot L end up?"
 * (`descendants`), the full tree, and the recall report.
 *
 * `GenealogyQueries` is the read port a store answers natively — SQLite with a recursive CTE,
 * ArangoDB with a traversal — and `genealogyQueriesOf(links)` its reference: a BFS over any
 * `GenealogyLinks`. The storage contract suite runs both on the same log and compares. The
 * answers are defined so a set-based query can give them exactly:
 *
 * - the nodes reachable from the root over followable links (`followsLink`: active ones, and
 *   replaced assembly links with `history`) in at most `maxDepth` steps, the root left out,
 *   each with its *shortest* distance, ordered by depth then key (keys are ASCII: every store
 *   sorts them alike);
 * - `truncated`: some node at `maxDepth` has a followable link to a node not in the answer;
 * - cycles (a corrupt log, an odd assembly history) end: each node is expanded once.
 *
 * SQLite, for `descendants` (`ancestors` swaps `from_key` and `to_key`):
 *
 *     WITH RECURSIVE walk(key, depth) AS (
 *       SELECT :root, 0
 *       UNION
 *       SELECT l.to_key, w.depth + 1 FROM walk w JOIN genealogy_links l ON l.from_key = w.key
 *       WHERE w.depth < :maxDepth AND (l.status = 'active' OR (:history AND l.status = 'replaced'))
 *     )
 *     SELECT key, MIN(depth) AS depth FROM walk WHERE key <> :root
 *     GROUP BY key ORDER BY depth, key;
 *
 * (`UNION` drops repeated (key, depth) rows, and the depth bound ends cycles: at most
 * nodes × maxDepth rows.) `truncated`: the same walk one step deeper yields a key not in the
 * answer. `tree.links`: the followable links whose near end is the root or a node of depth
 * < maxDepth. ArangoDB: `FOR v, e, p IN 1..@maxDepth OUTBOUND @root genealogy_links OPTIONS
 * { order: "bfs", uniqueVertices: "global" } FILTER p.edges[*].status ALL IN @statuses
 * RETURN { key: v.key, depth: LENGTH(p.edges) }`, sorted the same way — the status filter must
 * be applied while traversing (not after: with global uniqueness a vertex first met over a
 * reversed link would be lost); the contract suite is what proves it.
 */

export const DEFAULT_MAX_DEPTH = 50;
/** No traversal goes deeper, whatever is asked. */
export const MAX_DEPTH_LIMIT = 1000;

export interface TraversalOptions {
  /** Steps from the root at most; default `DEFAULT_MAX_DEPTH`. */
  readonly maxDepth?: number;
  /** Follow replaced assembly links too (what was once inside). Reversed links never. */
  readonly history?: boolean;
}

export interface ReachedNode {
  readonly node: GenealogyNode;
  readonly key: NodeKey;
  /** Shortest number of links from the root (1: directly linked). */
  readonly depth: number;
}

export interface Traversal {
  /** By depth, then key. */
  readonly nodes: readonly ReachedNode[];
  /** The depth limit cut something off. */
  readonly truncated: boolean;
}

/** Both directions around one node, and the links between what was reached: the picture. */
export interface GenealogyTree {
  readonly root: GenealogyNode;
  readonly rootKey: NodeKey;
  readonly ancestors: Traversal;
  readonly descendants: Traversal;
  /**
   * Every followable link from a node expanded by either walk (root, and reached nodes short of
   * `maxDepth`), by id. An ancestor at depth d sits on layer −d of a picture, a descendant on +d.
   */
  readonly links: readonly GenealogyLink[];
}

/** The read port for genealogy questions; `genealogyQueriesOf` is the reference. */
export interface GenealogyQueries {
  /** What went into the node, at any depth. */
  ancestors(node: GenealogyNode, options?: TraversalOptions): Traversal;
  /** Where the node went: products, containers, shipments. */
  descendants(node: GenealogyNode, options?: TraversalOptions): Traversal;
  tree(node: GenealogyNode, options?: TraversalOptions): GenealogyTree;
}

type Direction = 'up' | 'down';

interface Step {
  readonly node: GenealogyNode;
  readonly depth: number;
  /** The node it was first reached from, and by which link (`null` for the root). */
  readonly prev: NodeKey | null;
  readonly via: GenealogyLink | null;
}

interface Walk {
  readonly rootKey: NodeKey;
  readonly steps: ReadonlyMap<NodeKey, Step>;
  readonly links: readonly GenealogyLink[];
  readonly truncated: boolean;
}

const depthOf = (o: TraversalOptions): number => {
  const d = o.maxDepth;
  if (d === undefined || !Number.isFinite(d)) return DEFAULT_MAX_DEPTH;
  return Math.max(0, Math.min(MAX_DEPTH_LIMIT, Math.floor(d)));
};

const byId = (a: GenealogyLink, b: GenealogyLink) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Breadth first, level by level: each node is expanded once (so cycles end), only reachable
 * nodes are ever asked about, and a node's first discovery is at its shortest depth. Links
 * are taken in id order, so `prev`/`via` (the recall's path) do not depend on the store's order.
 */
function walk(
  port: GenealogyLinks,
  root: GenealogyNode,
  direction: Direction,
  options: TraversalOptions,
): Walk {
  const maxDepth = depthOf(options);
  const history = options.history ?? false;
  const rootKey = nodeKey(root);
  const steps = new Map<NodeKey, Step>([
    [rootKey, { node: root, depth: 0, prev: null, via: null }],
  ]);
  const links: GenealogyLink[] = [];
  let truncated = false;
  let frontier: NodeKey[] = [rootKey];
  for (let depth = 0; frontier.length > 0; depth++) {
    const next: NodeKey[] = [];
    for (const key of frontier) {
      const found = direction === 'down' ? port.linksFrom(key) : port.linksTo(key);
      const ordered = found.length > 1 ? [...found].sort(byId) : found;
      for (const link of ordered) {
        if (!followsLink(link, history)) continue;
        const otherKey = direction === 'down' ? link.toKey : link.fromKey;
        if (depth === maxDepth) {
          // Only looking: is there more beyond the limit?
          if (!steps.has(otherKey)) truncated = true;
          continue;
        }
        links.push(link);
        if (steps.has(otherKey)) continue;
        const node = direction === 'down' ? link.to : link.from;
        steps.set(otherKey, { node, depth: depth + 1, prev: key, via: link });
        next.push(otherKey);
      }
    }
    if (depth === maxDepth) break;
    frontier = next;
  }
  return { rootKey, steps, links, truncated };
}

const byDepthThenKey = (a: ReachedNode, b: ReachedNode) =>
  a.depth - b.depth || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

function traversalOf(w: Walk): Traversal {
  const nodes: ReachedNode[] = [];
  for (const [key, s] of w.steps) {
    if (key !== w.rootKey) nodes.push({ node: s.node, key, depth: s.depth });
  }
  return { nodes: nodes.sort(byDepthThenKey), truncated: w.truncated };
}

/** The reference `GenealogyQueries`: BFS over one node's links at a time. */
export function genealogyQueriesOf(port: GenealogyLinks): GenealogyQueries {
  return {
    ancestors: (node, options = {}) => traversalOf(walk(port, node, 'up', options)),
    descendants: (node, options = {}) => traversalOf(walk(port, node, 'down', options)),
    tree: (node, options = {}) => {
      const up = walk(port, node, 'up', options);
      const down = walk(port, node, 'down', options);
      const links = new Map<string, GenealogyLink>();
      for (const l of [...up.links, ...down.links]) links.set(l.id, l);
      return {
        root: node,
        rootKey: up.rootKey,
        ancestors: traversalOf(up),
        descendants: traversalOf(down),
        links: [...links.values()].sort(byId),
      };
    },
  };
}

export const ancestors = (port: GenealogyLinks, node: GenealogyNode, options?: TraversalOptions) =>
  genealogyQueriesOf(port).ancestors(node, options);
export const descendants = (
  port: GenealogyLinks,
  node: GenealogyNode,
  options?: TraversalOptions,
) => genealogyQueriesOf(port).descendants(node, options);
export const genealogyTree = (
  port: GenealogyLinks,
  node: GenealogyNode,
  options?: TraversalOptions,
) => genealogyQueriesOf(port).tree(node, options);

/** A job's inputs (links into it) and outputs (links out of it), active only, by id. */
export function jobLinks(
  port: GenealogyLinks,
  jobId: JobId,
): { readonly inputs: GenealogyLink[]; readonly outputs: GenealogyLink[] } {
  const key = nodeKey(jobNode(jobId));
  const active = (ls: readonly GenealogyLink[]) =>
    ls.filter((l) => l.status === 'active').sort(byId);
  return { inputs: active(port.linksTo(key)), outputs: active(port.linksFrom(key)) };
}

// ─── Words ──────────────────────────────────────────────────────────────────────────────────

/** Where labels come from; anything missing falls back to the id. */
export type GenealogyNames = Partial<Pick<InventoryView, 'item' | 'position'>> &
  Partial<Pick<ProductionView, 'productionJob'>>;

/** A node the way people read it: `L lot L1`, `PUMP serial P1`, `job J-1`, `container C`. */
export function describeNode(node: GenealogyNode, names: GenealogyNames = {}): string {
  const sku = (id: ItemId) => names.item?.(id)?.sku ?? id;
  switch (node.kind) {
    case 'lot':
      return `${sku(node.itemId)} lot ${node.lot}`;
    case 'serial':
      return `${sku(node.itemId)} serial ${node.serial}`;
    case 'job':
      return `job ${names.productionJob?.(node.jobId)?.code ?? node.jobId}`;
    case 'container':
      return `container ${names.position?.(node.positionId)?.code ?? node.positionId}`;
    case 'shipment':
      return `shipment ${node.eventId}`;
    default: {
      const unreachable: never = node;
      return unreachable;
    }
  }
}

// ─── Recall ─────────────────────────────────────────────────────────────────────────────────

/** One shipment that took (something made from) the recalled lot off the site. */
export interface RecallRow {
  /** The `StockShipped` event. */
  readonly shipmentId: EventId;
  /** What was shipped: the lot itself, or a product, lot or serial made from it. */
  readonly itemId: ItemId;
  readonly sku: string;
  readonly lot: Lot | null;
  readonly serial: Serial | null;
  readonly quantity: number;
  readonly from: PositionId;
  readonly fromCode: string;
  /** Containers around the goods as they left, innermost first. */
  readonly containers: readonly PositionId[];
  readonly containerCodes: readonly string[];
  readonly listId: string | null;
  readonly lineNo: number | null;
  /** How the lot got there: from the lot to the shipped goods (one shortest path). */
  readonly path: readonly GenealogyNode[];
  readonly pathLabels: readonly string[];
}

export interface RecallReport {
  readonly itemId: ItemId;
  readonly lot: Lot;
  /** By shipment event id (UUIDv7 in the log: the order they were recorded). */
  readonly rows: readonly RecallRow[];
  /** The depth limit cut the search short: there may be more shipments. */
  readonly truncated: boolean;
}

/**
 * Every shipment that contains the lot — directly, or through what was made from it or what it
 * was assembled into, however deep. Replaced assembly links are followed by default (`history:
 * true`): a recall would rather name a shipment too many than one too few.
 */
export function recallReport(
  port: GenealogyLinks,
  target: { readonly itemId: ItemId; readonly lot: Lot },
  names: GenealogyNames = {},
  options: TraversalOptions = {},
): RecallReport {
  const w = walk(port, lotNode(target.itemId, target.lot), 'down', {
    history: true,
    ...options,
  });
  const code = (id: PositionId) => names.position?.(id)?.code ?? id;
  const rows: RecallRow[] = [];
  for (const step of w.steps.values()) {
    const link = step.via;
    const info = link?.shipment;
    if (step.node.kind !== 'shipment' || !link || link.kind !== 'shipped-in' || !info) continue;
    const goods = link.from;
    if (goods.kind !== 'lot' && goods.kind !== 'serial') continue;
    const path: GenealogyNode[] = [];
    for (let k: NodeKey | null = step.prev; k !== null;) {
      const s = w.steps.get(k);
      if (!s) break;
      path.unshift(s.node);
      k = s.prev;
    }
    const containers = info.containers;
    rows.push({
      shipmentId: step.node.eventId,
      itemId: goods.itemId,
      sku: names.item?.(goods.itemId)?.sku ?? goods.itemId,
      lot: goods.kind === 'lot' ? goods.lot : null,
      serial: goods.kind === 'serial' ? goods.serial : null,
      quantity: link.quantity,
      from: info.from,
      fromCode: code(info.from),
      containers,
      containerCodes: containers.map(code),
      listId: info.listId,
      lineNo: info.lineNo,
      path,
      pathLabels: path.map((n) => describeNode(n, names)),
    });
  }
  rows.sort((a, b) => (a.shipmentId < b.shipmentId ? -1 : a.shipmentId > b.shipmentId ? 1 : 0));
  return { itemId: target.itemId, lot: target.lot, rows, truncated: w.truncated };
}

export const RECALL_CSV_COLUMNS = [
  'shipment',
  'list',
  'line',
  'item',
  'lot',
  'serial',
  'quantity',
  'shipped_from',
  'containers',
  'path',
] as const;

/**
 * One CSV cell (RFC 4180): quoted when it holds a quote, a separator (`,` or `;`, which some
 * spreadsheets use) or a line break, or starts or ends with a space; quotes doubled. Text
 * starting with `=`, `+`, `-`, `@`, a tab or a CR is prefixed with `'` so a spreadsheet never
 * runs it as a formula (a lot code is whatever a label said). Numbers are written as they are.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",;\r\n]|^\s|\s$/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The recall report as CSV: a header row, one row per shipment, CRLF line ends. */
export function recallCsv(report: RecallReport): string {
  const rows: (string | number | null)[][] = report.rows.map((r) => [
    r.shipmentId,
    r.listId,
    r.lineNo,
    r.sku,
    r.lot,
    r.serial,
    r.quantity,
    r.fromCode,
    r.containerCodes.join(' > '),
    r.pathLabels.join(' > '),
  ]);
  return (
    [[...RECALL_CSV_COLUMNS], ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'
  );
}
