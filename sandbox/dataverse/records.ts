/**
 * Record semantics on top of the store: reference resolution (GUIDs, alternate keys, Content-ID),
 * body validation, create/update/upsert/delete with cascades and event-pipeline hooks, and the JSON
 * shape of records with annotations and secured columns (docs/platform/dataverse.md 1.1-1.6).
 */
import { randomUUID } from "node:crypto";

import type { Clock } from "../../src/shared/clock";
import type { ColumnDef } from "../../src/solution/model";
import { badRequest, DataverseHttpError, ErrorCodes, notFound } from "./errors";
import { type ColumnResolver, type CompiledFilter, compileFilter, literalToParam, parseFilter } from "./odata/filter";
import {
  decodeSkipToken,
  type ExpandItem,
  type KeySegment,
  parseExpand,
  parseKeySegment,
  parseOrderBy,
  type Preferences,
  wantsAnnotation,
} from "./odata/query";
import { edmType, isLookup, isPolymorphic, READ_ONLY_COLUMNS, readName, type TableMeta, WRITE_ONLY_COLUMNS } from "./schema";
import { q, type Row, type Store, typeColumn } from "./store";
import { formatValue, fromStorage, toStorage } from "./values";

export interface UserInfo {
  id: string;
  name: string;
  /** Full access to every secured column (the system user and the integration's application user). */
  fieldSecurity: boolean;
  /** Field security profiles (by name) granting per-column read/create/update, as the solution declares them. */
  fieldSecurityProfiles?: string[];
  applicationUser: boolean;
  businessUnitId: string;
}

/** Per-operation context: who, which correlation, and the transaction's after-commit work. */
export interface OpContext {
  user: UserInfo;
  correlationId: string;
  requestId: string;
  depth: number;
  afterCommit: (() => void)[];
  /** Change-set Content-ID → entity URL relative to the service root (`accounts(<id>)`). */
  contentIds?: Map<string, string>;
}

/** Hooks the event pipeline (webhook steps) into record writes. */
export interface RecordEvents {
  hasSteps(message: string, entity: string): boolean;
  /** Runs steps of the stages before the main operation (10, 20); throws to abort. */
  before(event: RecordEvent, ctx: OpContext): Promise<void>;
  /** Runs synchronous post-operation steps (throws to roll back) and queues asynchronous ones after commit. */
  after(event: RecordEvent, ctx: OpContext): Promise<void>;
}

export interface RecordEvent {
  message: "Create" | "Update" | "Delete";
  meta: TableMeta;
  id: string;
  /** Stored values the request set (column logical name → stored value); empty for Delete. */
  target: Row;
  preImage?: Row;
  postImage?: Row;
}

export class Records {
  constructor(
    private readonly store: Store,
    private readonly events: RecordEvents,
    private readonly clock: Clock,
  ) {}

  tableBySet(set: string): TableMeta {
    const meta = this.store.bySet.get(set);
    if (!meta) throw new DataverseHttpError(404, ErrorCodes.ResourceNotFoundForSegment, `Resource not found for the segment '${set}'.`);
    return meta;
  }

