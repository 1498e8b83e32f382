// Browser-side Web API client for the harness page: the same operations PCF's context.webAPI and Xrm.WebApi offer
// (logical names, OData query strings), over same-origin fetch to the harness's /api/data proxy. The proxy adds
// the credentials, so nothing secret is ever in the page.

export const API_ROOT = "/api/data/v9.2";

export type Entity = Record<string, unknown>;

/** Rejection shape of Xrm.WebApi / context.webAPI: an Error carrying Dataverse's code and HTTP status. */
export class WebApiError extends Error {
  constructor(
    message: string,
    readonly errorCode: string | undefined,
    readonly status: number,
  ) {
    super(message);
    this.name = "WebApiError";
  }
}

export interface BrowserWebApi {
  retrieveMultipleRecords(
    entityLogicalName: string,
    options?: string,
    maxPageSize?: number,
  ): Promise<{ entities: Entity[]; nextLink?: string }>;
  retrieveRecord(entityLogicalName: string, id: string, options?: string): Promise<Entity>;
  createRecord(entityLogicalName: string, data: Entity): Promise<{ id: string; entityType: string; name?: string }>;
  updateRecord(entityLogicalName: string, id: string, data: Entity): Promise<{ id: string; entityType: string }>;
  deleteRecord(entityLogicalName: string, id: string): Promise<{ id: string; entityType: string; name?: string }>;
  entitySetName(entityLogicalName: string): Promise<string>;
}

const JSON_HEADERS: Record<string, string> = {
  Accept: "application/json",
  "OData-MaxVersion": "4.0",
  "OData-Version": "4.0",
  Prefer: 'odata.include-annotations="*"',
};

export async function toWebApiError(response: Response): Promise<WebApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    return new WebApiError(body.error?.message ?? `HTTP ${response.status}`, body.error?.code, response.status);
  } catch {
    return new WebApiError(text || `HTTP ${response.status}`, undefined, response.status);
  }
}

function idFromEntityIdHeader(header: string | null): string {
  const match = /\(([0-9a-fA-F-]{36})\)\s*$/.exec(header ?? "");
  return match?.[1] ?? "";
}

const clean = (id: string): string => id.replace(/[{}]/g, "");
const query = (options?: string): string => (options ? (options.startsWith("?") ? options : `?${options}`) : "");

export function createBrowserWebApi(fetchImpl: typeof fetch = (...args) => fetch(...args)): BrowserWebApi {
  const setNames = new Map<string, Promise<string>>();

  const send = async (url: string, init: RequestInit): Promise<Response> => {
    const response = await fetchImpl(url, {
      credentials: "same-origin",
      ...init,
      headers: { ...JSON_HEADERS, ...(init.headers as Record<string, string>) },
    });
    if (!response.ok) throw await toWebApiError(response);
    return response;
  };

  const entitySetName = (logicalName: string): Promise<string> => {
    let cached = setNames.get(logicalName);
    if (!cached) {
      // Real Dataverse resolves logical → entity set names from metadata, and so does this page.
      cached = send(`${API_ROOT}/EntityDefinitions(LogicalName='${logicalName}')?$select=EntitySetName`, { method: "GET" })
        .then(async (r) => ((await r.json()) as { EntitySetName?: string }).EntitySetName ?? `${logicalName}s`)
        .catch(() => `${logicalName}s`);
      setNames.set(logicalName, cached);
    }
    return cached;
  };

  return {
    entitySetName,
    async retrieveMultipleRecords(name, options, maxPageSize) {
      const set = await entitySetName(name);
      const headers: Record<string, string> = maxPageSize
        ? { Prefer: `odata.include-annotations="*",odata.maxpagesize=${maxPageSize}` }
        : {};
      const response = await send(`${API_ROOT}/${set}${query(options)}`, { method: "GET", headers });
      const body = (await response.json()) as { value?: Entity[]; "@odata.nextLink"?: string };
      return { entities: body.value ?? [], nextLink: body["@odata.nextLink"] };
    },
    async retrieveRecord(name, id, options) {
      const set = await entitySetName(name);
      const response = await send(`${API_ROOT}/${set}(${clean(id)})${query(options)}`, { method: "GET" });
      return (await response.json()) as Entity;
    },
    async createRecord(name, data) {
      const set = await entitySetName(name);
      const response = await send(`${API_ROOT}/${set}`, {
        method: "POST",
        headers: { "Content-Type": "application/json; charset=utf-8" },
        body: JSON.stringify(data),
      });
      return { id: idFromEntityIdHeader(response.headers.get("OData-EntityId")), entityType: name };
    },
    async updateRecord(name, id, data) {
      const set = await entitySetName(name);
      await send(`${API_ROOT}/${set}(${clean(id)})`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json; charset=utf-8", "If-Match": "*" },
        body: JSON.stringify(data),
      });
      return { id: clean(id), entityType: name };
    },
    async deleteRecord(name, id) {
      const set = await entitySetName(name);
      await send(`${API_ROOT}/${set}(${clean(id)})`, { method: "DELETE" });
      return { id: clean(id), entityType: name };
    },
  };
}

/**
 * Xrm.WebApi.online.execute for bound and unbound actions, driven by the request's getMetadata() exactly as the
 * platform does: the bound parameter names the target, every other own property is a parameter.
 */
export async function executeRequest(
  api: BrowserWebApi,
  request: Record<string, unknown>,
  fetchImpl: typeof fetch = (...args) => fetch(...args),
): Promise<Response> {
  const getMetadata = request.getMetadata as
    (() => { boundParameter?: string | null; operationName: string; operationType?: number }) | undefined;
  if (typeof getMetadata !== "function") throw new WebApiError("The request has no getMetadata().", undefined, 400);
  const meta = getMetadata.call(request);
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request)) {
    if (key === "getMetadata" || key === meta.boundParameter || value === undefined || value === null) continue;
    body[key] = value;
  }
  let url = `${API_ROOT}/${meta.operationName}`;
  if (meta.boundParameter) {
    const target = request[meta.boundParameter] as { entityType: string; id: string };
    url = `${API_ROOT}/${await api.entitySetName(target.entityType)}(${clean(target.id)})/Microsoft.Dynamics.CRM.${meta.operationName}`;
  }
  const response = await fetchImpl(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { ...JSON_HEADERS, "Content-Type": "application/json; charset=utf-8" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await toWebApiError(response);
  return response;
}
