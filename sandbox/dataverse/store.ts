/**
 * SQLite storage for the emulator: one SQL table per Dataverse table with typed columns, unique
 * indexes for alternate keys, indexes on lookups, a global monotonic row version (the ETag), and an
 * async write lock so a change set (or a write with synchronous webhook steps) is one SQLite
 * transaction even though the handler awaits in between (prepared statements, one
 * transaction per change set, WAL for file databases).
 */
import Database from "better-sqlite3";

import type {
  ColumnDef,
  CustomApiDef,
  EnvironmentVariableDef,
  FieldSecurityProfileDef,
  RelationshipDef,
  ServiceEndpointDef,
  StepDef,
  TableDef,
} from "../../src/solution/model";
import { isLookup, isPolymorphic, sqlType, systemTables, type TableMeta, withStandardColumns } from "./schema";

export type Row = Record<string, unknown>;

/** Everything imported solutions add, persisted with the database so a file DB reopens with its schema. */
export interface Catalog {
  tables: TableDef[];
  relationships: RelationshipDef[];
  customApis: CustomApiDef[];
  serviceEndpoints: ServiceEndpointDef[];
  steps: StepDef[];
  environmentVariables: EnvironmentVariableDef[];
  fieldSecurityProfiles: FieldSecurityProfileDef[];
}

export const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
/** SQL column holding a polymorphic lookup's target table. */
export const typeColumn = (c: ColumnDef) => `${c.logicalName}__type`;

/** Columns that exist on every table and never take part in default delete cascades. */
const SYSTEM_LOOKUPS = new Set(["createdby", "modifiedby", "ownerid", "owningbusinessunit"]);

/** Rows a table needs before `Store.tuneFor` indexes a query's pinned columns (below, a scan costs little). */
export const AUTO_INDEX_MIN_ROWS = 5_000;

export class Store {
  readonly db: Database.Database;
  readonly tables = new Map<string, TableMeta>();
  readonly bySet = new Map<string, TableMeta>();
  catalog: Catalog = {
    tables: [],
    relationships: [],
    customApis: [],
    serviceEndpoints: [],
    steps: [],
    environmentVariables: [],
    fieldSecurityProfiles: [],
  };
  private version = 0;
  private readonly statements = new Map<string, Database.Statement>();
  /** Tables and pinned columns `tuneFor` has judged (indexed, or already covered). */
  private readonly tuned = new Set<string>();
  /** Pinned columns whose table `tuneFor` last found too small, with the row writes counted then. */
  private readonly smallWhen = new Map<string, number>();
  /** Indexes `tuneFor` created, in order. */
  readonly autoIndexes: string[] = [];
  private lockTail: Promise<void> = Promise.resolve();
  private nextObjectTypeCode = 10000;
  writes = 0;

  constructor(dbPath: string) {
    this.db = new Database(dbPath);
    if (dbPath !== ":memory:" && dbPath !== "") {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
    }
    this.db.exec(`CREATE TABLE IF NOT EXISTS "__emu_catalog" (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL)`);
    const saved = this.db.prepare(`SELECT json FROM "__emu_catalog" WHERE id = 1`).get() as { json: string } | undefined;
    if (saved) this.catalog = JSON.parse(saved.json) as Catalog;
    this.registerTables([...systemTables(), ...this.catalog.tables]);
    for (const meta of this.tables.values()) {
      const row = this.db.prepare(`SELECT MAX(versionnumber) AS v FROM ${q(meta.logicalName)}`).get() as { v: number | null };
      this.version = Math.max(this.version, row.v ?? 0);
    }
  }

  close(): void {
    this.db.close();
  }

  nextVersion(): number {
    return ++this.version;
  }

