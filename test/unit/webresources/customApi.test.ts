import {
  CONNECTOR_TARGET,
  createFetchCustomApiExecutor,
  createXrmCustomApiExecutor,
  CustomApiError,
  newRequestId,
  resolveCustomApiExecutor,
  toXrmExecuteRequest,
} from "../../../ui-shared/customApi";

const call = {
  name: "w365_SyncProviderAccounts",
  target: CONNECTOR_TARGET("{AAAAAAAA-0000-4000-8000-000000000001}"),
  parameters: { RequestId: { type: "String" as const, value: "req-1" }, DryRun: { type: "Boolean" as const, value: undefined } },
};

describe("createFetchCustomApiExecutor", () => {
  it("posts the bound action with only the parameters that have values", async () => {
    const requests: { url: string; init: { method: string; body: string; headers: Record<string, string> } }[] = [];
    const execute = createFetchCustomApiExecutor(async (url, init) => {
      requests.push({ url, init });
      return { ok: true, status: 204, text: async () => "" };
    }, "/api/data/v9.2/");
    await expect(execute(call)).resolves.toStrictEqual({});
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).toBe(
      "/api/data/v9.2/w365_providerconnections(aaaaaaaa-0000-4000-8000-000000000001)/Microsoft.Dynamics.CRM.w365_SyncProviderAccounts",
    );
    expect(requests[0]?.init.method).toBe("POST");
    expect(JSON.parse(requests[0]!.init.body)).toStrictEqual({ RequestId: "req-1" });
    expect(requests[0]?.init.headers["OData-Version"]).toBe("4.0");
  });

  it("turns a Dataverse error body into a CustomApiError with its message and status", async () => {
    const execute = createFetchCustomApiExecutor(async () => ({
      ok: false,
      status: 400,
      text: async () => JSON.stringify({ error: { code: "0x80040265", message: "The connector is not verified." } }),
    }));
    const error = await execute(call).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CustomApiError);
    expect(error).toMatchObject({
      code: "CUSTOM_API_FAILED",
      statusCode: 400,
      message: "The connector is not verified.",
      retryable: false,
    });
  });

  it("reports a network failure as a CustomApiError", async () => {
    const execute = createFetchCustomApiExecutor(async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(execute(call)).rejects.toThrow("w365_SyncProviderAccounts could not reach Dataverse: Failed to fetch");
  });
});

describe("createXrmCustomApiExecutor", () => {
  it("builds the request Xrm.WebApi.online.execute expects, with metadata for the bound entity", async () => {
    const seen: unknown[] = [];
    const execute = createXrmCustomApiExecutor({
      execute: async (request) => {
        seen.push(request);
        return { ok: true, status: 200, json: async () => ({ Status: "ok" }) };
      },
    });
    await expect(execute(call)).resolves.toStrictEqual({ Status: "ok" });
    const request = seen[0] as { getMetadata: () => unknown; entity: unknown; RequestId: string };
    expect(request.entity).toStrictEqual({ entityType: "w365_providerconnection", id: "aaaaaaaa-0000-4000-8000-000000000001" });
    expect(request.RequestId).toBe("req-1");
    expect(request.getMetadata()).toStrictEqual({
      boundParameter: "entity",
      operationType: 0,
      operationName: "w365_SyncProviderAccounts",
      parameterTypes: {
        entity: { typeName: "mscrm.w365_providerconnection", structuralProperty: 5 },
        RequestId: { typeName: "Edm.String", structuralProperty: 1 },
      },
    });
  });

  it("maps an Xrm rejection to CustomApiError", async () => {
    const execute = createXrmCustomApiExecutor({
      execute: async () => Promise.reject({ message: "Access denied", errorCode: -2147220960 }),
    });
    await expect(execute(call)).rejects.toMatchObject({ code: "CUSTOM_API_FAILED", message: "Access denied" });
  });

  it("sends Guid parameters without braces", () => {
    const request = toXrmExecuteRequest({
      name: "w365_SyncSubscriptions",
      target: CONNECTOR_TARGET("c1"),
      parameters: { ProviderAccountId: { type: "Guid", value: "{ABC}" } },
    });
    expect(request.ProviderAccountId).toBe("abc");
  });
});

describe("resolveCustomApiExecutor", () => {
  it("prefers parent.Xrm's execute and falls back to fetch", async () => {
    const viaXrm = jest.fn(async () => ({ ok: true, status: 204 }));
    await resolveCustomApiExecutor({ parent: { Xrm: { WebApi: { online: { execute: viaXrm } } } } })(call);
    expect(viaXrm).toHaveBeenCalledTimes(1);
    const viaFetch = jest.fn(async () => ({ ok: true, status: 204, text: async () => "" }));
    await resolveCustomApiExecutor({ fetch: viaFetch })(call);
    expect(viaFetch).toHaveBeenCalledTimes(1);
  });
});

describe("newRequestId", () => {
  it("produces distinct v4 GUIDs", () => {
    const a = newRequestId();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newRequestId()).not.toBe(a);
  });
});
