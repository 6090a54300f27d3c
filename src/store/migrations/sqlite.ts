/**
 * Numbered SQLite migrations. Each runs once, in its own transaction, recorded in schema_migrations.
 * Never edit a migration that has shipped: add the next number.
 */
export const SQLITE_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE leases (
        id              TEXT PRIMARY KEY,
        pool            TEXT NOT NULL,
        node            INTEGER NOT NULL,
        generation      INTEGER NOT NULL,
        issuer          TEXT NOT NULL,
        subject         TEXT NOT NULL,
        instance        TEXT,
        issued_at       INTEGER NOT NULL,
        expires_at      INTEGER NOT NULL,
        not_before      INTEGER NOT NULL,
        nats_public_key TEXT,
        ended_at        INTEGER,
        end_reason      TEXT
      ) STRICT;
      -- The uniqueness argument's last line of defence: one unended lease per node.
      CREATE UNIQUE INDEX leases_one_active_per_node ON leases (pool, node) WHERE ended_at IS NULL;
      CREATE UNIQUE INDEX leases_generation ON leases (pool, node, generation);
      CREATE INDEX leases_principal ON leases (issuer, subject) WHERE ended_at IS NULL;
      CREATE INDEX leases_unended_expiry ON leases (expires_at) WHERE ended_at IS NULL;
      -- One NATS user per lease: revoking one lease's user can never cut off another's.
      CREATE UNIQUE INDEX leases_nats_user ON leases (nats_public_key) WHERE nats_public_key IS NOT NULL;
      CREATE INDEX leases_ended_at ON leases (ended_at) WHERE ended_at IS NOT NULL;

      CREATE TABLE nodes (
        pool         TEXT NOT NULL,
        node         INTEGER NOT NULL,
        generation   INTEGER NOT NULL,
        last_end     INTEGER,
        last_issuer  TEXT,
        last_subject TEXT,
        PRIMARY KEY (pool, node)
      ) STRICT;

      CREATE TABLE mappings (
        pool       TEXT NOT NULL,
        node       INTEGER NOT NULL,
        issuer     TEXT NOT NULL,
        subject    TEXT NOT NULL,
        note       TEXT,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (pool, node)
      ) STRICT;

      CREATE TABLE audit (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        at       INTEGER NOT NULL,
        actor    TEXT NOT NULL,
        action   TEXT NOT NULL,
        pool     TEXT,
        node     INTEGER,
        lease_id TEXT,
        detail   TEXT NOT NULL
      ) STRICT;

      CREATE TABLE nats_state (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        data    TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    // Allocation by index (issue 8): a node row knows whether a lease holds it and whether it is
    // pinned, partial indexes answer "coldest free node" and "this principal's previous node"
    // without reading the pool, and node rows are created lazily in chunks (pool_cursor).
    version: 2,
    sql: `
      ALTER TABLE nodes ADD COLUMN holder TEXT;
      ALTER TABLE nodes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
      UPDATE nodes SET holder = (SELECT l.id FROM leases l
        WHERE l.pool = nodes.pool AND l.node = nodes.node AND l.ended_at IS NULL);
      INSERT OR IGNORE INTO nodes (pool, node, generation) SELECT pool, node, 0 FROM mappings;
      UPDATE nodes SET pinned = 1
        WHERE EXISTS (SELECT 1 FROM mappings m WHERE m.pool = nodes.pool AND m.node = nodes.node);
      CREATE INDEX nodes_coldest ON nodes (pool, last_end, node) WHERE holder IS NULL AND pinned = 0;
      CREATE INDEX nodes_previous ON nodes (pool, last_issuer, last_subject, last_end)
        WHERE holder IS NULL AND pinned = 0;
      CREATE INDEX mappings_principal ON mappings (pool, issuer, subject, node);
      CREATE INDEX leases_pool_expiry ON leases (pool, expires_at) WHERE ended_at IS NULL;
      -- Every node of the pool's ranges below next_node has a row; ranges says for which ranges.
      CREATE TABLE pool_cursor (
        pool      TEXT PRIMARY KEY,
        next_node INTEGER NOT NULL,
        ranges    TEXT NOT NULL DEFAULT ''
      ) STRICT;
    `,
  },
  {
    // The NATS auth callout (issue 10): user keys it issued JWTs for under a lease, so ending the
    // lease revokes them. One row per key; a row goes once its JWT has expired.
    version: 3,
    sql: `
      CREATE TABLE callout_users (
        public_key TEXT PRIMARY KEY,
        lease_id   TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX callout_users_lease ON callout_users (lease_id, expires_at);
      CREATE INDEX callout_users_expiry ON callout_users (expires_at);
    `,
  },
  {
    // Fewer pages written by every commit (issue 8). The sweeper finds expired leases pool by pool,
    // through leases_pool_expiry, so the pool-less expiry index goes: one index fewer to change on
    // every grant, renewal and release. Audit ids were AUTOINCREMENT, which rewrites sqlite_sequence
    // with every entry; a plain INTEGER PRIMARY KEY numbers them the same (the largest so far plus
    // one) because no entry is ever deleted. Never delete the newest: its id would be given again.
    version: 4,
    sql: `
      DROP INDEX IF EXISTS leases_unended_expiry;
      CREATE TABLE audit_v4 (
        id       INTEGER PRIMARY KEY,
        at       INTEGER NOT NULL,
        actor    TEXT NOT NULL,
        action   TEXT NOT NULL,
        pool     TEXT,
        node     INTEGER,
        lease_id TEXT,
        detail   TEXT NOT NULL
      ) STRICT;
      INSERT INTO audit_v4 (id, at, actor, action, pool, node, lease_id, detail)
        SELECT id, at, actor, action, pool, node, lease_id, detail FROM audit ORDER BY id;
      DROP TABLE audit; -- its sqlite_sequence row goes with it
      ALTER TABLE audit_v4 RENAME TO audit;
    `,
  },
];