  /** Merges table definitions into the registry and brings the SQL schema up to date (create/alter, indexes). */
  registerTables(defs: TableDef[]): void {
    for (const incoming of defs) {
      const existing = this.tables.get(incoming.logicalName);
      const def = existing ? mergeTable(existing.def, incoming) : withStandardColumns(structuredClone(incoming));
      const meta: TableMeta = {
        def,
        logicalName: def.logicalName,
        entitySet: def.entitySetName,
        primaryId: def.primaryIdAttribute,
        primaryName: def.primaryNameAttribute,
        columns: new Map(def.columns.map((c) => [c.logicalName, c])),
        keys: def.keys,
        referencedBy: existing?.referencedBy ?? [],
        objectTypeCode: existing?.objectTypeCode ?? this.objectTypeCodeFor(def.logicalName),
        metadataId: existing?.metadataId ?? deterministicGuid(`entity:${def.logicalName}`),
      };
      this.tables.set(meta.logicalName, meta);
      if (existing && existing.entitySet !== meta.entitySet) this.bySet.delete(existing.entitySet);
      this.bySet.set(meta.entitySet, meta);
      this.ensureSqlTable(meta);
    }
    this.statements.clear();
    this.rebuildRelationships();
  }

  private objectTypeCodeFor(name: string): number {
    const known: Record<string, number> = {
      account: 1,
      contact: 2,
      systemuser: 8,
      businessunit: 10,
      organization: 1019,
      asyncoperation: 4700,
      serviceendpoint: 4618,
      sdkmessageprocessingstep: 4608,
    };
    return known[name] ?? this.nextObjectTypeCode++;
  }

