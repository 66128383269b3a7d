/**
 * Numbered migrations. Applied in order, each in its own transaction, recorded in
 * `migrations`; never edited once released — add a new one instead.
 */
export const MIGRATIONS: readonly {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}[] = [
  {
    version: 1,
    name: 'event log, read models, sync bookkeeping, conflicts, users',
    sql: `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- The log: the truth. Never updated, never deleted.
-- Event ids are server-minted UUIDv7s, unique by construction; nothing looks events up by id
-- (movements, which reversals look up, have their own table), so no index is kept on it.
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  meta TEXT NOT NULL,
  client_group_id TEXT,
  client_id TEXT NOT NULL,
  mutation_id INTEGER NOT NULL
);
CREATE INDEX events_group_seq ON events (client_group_id, seq);
CREATE INDEX events_mutation ON events (client_id, mutation_id);

-- lastMutationID per client, advanced in the same transaction as the mutation's events.
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  client_group_id TEXT NOT NULL,
  last_mutation_id INTEGER NOT NULL,
  seq INTEGER NOT NULL
);
CREATE INDEX clients_group ON clients (client_group_id);

-- Read models, derived from the log by the domain's changesOf(). skey = snapshot key;
-- seq = the event that last changed the row (snapshot paging relies on it).
CREATE TABLE items (
  id TEXT PRIMARY KEY,
  skey TEXT NOT NULL UNIQUE,
  sku TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  tracking TEXT NOT NULL,
  barcodes TEXT NOT NULL,
  uom TEXT NOT NULL,
  seq INTEGER NOT NULL
);
CREATE TABLE barcodes (code TEXT PRIMARY KEY, item_id TEXT NOT NULL);

CREATE TABLE positions (
  id TEXT PRIMARY KEY,
  skey TEXT NOT NULL UNIQUE,
  code TEXT NOT NULL UNIQUE,
  parent_id TEXT,
  kind TEXT NOT NULL,
  fixed INTEGER NOT NULL,
  disposable INTEGER NOT NULL,
  retired INTEGER NOT NULL,
  virtual INTEGER NOT NULL,
  name TEXT,
  seq INTEGER NOT NULL
);
CREATE INDEX positions_parent ON positions (parent_id);

-- A line whose quantity reaches 0 stays as a tombstone (quantity 0) so snapshot paging can
-- tell devices it is gone; every read filters quantity <> 0.
CREATE TABLE stock (
  skey TEXT PRIMARY KEY,
  item_id TEXT NOT NULL,
  position_id TEXT NOT NULL,
  lot TEXT NOT NULL,
  serial TEXT NOT NULL,
  quantity REAL NOT NULL,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
-- Plain (not partial) indexes on columns an update never changes: a quantity change then
-- touches no index at all (a partial index on quantity <> 0 would be rewritten every time).
CREATE INDEX stock_position ON stock (position_id);
CREATE INDEX stock_item ON stock (item_id);
CREATE INDEX stock_serial ON stock (serial) WHERE serial <> '';

CREATE TABLE lots (
  skey TEXT PRIMARY KEY,
  item_id TEXT NOT NULL,
  lot TEXT NOT NULL,
  expires_on TEXT,
  seq INTEGER NOT NULL
);
CREATE INDEX lots_lot ON lots (lot);

CREATE TABLE movements (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  item_id TEXT NOT NULL,
  from_id TEXT NOT NULL,
  to_id TEXT NOT NULL,
  quantity REAL NOT NULL,
  lot TEXT NOT NULL,
  serial TEXT NOT NULL,
  reason TEXT,
  reversed_quantity REAL NOT NULL DEFAULT 0,
  reversed_by TEXT
);
-- One index serves both directions of competingOutflows (rare: negative-stock conflicts only).
CREATE INDEX movements_item ON movements (item_id, seq);

CREATE TABLE conflicts (
  id TEXT PRIMARY KEY,
  skey TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  status TEXT NOT NULL,
  message TEXT NOT NULL,
  opened_at TEXT NOT NULL,
  opened_seq INTEGER NOT NULL,
  mutation TEXT,
  user_id TEXT,
  detail TEXT NOT NULL,
  resolution TEXT,
  seq INTEGER NOT NULL
);
CREATE INDEX conflicts_open_key ON conflicts (key) WHERE status = 'open';
CREATE INDEX conflicts_status ON conflicts (status, user_id);
CREATE INDEX conflicts_seq ON conflicts (seq);
CREATE TABLE conflict_links (
  conflict_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  client_id TEXT NOT NULL,
  mutation_id INTEGER NOT NULL,
  PRIMARY KEY (conflict_id, seq)
);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  active INTEGER NOT NULL,
  password_hash TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  client_group_id TEXT,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE tickets (
  ticket_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  client_group_id TEXT,
  expires_at TEXT NOT NULL
);
CREATE TABLE devices (
  client_group_id TEXT PRIMARY KEY,
  user_id TEXT,
  created_at TEXT NOT NULL,
  last_push_at TEXT,
  last_pull_at TEXT,
  revoked_at TEXT,
  pending INTEGER,
  app_version TEXT
);
CREATE TABLE device_users (
  client_group_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  PRIMARY KEY (client_group_id, user_id)
);
`,
  },
  {
    version: 2,
    name: 'movements clustered by id (one B-tree fewer per movement)',
    // A rowid table with a TEXT primary key keeps two B-trees (rows, and the key's index);
    // WITHOUT ROWID keeps the rows in the key's B-tree. Ids are UUIDv7s, so inserts append.
    sql: `
CREATE TABLE movements_v2 (
  id TEXT NOT NULL PRIMARY KEY,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  item_id TEXT NOT NULL,
  from_id TEXT NOT NULL,
  to_id TEXT NOT NULL,
  quantity REAL NOT NULL,
  lot TEXT NOT NULL,
  serial TEXT NOT NULL,
  reason TEXT,
  reversed_quantity REAL NOT NULL DEFAULT 0,
  reversed_by TEXT
) WITHOUT ROWID;
INSERT INTO movements_v2 (id, seq, type, item_id, from_id, to_id, quantity, lot, serial, reason, reversed_quantity, reversed_by)
  SELECT id, seq, type, item_id, from_id, to_id, quantity, lot, serial, reason, reversed_quantity, reversed_by FROM movements;
DROP TABLE movements;
ALTER TABLE movements_v2 RENAME TO movements;
CREATE INDEX movements_item ON movements (item_id, seq);
`,
  },
  {
    version: 3,
    name: 'events without the (client group, seq) index',
    // Its one reader, lastMutationIDChanges, asks about the seq range of one pull page: a
    // rowid range scan of at most a page. Every append paid for maintaining it (about 5 % of
    // a batched push).
    sql: `DROP INDEX IF EXISTS events_group_seq;`,
  },
  {
    version: 4,
    name: 'jobs (bulk adjustments and other worker jobs: their check report and plan)',
    sql: `
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  file_name TEXT,
  rows INTEGER NOT NULL,
  total INTEGER NOT NULL,
  errors TEXT NOT NULL,
  started_at TEXT,
  error TEXT
);
CREATE INDEX jobs_created ON jobs (created_at);
-- A job's plan, a row each: a worker reads it a page at a time.
CREATE TABLE job_rows (
  job_id TEXT NOT NULL,
  row INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (job_id, row)
) WITHOUT ROWID;
`,
  },
  {
    version: 5,
    name: 'movement lists: lists, their lines, and which line each movement confirmed',
    sql: `
-- A list without its lines (record = the domain's ListRecord as JSON); skey/seq as the other
-- read models: a closed list is a tombstone for snapshot paging.
CREATE TABLE lists (
  id TEXT NOT NULL PRIMARY KEY,
  skey TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  code TEXT NOT NULL,
  status TEXT NOT NULL,
  assignee TEXT,
  due_on TEXT,
  record TEXT NOT NULL,
  seq INTEGER NOT NULL,
  UNIQUE (type, code)
);
CREATE INDEX lists_status ON lists (status, assignee);
CREATE INDEX lists_seq ON lists (seq);
CREATE TABLE list_lines (
  list_id TEXT NOT NULL,
  line_no INTEGER NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (list_id, line_no)
) WITHOUT ROWID;
CREATE TABLE list_movements (
  event_id TEXT NOT NULL PRIMARY KEY,
  list_id TEXT NOT NULL,
  line_no INTEGER NOT NULL
) WITHOUT ROWID;
`,
  },
  {
    version: 6,
    name: 'production jobs and the genealogy graph',
    sql: `
CREATE TABLE production_jobs (
  id TEXT NOT NULL PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,
  job TEXT NOT NULL,
  seq INTEGER NOT NULL
);
-- One row per link (the domain's GenealogyLink as JSON); traversals walk the two key indexes.
CREATE TABLE genealogy_links (
  id TEXT NOT NULL PRIMARY KEY,
  from_key TEXT NOT NULL,
  to_key TEXT NOT NULL,
  status TEXT NOT NULL,
  link TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX genealogy_from ON genealogy_links (from_key);
CREATE INDEX genealogy_to ON genealogy_links (to_key);
-- What each event did to the graph: a reversal undoes exactly that.
CREATE TABLE event_traces (
  event_id TEXT NOT NULL PRIMARY KEY,
  trace TEXT NOT NULL
) WITHOUT ROWID;
`,
  },
  {
    version: 7,
    name: 'genealogy traversals read only the indexes',
    // A traversal asks, level by level, for the other ends of a frontier's links that it may
    // follow: with status and the other key in the index, no link row is read.
    sql: `
DROP INDEX IF EXISTS genealogy_from;
DROP INDEX IF EXISTS genealogy_to;
CREATE INDEX genealogy_from ON genealogy_links (from_key, status, to_key);
CREATE INDEX genealogy_to ON genealogy_links (to_key, status, from_key);
`,
  },
  {
    version: 8,
    name: 'counting sessions: headers, scopes, lines and positions',
    sql: `
-- A session without its lines (session = the domain's CountSession as JSON). skey/seq as the
-- other read models: an applied or cancelled session is a tombstone for snapshot paging, and
-- so are its lines and positions (their own rows' seq says when). live (here and below) is
-- the domain's isLiveCountSession of the session, written by the server, so the rule lives
-- in one place.
CREATE TABLE count_sessions (
  id TEXT NOT NULL PRIMARY KEY,
  skey TEXT NOT NULL UNIQUE,
  code TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  session TEXT NOT NULL,
  live INTEGER NOT NULL,
  seq INTEGER NOT NULL
);
-- Written once, when the session is planned; ord keeps the planned order.
CREATE TABLE count_scope (
  session_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  ord INTEGER NOT NULL,
  PRIMARY KEY (session_id, member_id)
) WITHOUT ROWID;
-- A rowid table: a serialized item's line carries every count's serials (thousands), too
-- large a row to keep inside a WITHOUT ROWID table's B-tree. lot is '' for none, as in stock.
-- live = the session is live (kept by the session's writes): the snapshot pages the live
-- lines through the (live, skey) index without reading the history of finished sessions; the
-- seq index finds what changed after a reset began (the history only grows).
CREATE TABLE count_records (
  session_id TEXT NOT NULL,
  line_no INTEGER NOT NULL,
  skey TEXT NOT NULL,
  item_id TEXT NOT NULL,
  position_id TEXT NOT NULL,
  lot TEXT NOT NULL,
  record TEXT NOT NULL,
  live INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (session_id, line_no)
);
CREATE UNIQUE INDEX count_records_pair ON count_records (session_id, item_id, position_id, lot);
CREATE INDEX count_records_live ON count_records (live, skey);
CREATE INDEX count_records_seq ON count_records (seq);
CREATE TABLE count_positions (
  session_id TEXT NOT NULL,
  position_id TEXT NOT NULL,
  skey TEXT NOT NULL,
  position TEXT NOT NULL,
  live INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (session_id, position_id)
) WITHOUT ROWID;
CREATE INDEX count_positions_live ON count_positions (live, skey);
CREATE INDEX count_positions_seq ON count_positions (seq);
`,
  },
  {
    version: 9,
    name: 'production jobs as snapshot entries: snapshot key and liveness',
    // skey/seq/live as the counting tables: a job created or running (live, isLiveJob) is the
    // entry s/job/<id>; a completed one is a tombstone at the seq it was completed. The (live,
    // skey) index pages the live jobs without reading a year of completed ones; the seq index
    // finds what changed after a reset began. Existing rows get skey and live from their
    // record once this has run (migrate(): keys are URI-encoded, which SQL cannot do); their
    // seq is already the event that last changed them.
    sql: `
ALTER TABLE production_jobs ADD COLUMN skey TEXT NOT NULL DEFAULT '';
ALTER TABLE production_jobs ADD COLUMN live INTEGER NOT NULL DEFAULT 0;
CREATE INDEX production_jobs_live ON production_jobs (live, skey);
CREATE INDEX production_jobs_seq ON production_jobs (seq);
`,
  },
  {
    version: 10,
    name: 'SSE tickets name the session that took them',
    // A ticket opens streams only while its session lives (a logout ends them at once).
    // Tickets stored before have none and expire within their minute.
    sql: `
ALTER TABLE tickets ADD COLUMN session_hash TEXT;
`,
  },
  {
    version: 11,
    name: 'devices keep the hash of their secret',
    // Bound when a device is first seen, by a sign-in that presents a secret; devices recorded
    // before stay without one (as do third-party clients that never send one).
    sql: `
ALTER TABLE devices ADD COLUMN secret_hash TEXT;
`,
  },
  {
    version: 12,
    name: 'a failed job keeps its problem code and values',
    // JSON `{ code, values }` (JOB_PROBLEMS): a screen says why a print failed in its user's
    // language. Jobs failed before have none; their English `error` stays what is shown.
    sql: `
ALTER TABLE jobs ADD COLUMN problem TEXT;
`,
  },
  {
    version: 13,
    name: 'jobs of one kind, newest first, by index',
    // Every label print is a job: the jobs screen's bulk adjustments would otherwise be looked
    // for among thousands of prints. Ties in time are ordered by id, as in memory.
    sql: `
CREATE INDEX jobs_kind_created ON jobs (kind, created_at, id);
`,
  },
  {
    version: 14,
    name: 'the queued jobs, by index',
    // A start queues again every job left `queued` (the in-process queue forgot them): found
    // among a factory's years of finished jobs without reading them all.
    sql: `
CREATE INDEX jobs_queued ON jobs (created_at, id) WHERE status = 'queued';
`,
  },
];
