// In-memory stand-ins for the data-access interfaces the UI depends on (RecordsApi, ExecuteCustomApi).
// They record calls so tests can assert what the UI asked Dataverse to do.
import type { CustomApiCall, CustomApiResponse } from "../../../ui-shared/customApi";
import type { RecordsApi, Row } from "../../../ui-shared/records";

export interface RecordedCall {
  readonly op: "retrieveMultiple" | "retrieve" | "create" | "update";
  readonly entity: string;
  readonly id?: string;
  readonly options?: string;
  readonly data?: Row;
}

const PRIMARY: Record<string, string> = {
  w365_providerconnection: "w365_providerconnectionid",
  w365_provideraccount: "w365_provideraccountid",
  w365_syncrun: "w365_syncrunid",
  account: "accountid",
};

/** Evaluates `$filter=<col> eq '<text>'` / `<col> eq <guid>` joined by `or`, and contains(name,'x'): enough for the UI's queries. */
function matches(row: Row, filter: string | undefined): boolean {
  if (!filter) return true;
  return filter.split(/\s+or\s+/).some((clause) => {
    const contains = /^contains\((\w+),'(.*)'\)$/.exec(clause.trim());
    if (contains)
      return String(row[contains[1]!] ?? "")
        .toLowerCase()
        .includes(contains[2]!.replace(/''/g, "'").toLowerCase());
    const eq = /^(\w+) eq '?(.*?)'?$/.exec(clause.trim());
    if (eq) return String(row[eq[1]!] ?? "").toLowerCase() === eq[2]!.replace(/''/g, "'").toLowerCase();
    return false;
  });
}

let counter = 0;
export function fakeGuid(): string {
  counter += 1;
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, "0")}`;
}

export class FakeRecords implements RecordsApi {
  readonly tables: Record<string, Row[]> = {};
  readonly calls: RecordedCall[] = [];
  /** Runs after every read, so a test can advance the world (e.g. a run's progress) between polls. */
  onRead?: (entity: string) => void;
  failNext?: Error;

  rows(entity: string): Row[] {
    return (this.tables[entity] ??= []);
  }

  private takeFailure(): void {
    const failure = this.failNext;
    if (failure) {
      this.failNext = undefined;
      throw failure;
    }
  }

  /**
   * Pages like Xrm.WebApi: at most `maxPageSize` rows, then a nextLink (absolute URL) whose query part, passed back
   * as `options`, returns the next page ($skiptoken here is the offset).
   */
  async retrieveMultipleRecords(entity: string, options?: string, maxPageSize?: number): Promise<{ entities: Row[]; nextLink?: string }> {
    this.calls.push({ op: "retrieveMultiple", entity, options });
    this.takeFailure();
    const params = new URLSearchParams((options ?? "").replace(/^\?/, ""));
    const filter = params.get("$filter") ?? undefined;
    const top = params.get("$top");
    let entities = this.rows(entity)
      .filter((r) => matches(r, filter))
      .map((r) => ({ ...r }));
    if (top) entities = entities.slice(0, Number(top));
    this.onRead?.(entity);
    if (!maxPageSize) return { entities };
    const offset = Number(params.get("$skiptoken") ?? 0);
    const page = entities.slice(offset, offset + maxPageSize);
    if (offset + maxPageSize >= entities.length) return { entities: page };
    params.set("$skiptoken", String(offset + maxPageSize));
    return { entities: page, nextLink: `https://org.example/api/data/v9.2/${entity}s?${params.toString()}` };
  }

  async retrieveRecord(entity: string, id: string, options?: string): Promise<Row> {
    this.calls.push({ op: "retrieve", entity, id, options });
    this.takeFailure();
    const row = this.rows(entity).find((r) => r[PRIMARY[entity] ?? `${entity}id`] === id);
    this.onRead?.(entity);
    if (!row) throw new Error(`${entity}(${id}) not found`);
    return { ...row };
  }

  async createRecord(entity: string, data: Row): Promise<{ id: string; entityType: string }> {
    this.calls.push({ op: "create", entity, data });
    this.takeFailure();
    const id = fakeGuid();
    this.rows(entity).push({ ...data, [PRIMARY[entity] ?? `${entity}id`]: id });
    return { id, entityType: entity };
  }

  async updateRecord(entity: string, id: string, data: Row): Promise<void> {
    this.calls.push({ op: "update", entity, id, data });
    this.takeFailure();
    const row = this.rows(entity).find((r) => r[PRIMARY[entity] ?? `${entity}id`] === id);
    if (!row) throw new Error(`${entity}(${id}) not found`);
    Object.assign(row, data);
  }
}

/** A custom API executor whose behaviour per API name is set by the test. */
export class FakeCustomApis {
  readonly calls: CustomApiCall[] = [];
  readonly handlers: Record<string, (call: CustomApiCall) => CustomApiResponse | Promise<CustomApiResponse>> = {};

  readonly execute = async (call: CustomApiCall): Promise<CustomApiResponse> => {
    this.calls.push(call);
    const handler = this.handlers[call.name];
    if (!handler) throw new Error(`no handler for ${call.name}`);
    return handler(call);
  };
}

/** Parameter values of a recorded call, as plain key → value. */
export function paramValues(call: CustomApiCall | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(call?.parameters ?? {})) if (v.value !== undefined) out[k] = v.value;
  return out;
}
