import { createHash, randomBytes } from 'node:crypto';
import { Database } from 'arangojs';
import { isArangoError, isNetworkError } from 'arangojs/errors';
import type { Transaction } from 'arangojs/transactions';
import type { Storage } from '../port.js';
import { StorageUnavailableError } from '../port.js';
import type { TwinTable } from '../memory/memory-storage.js';
import { TWIN_TABLES } from '../memory/memory-storage.js';
import type { Commit, Missed, ReplicaOptions, ReplicaStore, Write } from '../replica/replica.js';
import { openReplicaStorage } from '../replica/replica.js';
import type { ArangoSettings } from './url.js';
import { arangoConnection } from './url.js';

/**
 * The ArangoDB store behind a replica (`replica/replica.ts`): the twin decides, ArangoDB keeps.
 *
 * Layout (docs/ARANGO.md):
 * - one collection per twin table (`items`, `positions`, `stock`, `lots`, `movements`, `events`,
 *   `clients`, …); a document is `{ _key, k, v }`: `k` our key, `v` the record as the twin holds
 *   it. `_key` is the sha256 of `k` in hex (our keys hold characters `_key` does not allow), or
 *   for events the seq padded to 12 digits, so keys sort in log order;
 * - `contains`, an edge collection parent position → child position, kept from `positions`, so
 *   the contents of a pallet or a zone is one AQL traversal (`subtree`);
 * - `job_rows`: a job's plan in chunks of 1,000 rows;
 * - `commits`: every commit's changed records, numbered; other processes catch up from it. The
 *   newest `KEEP_COMMITS` are kept; a process further behind loads everything again;
 * - `meta/state`: `{ version, head, pruned }`; `meta/schema`: the layout's version.
 *
 * A write is one stream transaction with an exclusive lock on `meta` (every commit writes
 * `meta/state`, so commits of all processes are serialised, as SQLite's write lock does across
 * processes) and `waitForSync`: a write resolves once ArangoDB has it on disk.
 */

/**
 * The layout's version. 2: the collections of movement lists, production and genealogy, and
 * counting sessions. A server of an older layout refuses to start on a newer database; a newer
 * server raises an older one's version when it has created what is missing (servers of the old
 * layout must be stopped first: one that is running would not know the new collections).
 */
export const SCHEMA_VERSION = 2;
/** Commits kept for processes catching up. */
export const KEEP_COMMITS = 10_000;
const PAGE = 1000;
const PLAN_CHUNK = 1000;
const PAGE_COMMITS = 100;
/** Documents per write query: bounds one request's size. */
const WRITE_CHUNK = 2000;

const COLLECTION: Readonly<Record<TwinTable, string>> = {
  item: 'items',
  position: 'positions',
  stock: 'stock',
  lot: 'lots',
  movement: 'movements',
  event: 'events',
  clients: 'clients',
  changed: 'changed',
  conflicts: 'conflicts',
  users: 'users',
  sessions: 'sessions',
  tickets: 'tickets',
  devices: 'devices',
  deviceUsers: 'device_users',
  progress: 'progress',
  leases: 'leases',
  jobs: 'jobs',
  jobPlans: 'job_rows',
  lists: 'lists',
  listLines: 'list_lines',
  listMovements: 'list_movements',
  productionJobs: 'production_jobs',
  genealogyLinks: 'genealogy_links',
  eventTraces: 'event_traces',
  countSessions: 'count_sessions',
  countScopes: 'count_scopes',
  countRecords: 'count_records',
  countPositions: 'count_positions',
};
const META = 'meta';
const COMMITS = 'commits';
const CONTAINS = 'contains';
const SYNC_MARKS = 'sync_marks';
const DOCUMENT_COLLECTIONS = [
  ...new Set([...Object.values(COLLECTION), META, COMMITS, SYNC_MARKS]),
];
/** What a write transaction declares: everything but `sync_marks`. */
const WRITE_COLLECTIONS = [...DOCUMENT_COLLECTIONS.filter((c) => c !== SYNC_MARKS), CONTAINS];

