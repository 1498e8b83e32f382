// Calling the connector's custom APIs from the browser. PCF's context.webAPI has no execute, so both the PCF
// control and the web resources go through one small `ExecuteCustomApi` function, injected where it is used:
// - inside a model-driven app, `Xrm.WebApi.online.execute` (what Microsoft documents for custom APIs);
// - elsewhere (a custom page without Xrm, the local Admin Hub harness), a same-origin `fetch` to the Web API,
//   which carries the signed-in user's session cookie in Dataverse and the harness's proxy credentials locally.

import { entitySets, logicalNames } from "../src/schema";
import { ConnectorError } from "../src/shared/errors";

export type CustomApiParameterType = "Boolean" | "String" | "Guid";

export interface BoundTarget {
  /** Logical name of the bound table, e.g. w365_providerconnection. */
  readonly logicalName: string;
  /** Entity set name, e.g. w365_providerconnections. */
  readonly entitySet: string;
  readonly id: string;
}

export interface CustomApiCall {
  /** Unique name of the custom API, e.g. w365_SyncProviderAccounts. */
  readonly name: string;
  readonly target: BoundTarget;
  /** Optional parameters; undefined values are left out of the request. */
  readonly parameters?: Readonly<Record<string, { readonly type: CustomApiParameterType; readonly value: unknown }>>;
}

export type CustomApiResponse = Record<string, unknown>;
export type ExecuteCustomApi = (call: CustomApiCall) => Promise<CustomApiResponse>;

/** A custom API call that Dataverse rejected or that could not reach it. */
export class CustomApiError extends ConnectorError {
  constructor(apiName: string, message: string, options: { statusCode?: number; dataverseCode?: string } = {}) {
    super("CUSTOM_API_FAILED", message, {
      statusCode: options.statusCode,
      retryable: options.statusCode === 429 || (options.statusCode ?? 0) >= 500,
      raw: { apiName, dataverseCode: options.dataverseCode },
    });
  }
}

export const WEB_API_PATH = "/api/data/v9.2";

export const CONNECTOR_TARGET = (id: string): BoundTarget => ({
  logicalName: logicalNames.w365_providerconnection,
  entitySet: entitySets.w365_providerconnection,
  id: stripBraces(id),
});

export const PROVIDER_ACCOUNT_TARGET = (id: string): BoundTarget => ({
  logicalName: logicalNames.w365_provideraccount,
  entitySet: entitySets.w365_provideraccount,
  id: stripBraces(id),
});

export function stripBraces(id: string): string {
  return id.replace(/[{}]/g, "").toLowerCase();
}

/** The JSON body of a bound action: parameters with a value (Guid parameters are plain strings in the Web API). */
export function toActionBody(call: CustomApiCall): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, param] of Object.entries(call.parameters ?? {})) {
    if (param.value === undefined || param.value === null) continue;
    body[key] = param.type === "Guid" ? stripBraces(String(param.value)) : param.value;
  }
  return body;
}

export function customApiUrl(baseUrl: string, call: CustomApiCall): string {
  const root = baseUrl.replace(/\/$/, "");
  return `${root}/${call.target.entitySet}(${stripBraces(call.target.id)})/Microsoft.Dynamics.CRM.${call.name}`;
}

type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; credentials?: "same-origin" },
) => Promise<{
  ok: boolean;
  status: number;
  text(): Promise<string>;
}>;

/** Executor over fetch to `<baseUrl>/<set>(<id>)/Microsoft.Dynamics.CRM.<name>` (same origin: cookies or proxy auth). */
export function createFetchCustomApiExecutor(fetchImpl: FetchLike, baseUrl: string = WEB_API_PATH): ExecuteCustomApi {
  return async (call) => {
    let response: Awaited<ReturnType<FetchLike>>;
    try {
      response = await fetchImpl(customApiUrl(baseUrl, call), {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json; charset=utf-8",
          "OData-MaxVersion": "4.0",
          "OData-Version": "4.0",
        },
        body: JSON.stringify(toActionBody(call)),
      });
    } catch (error) {
      throw new CustomApiError(call.name, `${call.name} could not reach Dataverse: ${(error as Error)?.message ?? String(error)}`);
    }
    const text = await response.text();
    if (!response.ok) throw fromDataverseErrorBody(call.name, response.status, text);
    return parseJsonObject(text);
  };
}

/** Minimal shape of Xrm.WebApi.online.execute that we rely on (keeps tests free of the whole Xrm typing). */
export interface XrmOnlineExecute {
  execute(request: unknown): Promise<{ ok: boolean; status: number; json?: () => Promise<unknown>; text?: () => Promise<string> }>;
}

const EDM_TYPES: Readonly<Record<CustomApiParameterType, { typeName: string; structuralProperty: number }>> = {
  Boolean: { typeName: "Edm.Boolean", structuralProperty: 1 },
  String: { typeName: "Edm.String", structuralProperty: 1 },
  Guid: { typeName: "Edm.Guid", structuralProperty: 1 },
};