  private ensureSqlTable(meta: TableMeta): void {
    const t = q(meta.logicalName);
    const have = new Set((this.db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((r) => r.name));
    const sqlCols = (c: ColumnDef): string[] => {
      if (c.type === "primarykey") return [`${q(c.logicalName)} TEXT PRIMARY KEY`];
      const out = [`${q(c.logicalName)} ${sqlType(c)}`];
      if (isPolymorphic(c)) out.push(`${q(typeColumn(c))} TEXT`);
      return out;
    };
    if (have.size === 0) {
      const cols = meta.def.columns.flatMap(sqlCols);
      this.db.exec(`CREATE TABLE ${t} (${cols.join(", ")})`);
    } else {
      for (const c of meta.def.columns) {
        if (!have.has(c.logicalName)) this.db.exec(`ALTER TABLE ${t} ADD COLUMN ${q(c.logicalName)} ${sqlType(c)}`);
        if (isPolymorphic(c) && !have.has(typeColumn(c))) this.db.exec(`ALTER TABLE ${t} ADD COLUMN ${q(typeColumn(c))} TEXT`);
      }
    }
    for (const c of meta.def.columns) {
      if (isLookup(c) && !SYSTEM_LOOKUPS.has(c.logicalName)) {
        // (lookup, primary key): a query filtered on the lookup pages by primary key (keyset paging), so
        // each page is one index range scan instead of a sort of every matching row.
        const name = `ix_${meta.logicalName}_${c.logicalName}`;
        if ((this.db.prepare(`PRAGMA index_info(${q(name)})`).all() as unknown[]).length === 1) this.db.exec(`DROP INDEX ${q(name)}`);
        this.db.exec(`CREATE INDEX IF NOT EXISTS ${q(name)} ON ${t} (${q(c.logicalName)}, ${q(meta.primaryId)})`);
      }
    }
    for (const key of meta.keys) {
      this.db.exec(
        `CREATE UNIQUE INDEX IF NOT EXISTS ${q(`ak_${meta.logicalName}_${key.logicalName}`)} ON ${t} (${key.columns.map(q).join(", ")})`,
      );
    }
  }

  /** Explicit relationships from solutions, plus RemoveLink (Dataverse's default for custom lookups) for the rest. */
  private rebuildRelationships(): void {
    for (const meta of this.tables.values()) meta.referencedBy = [];
    const explicit = new Map(this.catalog.relationships.map((r) => [`${r.referencingEntity}.${r.referencingAttribute}`, r]));
    for (const meta of this.tables.values()) {
      for (const c of meta.def.columns) {
        if (c.type !== "lookup" || SYSTEM_LOOKUPS.has(c.logicalName)) continue;
        for (const target of c.targets ?? []) {
          const rel = explicit.get(`${meta.logicalName}.${c.logicalName}`) ?? {
            name: `${target}_${meta.logicalName}_${c.logicalName}`,
            referencedEntity: target,
            referencingEntity: meta.logicalName,
            referencingAttribute: c.logicalName,
            cascadeDelete: "RemoveLink" as const,
          };
          this.tables.get(target)?.referencedBy.push({ ...rel, referencedEntity: target });
        }
      }
    }
  }

  saveCatalog(): void {
    this.db
      .prepare(`INSERT INTO "__emu_catalog" (id, json) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET json = excluded.json`)
      .run(JSON.stringify(this.catalog));
  }

  table(logicalName: string): TableMeta | undefined {
    return this.tables.get(logicalName);
  }

  /** Cached prepared statement. */
  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  getRow(meta: TableMeta, id: string): Row | undefined {
    return this.stmt(`SELECT * FROM ${q(meta.logicalName)} WHERE ${q(meta.primaryId)} = ?`).get(id.toLowerCase()) as Row | undefined;
  }

  /** The id of the row if it exists; reads no other column (an @odata.bind target only has to exist). */
  idOf(meta: TableMeta, id: string): string | undefined {
    const r = this.stmt(`SELECT ${q(meta.primaryId)} AS id FROM ${q(meta.logicalName)} WHERE ${q(meta.primaryId)} = ?`).get(
      id.toLowerCase(),
    ) as { id: string } | undefined;
    return r?.id;
  }

  /** The id of the row with these alternate-key values, if any. */
  idBy(meta: TableMeta, values: [string, unknown][]): string | undefined {
    const where = values.map(([c]) => `${q(c)} = ?`).join(" AND ");
    const r = this.stmt(`SELECT ${q(meta.primaryId)} AS id FROM ${q(meta.logicalName)} WHERE ${where} LIMIT 1`).get(
      ...values.map(([, v]) => v),
    ) as { id: string } | undefined;
    return r?.id;
  }

  /** Finds a row by a full set of column values (an alternate key). */
  findBy(meta: TableMeta, values: [string, unknown][]): Row | undefined {
    const where = values.map(([c]) => `${q(c)} = ?`).join(" AND ");
    return this.stmt(`SELECT * FROM ${q(meta.logicalName)} WHERE ${where} LIMIT 1`).get(...values.map(([, v]) => v)) as Row | undefined;
  }

  insert(meta: TableMeta, values: Row): void {
    const cols = Object.keys(values);
    this.stmt(`INSERT INTO ${q(meta.logicalName)} (${cols.map(q).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`).run(
      ...cols.map((c) => values[c]),
    );
    this.writes++;
  }

  update(meta: TableMeta, id: string, values: Row): void {
    const cols = Object.keys(values);
    if (cols.length === 0) return;
    this.stmt(`UPDATE ${q(meta.logicalName)} SET ${cols.map((c) => `${q(c)} = ?`).join(", ")} WHERE ${q(meta.primaryId)} = ?`).run(
      ...cols.map((c) => values[c]),
      id,
    );
    this.writes++;
  }

  deleteRow(meta: TableMeta, id: string): void {
    this.stmt(`DELETE FROM ${q(meta.logicalName)} WHERE ${q(meta.primaryId)} = ?`).run(id);
    this.writes++;
  }

  all(sql: string, params: unknown[]): Row[] {
    return this.stmt(sql).all(...params) as Row[];
  }

  /**
   * Dataverse tunes the slow queries of a standard table by itself ("Automatic query optimization",
   * https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/optimize-performance). Here: a
   * query that pins two or more columns by equality (a lookup and a list of keys) on a table of at least
   * AUTO_INDEX_MIN_ROWS rows gets an index on them, and the table's statistics so that SQLite's planner uses it
   * (without them it keeps walking the lookup's index: the rows of 150 customers among 50,000 took 66-330 ms of
   * the emulator's thread, which shares the machine's cores with the client under test). The answers do not
   * change. Never inside a write transaction, which could roll the index back.
   */
  tuneFor(table: string, columns: readonly string[]): void {
    if (columns.length < 2 || this.db.inTransaction) return;
    const wanted = [...columns].sort();
    const key = `${table}(${wanted.join(",")})`;
    if (this.tuned.has(key)) return;
    // A table found small is counted again only once enough rows may have been written since: every such query
    // would otherwise prepare and run a count.
    const smallAt = this.smallWhen.get(key);
    if (smallAt !== undefined && this.writes - smallAt < AUTO_INDEX_MIN_ROWS / 10) return;
    const counted = this.stmt(`SELECT COUNT(*) AS n FROM ${q(table)}`).get() as { n: number };
    if (counted.n < AUTO_INDEX_MIN_ROWS) {
      this.smallWhen.set(key, this.writes);
      return;
    }
    this.smallWhen.delete(key);
    this.tuned.add(key);
    const indexes = this.db.prepare(`PRAGMA index_list(${q(table)})`).all() as { name: string }[];
    const covered = indexes.some((ix) => {
      const leading = (this.db.prepare(`PRAGMA index_info(${q(ix.name)})`).all() as { name: string }[])
        .slice(0, wanted.length)
        .map((c) => c.name)
        .sort();
      return leading.length === wanted.length && leading.every((c, i) => c === wanted[i]);
    });
    if (covered) return;
    const name = `auto_${table}_${wanted.join("_")}`;
    this.db.exec(`CREATE INDEX IF NOT EXISTS ${q(name)} ON ${q(table)} (${wanted.map(q).join(", ")})`);
    this.autoIndexes.push(name);
    this.db.exec(`ANALYZE ${q(table)}`);
    this.statements.clear();
  }

  /**
   * Runs `fn` as one SQLite transaction under the write lock. `fn` may await (synchronous webhook
   * steps run inside the transaction, as in Dataverse); nothing else writes meanwhile.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.withWriteLock(async () => {
      this.db.exec("BEGIN");
      try {
        const result = await fn();
        this.db.exec("COMMIT");
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw err;
      }
    });
  }

  /** Serialises writers (one shared connection, so an open transaction must not see foreign writes). */
  async withWriteLock<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.lockTail;
    let release!: () => void;
    this.lockTail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

function mergeTable(existing: TableDef, incoming: TableDef): TableDef {
  const columns = new Map(existing.columns.map((c) => [c.logicalName, c]));
  for (const c of incoming.columns) {
    const old = columns.get(c.logicalName);
    // A primary key stays a primary key; otherwise the newer definition (e.g. a longer maxLength) wins.
    columns.set(c.logicalName, old?.type === "primarykey" ? old : { ...c });
  }
  const keys = new Map(existing.keys.map((k) => [k.logicalName, k]));
  for (const k of incoming.keys) keys.set(k.logicalName, k);
  return withStandardColumns({
    ...existing,
    ...(incoming.isCustomEntity
      ? { displayName: incoming.displayName, displayCollectionName: incoming.displayCollectionName, description: incoming.description }
      : {}),
    columns: [...columns.values()],
    keys: [...keys.values()],
    forms: incoming.forms.length ? incoming.forms : existing.forms,
    views: incoming.views.length ? incoming.views : existing.views,
  });
}

/** Stable GUID from a string (metadata ids must not change between runs). */
export function deterministicGuid(seed: string): string {
  // FNV-1a over the seed, expanded to 128 bits; good enough for stable metadata ids.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  let h3 = 0x12345678;
  let h4 = 0x9abcdef0;
  for (let i = 0; i < seed.length; i++) {
    const c = seed.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 16777619) >>> 0;
    h2 = Math.imul(h2 ^ c, 2246822519) >>> 0;
    h3 = Math.imul(h3 ^ c, 3266489917) >>> 0;
    h4 = Math.imul(h4 ^ c, 668265263) >>> 0;
  }
  const hex = [h1, h2, h3, h4].map((h) => h.toString(16).padStart(8, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