const pad = (n: number) => String(n).padStart(12, '0');
export const arangoKey = (key: string) => createHash('sha256').update(key).digest('hex');
const docKey = (table: TwinTable, key: string) =>
  table === 'event' ? pad(Number(key)) : arangoKey(key);

interface KvDoc {
  readonly _key: string;
  readonly k: string;
  readonly v: unknown;
}
interface StateDoc {
  readonly version: number;
  readonly head: number;
  readonly pruned: number;
}
/** How a commit keeps a job's plan: the rows are in `job_rows`, not in the commit. */
interface PlanRef {
  readonly planChunks: number;
}

/** True for failures that mean "the store cannot be reached now" rather than a bug. */
export function isUnavailable(e: unknown): boolean {
  if (isArangoError(e))
    return [18, 28, 29, 30, 38, 503, 1200, 1457, 1478, 1654, 1655].includes(e.errorNum);
  return isNetworkError(e);
}

const explain = (e: unknown): string => {
  if (isArangoError(e)) return `ArangoDB error ${e.errorNum}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
};

export class ArangoStore implements ReplicaStore {
  private constructor(private readonly db: Database) {}

  /** Connects, creates the database (OneShard) and collections when missing, checks the schema. */
  static async open(settings: ArangoSettings | string): Promise<ArangoStore> {
    const { config, databaseName, display } = arangoConnection(settings);
    const root = new Database({ ...config, databaseName: '_system' });
    try {
      const db = root.database(databaseName);
      if (!(await db.exists())) {
        try {
          // OneShard: every collection on one shard, so a transaction over several stays ACID
          // on a cluster. A single server ignores it.
          await root.createDatabase(databaseName, { sharding: 'single' });
        } catch (error) {
          if (!(isArangoError(error) && error.errorNum === 1207))
            throw new Error(
              `database ${databaseName} does not exist at ${display} and could not be created (${explain(error)}); create it, or give the user rights on _system`,
              { cause: error },
            );
        }
      }
      const store = new ArangoStore(db);
      await store.ensureSchema();
      return store;
    } catch (error) {
      root.close();
      if (isUnavailable(error))
        throw new StorageUnavailableError(`ArangoDB at ${display}: ${explain(error)}`);
      throw error;
    }
  }

  private async ensureSchema(): Promise<void> {
    for (const name of DOCUMENT_COLLECTIONS) {
      const c = this.db.collection(name);
      if (!(await c.exists())) {
        await this.db.createCollection(name).catch((e: unknown) => {
          if (!(isArangoError(e) && e.errorNum === 1207)) throw e;
        });
      }
    }
    if (!(await this.db.collection(CONTAINS).exists())) {
      await this.db.createEdgeCollection(CONTAINS).catch((e: unknown) => {
        if (!(isArangoError(e) && e.errorNum === 1207)) throw e;
      });
    }
    const events = this.db.collection(COLLECTION.event);
    await events.ensureIndex({ type: 'persistent', fields: ['v.id'], unique: true, name: 'by_id' });
    await events.ensureIndex({
      type: 'persistent',
      fields: ['v.meta.clientID', 'v.meta.mutationID'],
      name: 'by_mutation',
    });
    await this.db
      .collection(COLLECTION.position)
      .ensureIndex({ type: 'persistent', fields: ['v.code'], name: 'by_code' });
    await this.db
      .collection(COLLECTION.stock)
      .ensureIndex({ type: 'persistent', fields: ['v.itemId'], name: 'by_item' });
    await this.db
      .collection(COLLECTION.jobPlans)
      .ensureIndex({ type: 'persistent', fields: ['job', 'i'], name: 'by_job' });

    const schema = await this.query<{ version: number } | null>(
      `RETURN DOCUMENT("${META}/schema")`,
    );
    const found = schema[0]?.version;
    if (found === undefined) {
      await this.query(
        `INSERT { _key: "schema", version: @v } INTO ${META} OPTIONS { overwriteMode: "ignore" }`,
        { v: SCHEMA_VERSION },
      );
    } else if (found > SCHEMA_VERSION) {
      throw new Error(
        `the ArangoDB database was written by a newer Floorsync (layout ${found}, this build knows ${SCHEMA_VERSION}): upgrade this server`,
      );
    } else if (found < SCHEMA_VERSION) {
      // The collections missing from the older layout were created above.
      await this.query(`UPDATE "schema" WITH { version: @v } IN ${META}`, { v: SCHEMA_VERSION });
    }
  }

  private async query<T>(q: string, bindVars: Record<string, unknown> = {}): Promise<T[]> {
    const cursor = await this.db.query<T>(q, bindVars, { batchSize: PAGE * 10 });
    return cursor.all();
  }

  /** A query inside a stream transaction, its cursor read to the end at once. */
  private async step<T>(
    trx: Transaction,
    q: string,
    bindVars: Record<string, unknown> = {},
  ): Promise<T[]> {
    // batchSize above any page we ask for: no later batch is fetched outside the step.
    const cursor = await trx.step(() => this.db.query<T>(q, bindVars, { batchSize: 100_000 }));
    return cursor.all();
  }

  async load(): Promise<{ version: number; records: AsyncIterable<Write> }> {
    const [state] = await this.query<StateDoc | null>(`RETURN DOCUMENT("${META}/state")`);
    const version = state?.version ?? 0;
    const scan = this.scan.bind(this);
    return {
      version,
      records: (async function* () {
        for (const table of TWIN_TABLES) {
          if (table === 'jobPlans') continue;
          for await (const page of scan<KvDoc>(COLLECTION[table]))
            for (const d of page) yield [table, d.k, d.v] as Write;
        }
        // Plans: chunks in key order, so a job's chunks come together and in order.
        let job: string | null = null;
        let rows: unknown[] = [];
        for await (const page of scan<{ job: string; i: number; rows: unknown[] }>(
          COLLECTION.jobPlans,
        )) {
          for (const d of page) {
            if (d.job !== job) {
              if (job !== null) yield ['jobPlans', job, rows] as Write;
              job = d.job;
              rows = [];
            }
            rows.push(...d.rows);
          }
        }
        if (job !== null) yield ['jobPlans', job, rows] as Write;
      })(),
    };
  }

  /** Every document of a collection, in `_key` order, a page at a time. */
  private async *scan<T>(collection: string): AsyncIterable<T[]> {
    let after = '';
    for (;;) {
      const page = await this.query<T & { _key: string }>(
        `FOR d IN ${collection} FILTER d._key > @after SORT d._key LIMIT @n RETURN d`,
        { after, n: PAGE },
      );
      if (page.length === 0) return;
      yield page;
      after = (page.at(-1) as { _key: string })._key;
      if (page.length < PAGE) return;
    }
  }

  private static readonly SINCE = `
    LET st = DOCUMENT("${META}/state")
    LET cs = (FOR c IN ${COMMITS} FILTER c._key > @after SORT c._key LIMIT @n RETURN c)
    RETURN { st, cs }`;

  /** Commits after `version`: a page, or (`all`) every one up to the newest. */
  private async missed(
    version: number,
    run: <T>(q: string, bindVars: Record<string, unknown>) => Promise<T[]>,
    all: boolean,
  ): Promise<Missed> {
    const found: Commit[] = [];
    for (;;) {
      const after = found.at(-1)?.version ?? version;
      const [answer] = await run<{ st: StateDoc | null; cs: Commit[] }>(ArangoStore.SINCE, {
        after: pad(after),
        n: PAGE_COMMITS,
      });
      const st = answer?.st;
      // No state: an empty database, unless this replica has seen commits (then the database
      // was replaced or restored from a backup behind it, and it must load everything again).
      if (!st) return version === 0 ? { commits: [] } : 'reload';
      if (st.version < version) return 'reload';
      if (st.version === version) return { commits: [] };
      if (version < st.pruned) return 'reload';
      found.push(...answer.cs);
      if (!all || answer.cs.length < PAGE_COMMITS || found.at(-1)?.version === st.version) break;
    }
    const commits: Commit[] = [];
    for (const c of found) {
      const writes: Write[] = [];
      for (const w of c.writes) {
        if (w[0] === 'jobPlans' && w[2] !== null) {
          const chunks = await run<unknown[]>(
            `FOR d IN ${COLLECTION.jobPlans} FILTER d.job == @job SORT d.i RETURN d.rows`,
            { job: w[1] },
          );
          if (chunks.length !== (w[2] as PlanRef).planChunks)
            throw new Error(`job ${w[1]}: plan chunks missing`);
          writes.push([w[0], w[1], chunks.flat()]);
        } else writes.push(w);
      }
      commits.push({ version: c.version, head: c.head, writes });
    }
    return { commits };
  }

  since(version: number): Promise<Missed> {
    return this.missed(version, (q, b) => this.query(q, b), false);
  }

  async beginWrite(version: number) {
    const trx = await this.db.beginTransaction(
      { exclusive: [META], write: WRITE_COLLECTIONS.filter((c) => c !== META) },
      // lockTimeout is in seconds.
      { waitForSync: true, lockTimeout: 10, allowImplicit: false },
    );
    const run = <T>(q: string, b: Record<string, unknown>) => this.step<T>(trx, q, b);
    let missed: Missed;
    try {
      // Inside the lock: every commit up to the newest, so this one's version follows it (the
      // replica caught up just before taking the lock, so these are few).
      missed = await this.missed(version, run, true);
    } catch (error) {
      await trx.abort().catch(() => undefined);
      throw error;
    }
    return {
      missed,
      commit: async (c: Commit) => {
        try {
          await this.save(trx, c);
          await trx.commit();
        } catch (error) {
          await trx.abort().catch(() => undefined);
          throw new Error(`commit ${c.version} failed: ${explain(error)}`, { cause: error });
        }
      },
      abort: async () => {
        await trx.abort();
      },
    };
  }

  private async save(trx: Transaction, c: Commit): Promise<void> {
    const [state] = await this.step<StateDoc | null>(trx, `RETURN DOCUMENT("${META}/state")`);
    // Never write over another process's commit: this one must follow the newest.
    if ((state?.version ?? 0) !== c.version - 1)
      throw new Error(`commit ${c.version} does not follow ${state?.version ?? 0}`);
    const upserts = new Map<string, KvDoc[]>();
    const removes = new Map<string, string[]>();
    const edges: object[] = [];
    const edgeRemoves: string[] = [];
    const kept: Write[] = [];
    for (const w of c.writes) {
      const [table, key, value] = w;
      const collection = COLLECTION[table];
      if (table === 'jobPlans') {
        const rows = (value ?? []) as unknown[];
        await this.step(
          trx,
          `FOR d IN ${collection} FILTER d.job == @job REMOVE d IN ${collection}`,
          {
            job: key,
          },
        );
        const chunks: object[] = [];
        for (let i = 0; i * PLAN_CHUNK < rows.length; i++)
          chunks.push({
            _key: `${arangoKey(key)}-${String(i).padStart(6, '0')}`,
            job: key,
            i,
            rows: rows.slice(i * PLAN_CHUNK, (i + 1) * PLAN_CHUNK),
          });
        await this.insert(trx, collection, chunks);
        kept.push([table, key, value === null ? null : { planChunks: chunks.length }]);
        continue;
      }
      kept.push(w);
      const _key = docKey(table, key);
      if (value === null)
        (removes.get(collection) ?? removes.set(collection, []).get(collection))?.push(_key);
      else
        (upserts.get(collection) ?? upserts.set(collection, []).get(collection))?.push({
          _key,
          k: key,
          v: value,
        });
      if (table === 'position') {
        const parentId = (value as { parentId?: string | null } | null)?.parentId;
        if (parentId)
          edges.push({
            _key: _key,
            _from: `${COLLECTION.position}/${arangoKey(parentId)}`,
            _to: `${COLLECTION.position}/${_key}`,
          });
        else edgeRemoves.push(_key);
      }
    }
    for (const [collection, docs] of upserts) await this.insert(trx, collection, docs);
    for (const [collection, keys] of removes) await this.remove(trx, collection, keys);
    await this.insert(trx, CONTAINS, edges);
    await this.remove(trx, CONTAINS, edgeRemoves);

    // A plain insert: a commit is never written over (a second one with this number fails).
    await this.step(trx, `INSERT @doc INTO ${COMMITS}`, {
      doc: { _key: pad(c.version), version: c.version, head: c.head, writes: kept },
    });
    let pruned = state?.pruned ?? 0;
    if (c.version % 100 === 0 && c.version - KEEP_COMMITS > pruned) {
      pruned = c.version - KEEP_COMMITS;
      await this.step(trx, `FOR c IN ${COMMITS} FILTER c._key <= @upTo REMOVE c IN ${COMMITS}`, {
        upTo: pad(pruned),
      });
    }
    await this.insert(trx, META, [{ _key: 'state', version: c.version, head: c.head, pruned }]);
  }

  private async insert(trx: Transaction, collection: string, docs: readonly object[]) {
    for (let i = 0; i < docs.length; i += WRITE_CHUNK)
      await this.step(
        trx,
        `FOR d IN @docs INSERT d INTO ${collection} OPTIONS { overwriteMode: "replace" }`,
        { docs: docs.slice(i, i + WRITE_CHUNK) },
      );
  }

  private async remove(trx: Transaction, collection: string, keys: readonly string[]) {
    for (let i = 0; i < keys.length; i += WRITE_CHUNK)
      await this.step(
        trx,
        `FOR k IN @keys REMOVE k IN ${collection} OPTIONS { ignoreErrors: true }`,
        { keys: keys.slice(i, i + WRITE_CHUNK) },
      );
  }

  /**
   * A write that waits for the disk: ArangoDB syncs its write-ahead log in order, so every
   * commit visible before it is durable after it. One document per process, in `meta`'s
   * neighbour `sync_marks` (not `meta`: writers hold an exclusive lock on it).
   */
  async sync(): Promise<void> {
    await this.query(
      `INSERT { _key: @key, at: DATE_NOW() } INTO ${SYNC_MARKS} OPTIONS { overwriteMode: "replace", waitForSync: true }`,
      { key: this.mark },
    );
  }
  private readonly mark = randomBytes(8).toString('hex');

  /**
   * Everything inside a position (a pallet, a zone), any depth, as stored: one AQL traversal
   * over `contains`. The server decides from the twin; this is for reports and other tools
   * reading the database, and it is held to the twin's answer in the tests.
   */
  async subtree(positionId: string, depth = 20): Promise<string[]> {
    if (!Number.isInteger(depth) || depth < 1 || depth > 100) throw new Error('depth: 1 to 100');
    const rows = await this.query<string>(
      `WITH ${COLLECTION.position}
       FOR v IN 1..${depth} OUTBOUND @start ${CONTAINS}
         OPTIONS { order: "bfs", uniqueVertices: "global" }
         RETURN v.k`,
      { start: `${COLLECTION.position}/${arangoKey(positionId)}` },
    );
    return rows;
  }

  /** Drops every collection's documents: for tests on a database of their own. */
  async dropDatabase(): Promise<void> {
    const name = this.db.name;
    await this.db.database('_system').dropDatabase(name);
  }

  async close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}

export interface ArangoStorage extends Storage {
  readonly store: ArangoStore;
}

/** The `Storage` on ArangoDB: a replica (the twin) over an `ArangoStore`. */
export async function openArangoStorage(
  settings: ArangoSettings | string,
  options: ReplicaOptions = {},
): Promise<ArangoStorage> {
  const store = await ArangoStore.open(settings);
  try {
    const storage = await openReplicaStorage(store, options);
    return Object.assign(storage, { store });
  } catch (error) {
    await store.close();
    throw error;
  }
}
