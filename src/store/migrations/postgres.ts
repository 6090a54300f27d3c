/**
 * Numbered PostgreSQL migrations, run under an advisory lock so replicas starting together apply
 * each once. Never edit a migration that has shipped: add the next number.
 */
export const POSTGRES_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
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
        issued_at       BIGINT NOT NULL,
        expires_at      BIGINT NOT NULL,
        not_before      BIGINT NOT NULL,
        nats_public_key TEXT,
        ended_at        BIGINT,
        end_reason      TEXT
      );
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
        last_end     BIGINT,
        last_issuer  TEXT,
        last_subject TEXT,
        PRIMARY KEY (pool, node)
      );

      CREATE TABLE mappings (
        pool       TEXT NOT NULL,
        node       INTEGER NOT NULL,
        issuer     TEXT NOT NULL,
        subject    TEXT NOT NULL,
        note       TEXT,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (pool, node)
      );

      CREATE TABLE audit (
        id       BIGSERIAL PRIMARY KEY,
        at       BIGINT NOT NULL,
        actor    TEXT NOT NULL,
        action   TEXT NOT NULL,
        pool     TEXT,
        node     INTEGER,
        lease_id TEXT,
        detail   TEXT NOT NULL
      );

      CREATE TABLE nats_state (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        version BIGINT NOT NULL,
        data    TEXT NOT NULL
      );
    `,
  },
  {
    // Allocation by index (issue 8); see the SQLite migration 2. PostgreSQL sorts NULLs last by
    // default, so the coldest index puts never-ended nodes first explicitly.
    version: 2,
    sql: `
      ALTER TABLE nodes ADD COLUMN holder TEXT;
      ALTER TABLE nodes ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT false;
      UPDATE nodes SET holder = l.id FROM leases l
        WHERE l.pool = nodes.pool AND l.node = nodes.node AND l.ended_at IS NULL;
      INSERT INTO nodes (pool, node, generation) SELECT pool, node, 0 FROM mappings ON CONFLICT DO NOTHING;
      UPDATE nodes SET pinned = true FROM mappings m WHERE m.pool = nodes.pool AND m.node = nodes.node;
      CREATE INDEX nodes_coldest ON nodes (pool, last_end NULLS FIRST, node) WHERE holder IS NULL AND NOT pinned;
      CREATE INDEX nodes_previous ON nodes (pool, last_issuer, last_subject, last_end)
        WHERE holder IS NULL AND NOT pinned;
      CREATE INDEX mappings_principal ON mappings (pool, issuer, subject, node);
      CREATE INDEX leases_pool_expiry ON leases (pool, expires_at) WHERE ended_at IS NULL;
      CREATE TABLE pool_cursor (
        pool      TEXT PRIMARY KEY,
        next_node INTEGER NOT NULL,
        ranges    TEXT NOT NULL DEFAULT ''
      );
    `,
  },
  {
    // The NATS auth callout (issue 10); see the SQLite migration 3.
    version: 3,
    sql: `
      CREATE TABLE callout_users (
        public_key TEXT PRIMARY KEY,
        lease_id   TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX callout_users_lease ON callout_users (lease_id, expires_at);
      CREATE INDEX callout_users_expiry ON callout_users (expires_at);
    `,
  },
  {
    // Audit entries get their public id when the feed is read, not when a unit appends them, so
    // units no longer serialise on one lock to COMMIT (postgres-audit.ts says why the feed stays
    // complete). Existing entries keep their ids; \`entry\` (the row key, in append order) continues
    // the old id sequence, so new entries sort after them.
    version: 4,
    sql: `
      ALTER TABLE audit ADD COLUMN entry BIGINT;
      UPDATE audit SET entry = id;
      ALTER TABLE audit ALTER COLUMN id DROP DEFAULT;
      ALTER TABLE audit ALTER COLUMN entry SET DEFAULT nextval('audit_id_seq');
      ALTER SEQUENCE audit_id_seq OWNED BY audit.entry;
      ALTER TABLE audit ALTER COLUMN entry SET NOT NULL;
      ALTER TABLE audit DROP CONSTRAINT audit_pkey;
      ALTER TABLE audit ALTER COLUMN id DROP NOT NULL;
      ALTER TABLE audit ADD PRIMARY KEY (entry);
      CREATE UNIQUE INDEX audit_id ON audit (id);
      CREATE INDEX audit_unsealed ON audit (entry) WHERE id IS NULL;
    `,
  },
];