/**
 * The request object Xrm.WebApi.online.execute expects for a bound custom API: the parameters as own properties,
 * the target as `entity`, and getMetadata() describing them (operationType 0 = action).
 */
export function toXrmExecuteRequest(call: CustomApiCall): Record<string, unknown> {
  const parameterTypes: Record<string, unknown> = {
    entity: { typeName: `mscrm.${call.target.logicalName}`, structuralProperty: 5 },
  };
  const request: Record<string, unknown> = {
    entity: { entityType: call.target.logicalName, id: stripBraces(call.target.id) },
  };
  for (const [key, param] of Object.entries(call.parameters ?? {})) {
    if (param.value === undefined || param.value === null) continue;
    parameterTypes[key] = EDM_TYPES[param.type];
    request[key] = param.type === "Guid" ? stripBraces(String(param.value)) : param.value;
  }
  request.getMetadata = () => ({
    boundParameter: "entity",
    parameterTypes,
    operationType: 0,
    operationName: call.name,
  });
  return request;
}

export function createXrmCustomApiExecutor(online: XrmOnlineExecute): ExecuteCustomApi {
  return async (call) => {
    let response: Awaited<ReturnType<XrmOnlineExecute["execute"]>>;
    try {
      response = await online.execute(toXrmExecuteRequest(call));
    } catch (error) {
      // Xrm rejects with { message, errorCode } objects rather than Error instances.
      const detail = error as { message?: string; errorCode?: number; status?: number };
      throw new CustomApiError(call.name, detail?.message ?? `${call.name} failed.`, {
        statusCode: detail?.status,
        dataverseCode: detail?.errorCode !== undefined ? String(detail.errorCode) : undefined,
      });
    }
    if (!response.ok) {
      const text = response.text ? await response.text() : "";
      throw fromDataverseErrorBody(call.name, response.status, text);
    }
    if (response.status === 204) return {};
    if (response.json) {
      const body = await response.json().catch(() => ({}));
      return body && typeof body === "object" ? (body as CustomApiResponse) : {};
    }
    return response.text ? parseJsonObject(await response.text()) : {};
  };
}

/** Picks Xrm.WebApi.online.execute when the host provides it, otherwise same-origin fetch. */
export function resolveCustomApiExecutor(host: { Xrm?: unknown; fetch?: unknown; parent?: unknown } | undefined): ExecuteCustomApi {
  const online = findXrm(host)?.WebApi?.online;
  if (online && typeof online.execute === "function") return createXrmCustomApiExecutor(online);
  const fetchImpl = (host?.fetch ?? globalThis.fetch) as FetchLike | undefined;
  if (!fetchImpl) {
    // Fail on use, not on construction: a control must still render (and show the error) without fetch.
    return async (call) => {
      throw new CustomApiError(call.name, "Neither Xrm.WebApi nor fetch is available to call Dataverse.");
    };
  }
  return createFetchCustomApiExecutor(fetchImpl.bind(host ?? globalThis) as FetchLike);
}

interface XrmLike {
  WebApi?: { online?: XrmOnlineExecute };
}

/** window.Xrm, or parent.Xrm for an HTML web resource hosted in a frame (same origin); never throws cross-origin. */
export function findXrm(host: { Xrm?: unknown; parent?: unknown } | undefined): XrmLike | undefined {
  if (!host) return undefined;
  if (host.Xrm) return host.Xrm as XrmLike;
  try {
    const parent = host.parent as { Xrm?: unknown } | undefined;
    if (parent && parent !== host && parent.Xrm) return parent.Xrm as XrmLike;
  } catch {
    // cross-origin parent: no Xrm from there
  }
  return undefined;
}

function parseJsonObject(text: string): CustomApiResponse {
  if (!text.trim()) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === "object" ? (parsed as CustomApiResponse) : {};
  } catch {
    return {};
  }
}

/** Dataverse error JSON is `{"error":{"code":"0x...","message":"..."}}`; fall back to the HTTP status. */
export function fromDataverseErrorBody(apiName: string, status: number, text: string): CustomApiError {
  let message = "";
  let code: string | undefined;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string; code?: string } };
    message = parsed.error?.message ?? "";
    code = parsed.error?.code;
  } catch {
    message = "";
  }
  return new CustomApiError(apiName, message || `${apiName} failed with HTTP ${status}.`, { statusCode: status, dataverseCode: code });
}

/** A v4 GUID for RequestId, from crypto.randomUUID where the browser has it. */
export function newRequestId(random: () => number = Math.random): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, (ch) => {
    const r = Math.floor(random() * 16);
    return (ch === "x" ? r : (r & 0x3) | 0x8).toString(16);
  });
}