  now(): string {
    return new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  // -------------------------------------------------------------------------------------------
  // Addressing

  /** Column values of an alternate key from a key segment, or the id for `(<guid>)` / `(pk=<guid>)`. */
  keyLookup(meta: TableMeta, key: KeySegment): { id?: string; keyValues?: [string, unknown][] } {
    if (key.id) return { id: key.id };
    const named = key.named ?? [];
    if (named.length === 1 && named[0]!.name === meta.primaryId) {
      const v = named[0]!.value;
      if (v.kind !== "guid") throw badRequest(`The key value for '${meta.primaryId}' must be a GUID.`);
      return { id: String(v.value) };
    }
    const values: [string, unknown][] = [];
    for (const { name, value } of named) {
      // A lookup in a key may be written `_x_value=<guid>` or by its navigation name `x=<guid>`.
      const logical = /^_(.+)_value$/.exec(name)?.[1] ?? name;
      const c = meta.columns.get(logical);
      if (!c || (isLookup(c) && name !== logical && name !== `_${logical}_value`)) {
        throw badRequest(`Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${meta.logicalName}'.`);
      }
      values.push([logical, literalToParam(value, edmType(c), "Equal")]);
    }
    const cols = values.map(([c]) => c).sort();
    const match = meta.keys.find((k) => [...k.columns].sort().join(",") === cols.join(","));
    if (!match) {
      throw badRequest(
        `The key attributes (${cols.join(", ")}) do not match any alternate key defined for the '${meta.logicalName}' entity.`,
      );
    }
    return { keyValues: values };
  }

  locate(meta: TableMeta, key: KeySegment): { row?: Row; id?: string; keyValues?: [string, unknown][] } {
    const k = this.keyLookup(meta, key);
    if (k.id) return { row: this.store.getRow(meta, k.id), id: k.id.toLowerCase() };
    return { row: this.store.findBy(meta, k.keyValues!), keyValues: k.keyValues };
  }

  notFoundError(meta: TableMeta, k: { id?: string; keyValues?: [string, unknown][] }): DataverseHttpError {
    if (k.id) return notFound(`${meta.logicalName} With Id = ${k.id} Does Not Exist`);
    return notFound(`A record with the specified key values does not exist in ${meta.logicalName} entity`);
  }

  /** Parses `set(key)` (optionally absolute, `/`-prefixed or `$n`) to an entity set and key segment. */
  parseEntityUrl(ref: string, ctx: OpContext): { meta: TableMeta; key: KeySegment } {
    let text = ref.trim();
    if (text.startsWith("$")) {
      const target = ctx.contentIds?.get(text);
      if (!target) throw badRequest(`Content-ID Reference: '${text}' does not exist in the batch context.`);
      text = target;
    }
    try {
      text = decodeURIComponent(text);
    } catch {
      // keep the text as written
    }
    text = text
      .replace(/^https?:\/\/[^/]+/i, "")
      .replace(/^\/?api\/data\/v9\.\d\//i, "")
      .replace(/^\//, "");
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\((.+)\)$/.exec(text);
    if (!m) throw badRequest(`The reference '${ref}' is not a valid entity reference; expected '/<entityset>(<id>)'.`);
    return { meta: this.tableBySet(m[1]!), key: parseKeySegment(m[2]!) };
  }

  resolveReference(ref: string, ctx: OpContext): { meta: TableMeta; id: string } {
    const { meta, key } = this.parseEntityUrl(ref, ctx);
    const k = this.keyLookup(meta, key);
    const id = k.id ? this.store.idOf(meta, k.id) : this.store.idBy(meta, k.keyValues!);
    if (!id) throw this.notFoundError(meta, k);
    return { meta, id };
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  /** Validates a request body against the table and returns the stored values it sets. */
  prepareBody(meta: TableMeta, body: unknown, ctx: OpContext, mode: "create" | "update"): Row {
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("The request body must be a JSON object.");
    const values: Row = {};
    for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
      if (key.startsWith("@")) continue;
      const at = key.indexOf("@");
      if (at > 0) {
        const annotation = key.slice(at + 1);
        if (annotation !== "odata.bind") continue;
        const nav = key.slice(0, at);
        const c =
          meta.columns.get(nav) ??
          [...meta.columns.values()].find((x) => x.logicalName.toLowerCase() === nav.toLowerCase()) ??
          targetQualifiedLookup(meta, nav);
        if (!c || !isLookup(c)) {
          throw badRequest(
            `An undeclared property '${nav}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`,
          );
        }
        this.checkSecured(meta, c, ctx, mode);
        if (value === null) {
          values[c.logicalName] = null;
          if (isPolymorphic(c)) values[typeColumn(c)] = null;
          continue;
        }
        if (typeof value !== "string")
          throw badRequest(`The value of '${key}' must be an entity reference string such as '/${meta.entitySet}(<id>)'.`);
        const ref = this.resolveReference(value, ctx);
        const targets = c.targets ?? [];
        if (targets.length > 0 && !targets.includes(ref.meta.logicalName)) {
          throw badRequest(
            `The entity set '${ref.meta.entitySet}' is not a valid target for the navigation property '${c.logicalName}' of '${meta.logicalName}'.`,
          );
        }
        values[c.logicalName] = ref.id;
        if (isPolymorphic(c)) values[typeColumn(c)] = ref.meta.logicalName;
        continue;
      }
      const c = meta.columns.get(key);
      if (!c) {
        if (/^_.+_value$/.test(key) && meta.columns.has(key.slice(1, -6))) {
          throw badRequest("CRM do not support direct update of Entity Reference properties, Use Navigation properties instead.");
        }
        throw badRequest(`Could not find a property named '${key}' on type 'Microsoft.Dynamics.CRM.${meta.logicalName}'.`);
      }
      if (isLookup(c)) {
        if (value !== null && typeof value === "object")
          throw badRequest(
            `Deep insert through '${key}' is not supported by the Dataverse emulator; create the related record and use '${key}@odata.bind'.`,
          );
        throw badRequest(
          `Could not find a property named '${key}' on type 'Microsoft.Dynamics.CRM.${meta.logicalName}'. Use '${key}@odata.bind' to set a lookup.`,
        );
      }
      if (READ_ONLY_COLUMNS.has(key)) continue; // Dataverse ignores system-managed columns in a body.
      if (c.type === "primarykey") {
        if (mode === "create") values[key] = toStorage(meta.logicalName, c, value);
        continue;
      }
      this.checkSecured(meta, c, ctx, mode);
      values[key] = toStorage(meta.logicalName, c, value);
    }
    return values;
  }

  /** Column-level security: full access, or what the user's field security profiles grant (CanX = 4 means allowed). */
  securedAccess(user: UserInfo, entity: string, attribute: string, action: "read" | "create" | "update"): boolean {
    if (user.fieldSecurity) return true;
    const names = new Set((user.fieldSecurityProfiles ?? []).map((n) => n.toLowerCase()));
    if (names.size === 0) return false;
    for (const profile of this.store.catalog.fieldSecurityProfiles) {
      if (!names.has(profile.name.toLowerCase())) continue;
      for (const p of profile.permissions) {
        if (p.entity !== entity || p.attribute !== attribute) continue;
        if (action === "read" ? p.canRead : action === "create" ? p.canCreate : p.canUpdate) return true;
      }
    }
    return false;
  }

  private checkSecured(meta: TableMeta, c: ColumnDef, ctx: OpContext, mode: "create" | "update") {
    if (!c.secured || this.securedAccess(ctx.user, meta.logicalName, c.logicalName, mode)) return;
    throw mode === "create"
      ? new DataverseHttpError(
          403,
          ErrorCodes.SecuredFieldCreate,
          `The user does not have create permissions to a secured field. The requested operation could not be completed. (attribute '${c.logicalName}' of '${meta.logicalName}')`,
        )
      : new DataverseHttpError(
          403,
          ErrorCodes.SecuredFieldUpdate,
          `The user does not have update permissions to a secured field. The requested operation could not be completed. (attribute '${c.logicalName}' of '${meta.logicalName}')`,
        );
  }

  async create(meta: TableMeta, values: Row, ctx: OpContext, knownAbsent = false): Promise<Row> {
    const given = values[meta.primaryId] as string | undefined;
    const id = (given ?? randomUUID()).toLowerCase();
    if (given && !knownAbsent && this.store.getRow(meta, id))
      throw new DataverseHttpError(412, ErrorCodes.DuplicateRecord, "Cannot insert duplicate key.");
    const now = this.now();
    const row: Row = {};
    for (const c of meta.def.columns) {
      if (c.defaultValue !== undefined && values[c.logicalName] === undefined) {
        row[c.logicalName] =
          c.type === "boolean" ? (c.defaultValue === true || c.defaultValue === "true" || c.defaultValue === 1 ? 1 : 0) : c.defaultValue;
      } else if (c.type === "boolean" && values[c.logicalName] === undefined) row[c.logicalName] = 0;
    }
    Object.assign(row, values, {
      [meta.primaryId]: id,
      createdon: now,
      modifiedon: now,
      versionnumber: this.store.nextVersion(),
      createdby: ctx.user.id,
      modifiedby: ctx.user.id,
    });
    if (row.statecode === undefined || row.statecode === null) row.statecode = 0;
    if (row.statuscode === undefined || row.statuscode === null) row.statuscode = defaultStatus(meta, row.statecode as number);
    if (meta.def.ownership === "UserOwned") {
      if (row.ownerid === undefined) {
        row.ownerid = ctx.user.id;
        row["ownerid__type"] = "systemuser";
      }
      row.owningbusinessunit = ctx.user.businessUnitId;
    }
    const hasSteps = this.events.hasSteps("Create", meta.logicalName);
    if (hasSteps) await this.events.before({ message: "Create", meta, id, target: { ...values, [meta.primaryId]: id } }, ctx);
    this.guardUnique(meta, () => this.store.insert(meta, row), row);
    if (hasSteps) {
      await this.events.after(
        { message: "Create", meta, id, target: { ...values, [meta.primaryId]: id }, postImage: this.store.getRow(meta, id) },
        ctx,
      );
    }
    // The inserted values are the row (unset columns are NULL); no need to read it back.
    return row;
  }

  async update(meta: TableMeta, existing: Row, values: Row, ctx: OpContext): Promise<Row> {
    const id = existing[meta.primaryId] as string;
    const set: Row = { ...values, modifiedon: this.now(), modifiedby: ctx.user.id, versionnumber: this.store.nextVersion() };
    // Changing statecode alone moves statuscode to that state's default status, as Dataverse does.
    if (values.statecode !== undefined && values.statecode !== null && values.statuscode === undefined)
      set.statuscode = defaultStatus(meta, values.statecode as number);
    delete set[meta.primaryId];
    const hasSteps = this.events.hasSteps("Update", meta.logicalName);
    if (hasSteps)
      await this.events.before({ message: "Update", meta, id, target: { ...values, [meta.primaryId]: id }, preImage: existing }, ctx);
    this.guardUnique(meta, () => this.store.update(meta, id, set), { ...existing, ...set });
    const after = { ...existing, ...set };
    if (hasSteps)
      await this.events.after(
        { message: "Update", meta, id, target: { ...values, [meta.primaryId]: id }, preImage: existing, postImage: after },
        ctx,
      );
    return after;
  }

  /**
   * Deletes a row with each relationship's delete cascade, as Dataverse applies it in the same transaction
   * (https://learn.microsoft.com/power-apps/maker/data-platform/configure-entity-relationship-cascading-behavior):
   * Restrict refuses while any row points here, Cascade deletes those rows, RemoveLink clears their lookup.
   */
  async delete(meta: TableMeta, existing: Row, ctx: OpContext): Promise<void> {
    const id = existing[meta.primaryId] as string;
    const hasSteps = this.events.hasSteps("Delete", meta.logicalName);
    if (hasSteps) await this.events.before({ message: "Delete", meta, id, target: {}, preImage: existing }, ctx);
    for (const rel of meta.referencedBy) {
      const child = this.store.table(rel.referencingEntity);
      const c = child?.columns.get(rel.referencingAttribute);
      if (!child || !c) continue;
      const where = isPolymorphic(c) ? `${q(c.logicalName)} = ? AND ${q(typeColumn(c))} = ?` : `${q(c.logicalName)} = ?`;
      const params = isPolymorphic(c) ? [id, meta.logicalName] : [id];
      const children = this.store.all(`SELECT * FROM ${q(child.logicalName)} WHERE ${where}`, params);
      if (children.length === 0) continue;
      if (rel.cascadeDelete === "Restrict") {
        throw new DataverseHttpError(
          405,
          ErrorCodes.CannotDeleteDueToAssociation,
          `The object you tried to delete is associated with another object and cannot be deleted. (${children.length} ${child.logicalName} record(s) reference it through '${c.logicalName}'.)`,
        );
      }
      for (const ch of children) {
        if (rel.cascadeDelete === "Cascade") await this.delete(child, ch, ctx);
        else {
          const clear: Row = { [c.logicalName]: null };
          if (isPolymorphic(c)) clear[typeColumn(c)] = null;
          await this.update(child, ch, clear, ctx);
        }
      }
    }
    this.store.deleteRow(meta, id);
    if (hasSteps) await this.events.after({ message: "Delete", meta, id, target: {}, preImage: existing }, ctx);
  }

  private guardUnique(meta: TableMeta, write: () => void, row: Row): void {
    try {
      write();
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code === "SQLITE_CONSTRAINT_UNIQUE" || e.code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
        const cols =
          /UNIQUE constraint failed: (.*)$/
            .exec(e.message ?? "")?.[1]
            ?.split(",")
            .map((s) => s.trim().split(".").pop()!) ?? [];
        const key = meta.keys.find((k) => [...k.columns].sort().join(",") === [...cols].sort().join(","));
        if (key) {
          const shown = key.columns.map((c) => String(row[c] ?? "")).join(", ");
          throw new DataverseHttpError(
            412,
            ErrorCodes.DuplicateRecord,
            `A record that has the attribute values ${shown} already exists. The entity key ${key.logicalName} requires that this set of attributes contains unique values. Select unique values and try again.`,
          );
        }
        throw new DataverseHttpError(412, ErrorCodes.DuplicateRecord, "Cannot insert duplicate key.");
      }
      throw err;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  /** Resolves a property path for $filter/$orderby against a table aliased `t`. */
  resolver(meta: TableMeta, alias = "t"): ColumnResolver {
    return (path, pos) => {
      const unknown = (name: string, m: TableMeta) =>
        badRequest(`Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${m.logicalName}'.`);
      const direct = (m: TableMeta, name: string, a: string) => {
        const logical = /^_(.+)_value$/.exec(name)?.[1];
        const c = logical ? m.columns.get(logical) : m.columns.get(name);
        if (!c || (logical ? !isLookup(c) : isLookup(c))) throw unknown(name, m);
        return { sql: `${a}.${q(c.logicalName)}`, edm: edmType(c) };
      };
      if (path.length === 1) return direct(meta, path[0]!, alias);
      if (path.length === 2) {
        const nav = meta.columns.get(path[0]!);
        if (!nav || !isLookup(nav) || (nav.targets?.length ?? 0) !== 1) throw unknown(path[0]!, meta);
        const target = this.store.table(nav.targets![0]!);
        if (!target) throw unknown(path[0]!, meta);
        const inner = direct(target, path[1]!, "r");
        return {
          sql: `(SELECT ${inner.sql} FROM ${q(target.logicalName)} r WHERE r.${q(target.primaryId)} = ${alias}.${q(nav.logicalName)})`,
          edm: inner.edm,
        };
      }
      throw badRequest(`The property path '${path.join("/")}' at position ${pos} is not supported.`);
    };
  }

  compileFilter(meta: TableMeta, filter: string | undefined, aliases: Record<string, string>): CompiledFilter | undefined {
    if (!filter) return undefined;
    return compileFilter(parseFilter(filter, aliases), this.resolver(meta));
  }

  /** One page of a collection query with keyset paging. */
  queryPage(
    meta: TableMeta,
    opts: {
      filter?: string;
      aliases: Record<string, string>;
      orderby?: string;
      limit: number;
      skiptoken?: string;
      extra?: CompiledFilter;
      columns?: string[];
    },
  ): { rows: Row[]; cursor?: { page: number; values: unknown[]; id: string } } {
    const resolve = this.resolver(meta);
    const order = parseOrderBy(opts.orderby).map((o) => {
      if (o.path.length !== 1) throw badRequest(`Ordering by the path '${o.path.join("/")}' is not supported.`);
      return { sql: resolve(o.path, 0).sql, desc: o.desc };
    });
    const where: string[] = [];
    const params: unknown[] = [];
    const filter = this.compileFilter(meta, opts.filter, opts.aliases);
    if (filter) {
      if (filter.pinned) this.store.tuneFor(meta.logicalName, filter.pinned);
      where.push(filter.sql);
      params.push(...filter.params);
    }
    if (opts.extra) {
      where.push(opts.extra.sql);
      params.push(...opts.extra.params);
    }
    let page = 1;
    const pk = `t.${q(meta.primaryId)}`;
    if (opts.skiptoken) {
      const cursor = decodeSkipToken(opts.skiptoken);
      if (cursor.values.length !== order.length)
        throw badRequest("The $skiptoken does not match the query's $orderby. Use the @odata.nextLink exactly as returned.");
      page = cursor.page;
      const ors: string[] = [];
      for (let i = 0; i <= order.length; i++) {
        const ands: string[] = [];
        for (let j = 0; j < i; j++) {
          const v = cursor.values[j];
          if (v === null) ands.push(`${order[j]!.sql} IS NULL`);
          else {
            ands.push(`${order[j]!.sql} = ?`);
            params.push(v);
          }
        }
        if (i === order.length) {
          ands.push(`${pk} > ?`);
          params.push(cursor.id);
        } else {
          const o = order[i]!;
          const v = cursor.values[i];
          if (!o.desc) {
            if (v === null) ands.push(`${o.sql} IS NOT NULL`);
            else {
              ands.push(`${o.sql} > ?`);
              params.push(v);
            }
          } else if (v === null) ands.push("0");
          else {
            ands.push(`(${o.sql} < ? OR ${o.sql} IS NULL)`);
            params.push(v);
          }
        }
        ors.push(`(${ands.join(" AND ")})`);
      }
      where.push(`(${ors.join(" OR ")})`);
    }
    const orderSql = [...order.map((o) => `${o.sql} ${o.desc ? "DESC" : "ASC"}`), `${pk} ASC`].join(", ");
    const extraCols = order.map((o, i) => `, ${o.sql} AS "__o${i}"`).join("");
    const projection = opts.columns ? opts.columns.map((c) => `t.${q(c)}`).join(", ") : "t.*";
    const sql = `SELECT ${projection}${extraCols} FROM ${q(meta.logicalName)} t${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY ${orderSql} LIMIT ?`;
    const rows = this.store.all(sql, [...params, opts.limit + 1]);
    if (rows.length <= opts.limit) return { rows };
    rows.length = opts.limit;
    const last = rows[rows.length - 1]!;
    return { rows, cursor: { page: page + 1, values: order.map((_, i) => last[`__o${i}`] ?? null), id: last[meta.primaryId] as string } };
  }

  count(meta: TableMeta, filter: string | undefined, aliases: Record<string, string>, extra?: CompiledFilter): number {
    const f = this.compileFilter(meta, filter, aliases);
    const where = [f?.sql, extra?.sql].filter(Boolean);
    const params = [...(f?.params ?? []), ...(extra?.params ?? [])];
    const row = this.store.all(
      `SELECT COUNT(*) AS n FROM ${q(meta.logicalName)} t${where.length ? ` WHERE ${where.join(" AND ")}` : ""}`,
      params,
    )[0] as { n: number };
    return row.n;
  }

  /** Validates a $select list (lookups must be selected as `_x_value`). */
  checkSelect(meta: TableMeta, select: string[] | undefined): void {
    for (const name of select ?? []) {
      const logical = /^_(.+)_value$/.exec(name)?.[1];
      const c = logical ? meta.columns.get(logical) : meta.columns.get(name);
      if (!c || (logical ? !isLookup(c) : isLookup(c))) {
        throw badRequest(`Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${meta.logicalName}'.`);
      }
    }
  }

  /**
   * The stored columns `present` needs for a $select without $expand: the id, the version (ETag), the
   * selected columns and a polymorphic lookup's type column. Reading only these keeps wide tables'
   * pages cheap (50,000-row state reads).
   */
  storedColumns(meta: TableMeta, select: string[]): string[] {
    const out = new Set<string>([meta.primaryId, "versionnumber"]);
    for (const name of select) {
      const c = meta.columns.get(/^_(.+)_value$/.exec(name)?.[1] ?? name);
      if (!c) continue;
      out.add(c.logicalName);
      if (isPolymorphic(c)) out.add(typeColumn(c));
    }
    return [...out];
  }

  /** JSON for a stored row: etag, selected columns (secured ones null for callers without the profile), annotations, expansions. */
  present(
    meta: TableMeta,
    row: Row,
    opts: { select?: string[]; expand?: ExpandItem[]; prefs: Preferences; user: UserInfo; aliases?: Record<string, string> },
  ): Record<string, unknown> {
    const out: Record<string, unknown> = { "@odata.etag": `W/"${row.versionnumber as number}"` };
    const wantFormatted = wantsAnnotation(opts.prefs, "OData.Community.Display.V1.FormattedValue");
    const wantLookupName = wantsAnnotation(opts.prefs, "Microsoft.Dynamics.CRM.lookuplogicalname");
    const wantNav = wantsAnnotation(opts.prefs, "Microsoft.Dynamics.CRM.associatednavigationproperty");
    const cols: ColumnDef[] = opts.select
      ? opts.select.map((name) => meta.columns.get(/^_(.+)_value$/.exec(name)?.[1] ?? name)!)
      : meta.def.columns;
    for (const c of cols) {
      const name = readName(c);
      let stored = row[c.logicalName];
      if (
        (c.secured && !this.securedAccess(opts.user, meta.logicalName, c.logicalName, "read")) ||
        WRITE_ONLY_COLUMNS.has(`${meta.logicalName}.${c.logicalName}`)
      )
        stored = null;
      if (isLookup(c)) {
        out[name] = stored ?? null;
        if (stored) {
          const target = isPolymorphic(c) ? ((row[typeColumn(c)] as string | null) ?? c.targets?.[0]) : c.targets?.[0];
          if (wantFormatted && target) {
            const name2 = this.primaryNameOf(target, stored as string);
            if (name2 !== undefined) out[`${name}@OData.Community.Display.V1.FormattedValue`] = name2;
          }
          if (wantNav) out[`${name}@Microsoft.Dynamics.CRM.associatednavigationproperty`] = c.logicalName;
          if (wantLookupName && target) out[`${name}@Microsoft.Dynamics.CRM.lookuplogicalname`] = target;
        }
        continue;
      }
      if (wantFormatted) {
        const f = formatValue(c, stored);
        if (f !== undefined) out[`${name}@OData.Community.Display.V1.FormattedValue`] = f;
      }
      out[name] = fromStorage(c, stored);
    }
    out[meta.primaryId] = row[meta.primaryId];
    for (const item of opts.expand ?? []) this.expandInto(meta, row, item, out, opts);
    return out;
  }

  private expandInto(
    meta: TableMeta,
    row: Row,
    item: ExpandItem,
    out: Record<string, unknown>,
    opts: { prefs: Preferences; user: UserInfo; aliases?: Record<string, string> },
  ): void {
    const c = meta.columns.get(item.nav);
    if (c && isLookup(c)) {
      const id = row[c.logicalName] as string | null;
      const targetName = isPolymorphic(c) ? ((row[typeColumn(c)] as string | null) ?? c.targets?.[0]) : c.targets?.[0];
      const target = targetName ? this.store.table(targetName) : undefined;
      if (!target) throw badRequest(`Could not find a property named '${item.nav}' on type 'Microsoft.Dynamics.CRM.${meta.logicalName}'.`);
      this.checkSelect(target, item.select);
      const related = id ? this.store.getRow(target, id) : undefined;
      out[item.nav] = related ? this.present(target, related, { ...opts, select: item.select, expand: item.expand }) : null;
      return;
    }
    const rel = meta.referencedBy.find((r) => r.name === item.nav);
    const child = rel ? this.store.table(rel.referencingEntity) : undefined;
    if (!rel || !child)
      throw badRequest(`Could not find a property named '${item.nav}' on type 'Microsoft.Dynamics.CRM.${meta.logicalName}'.`);
    this.checkSelect(child, item.select);
    const fk = `t.${q(rel.referencingAttribute)}`;
    const page = this.queryPage(child, {
      filter: item.filter,
      aliases: opts.aliases ?? {},
      orderby: item.orderby,
      limit: item.top ?? 5000,
      extra: { sql: `${fk} = ?`, params: [row[meta.primaryId]] },
    });
    out[item.nav] = page.rows.map((r) => this.present(child, r, { ...opts, select: item.select, expand: item.expand }));
  }

  private primaryNameOf(table: string, id: string): string | undefined {
    const meta = this.store.table(table);
    if (!meta || !meta.columns.has(meta.primaryName)) return undefined;
    const r = this.store.stmt(`SELECT ${q(meta.primaryName)} AS n FROM ${q(meta.logicalName)} WHERE ${q(meta.primaryId)} = ?`).get(id) as
      { n: string | null } | undefined;
    return r?.n ?? undefined;
  }

  parseExpand(meta: TableMeta, text: string | undefined): ExpandItem[] {
    const items = parseExpand(text);
    for (const item of items) {
      const c = meta.columns.get(item.nav);
      if (!(c && isLookup(c)) && !meta.referencedBy.some((r) => r.name === item.nav)) {
        throw badRequest(`Could not find a property named '${item.nav}' on type 'Microsoft.Dynamics.CRM.${meta.logicalName}'.`);
      }
    }
    return items;
  }
}

function defaultStatus(meta: TableMeta, state: number): number {
  const status = meta.columns.get("statuscode");
  if (meta.logicalName === "asyncoperation") return 0;
  const first = status?.options?.find((o) => (state === 0 ? o.value === 1 : o.value === 2)) ?? status?.options?.[state];
  return first?.value ?? (state === 0 ? 1 : 2);
}

/**
 * A lookup that can point at several tables is bound through `<lookup>_<target>` in Dataverse (for example
 * `eventhandler_serviceendpoint@odata.bind` on a step, `parentcustomerid_account` on a contact).
 */
function targetQualifiedLookup(meta: TableMeta, nav: string): ColumnDef | undefined {
  const lower = nav.toLowerCase();
  for (const c of meta.columns.values()) {
    if (!isLookup(c)) continue;
    if ((c.targets ?? []).some((t) => `${c.logicalName}_${t}` === lower)) return c;
  }
  return undefined;
}
