import { classifyFailure } from "../../../ui-shared/failure";
import {
  activeRuns,
  hasRequestedChange,
  listProviderAccounts,
  listProviderSubscriptions,
  listRuns,
  parseRunReport,
  toProviderSubscriptionView,
  toRunHistoryEntry,
} from "../../../ui-shared/history";
import type { RecordsApi, Row } from "../../../ui-shared/records";

const CONNECTOR = "11111111-2222-4333-8444-555555555555";
const OTHER = "99999999-2222-4333-8444-555555555555";

/** Answers every query with the given rows and keeps the query strings the UI sent. */
function recordsAnswering(rows: Row[]): RecordsApi & { queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    retrieveMultipleRecords: async (entity, options) => {
      queries.push(`${entity}${options ?? ""}`);
      return { entities: rows };
    },
    retrieveRecord: async () => ({}),
    createRecord: async () => ({ id: "" }),
    updateRecord: async () => undefined,
  };
}

describe("run history", () => {
  it("lists a connector's runs newest first, with trigger, dry run and duration", async () => {
    const api = recordsAnswering([
      {
        w365_syncrunid: "r1",
        w365_kind: "accounts",
        w365_status: "succeeded",
        w365_trigger: "schedule",
        w365_dryrun: true,
        w365_durationms: 2500,
        w365_created: 3,
        w365_startedon: "2026-12-01T02:00:00Z",
      },
    ]);
    const [run] = await listRuns(api, CONNECTOR.toUpperCase());
    expect(api.queries[0]).toContain(`$filter=_w365_connection_value eq ${CONNECTOR}`);
    expect(api.queries[0]).toContain("$orderby=w365_startedon desc,versionnumber desc");
    expect(run).toMatchObject({
      id: "r1",
      kind: "accounts",
      status: "succeeded",
      trigger: "schedule",
      dryRun: true,
      durationMs: 2500,
      created: 3,
    });
  });

  it("refuses an id that is not a GUID instead of putting it into the query", async () => {
    const api = recordsAnswering([]);
    await expect(listRuns(api, "x' or 1 eq 1")).rejects.toThrow(/connector id must be a GUID/);
    expect(api.queries).toHaveLength(0);
  });

  it("takes the duration from start and finish when the run has none recorded", () => {
    const run = toRunHistoryEntry({
      w365_startedon: "2026-12-01T02:00:00Z",
      w365_finishedon: "2026-12-01T02:01:30Z",
      w365_status: "failed",
    });
    expect(run.durationMs).toBe(90_000);
  });

  it("finds the newest live run per connector and leaves out runs nobody has touched for longer than the stale limit", async () => {
    const now = Date.parse("2026-12-06T10:00:00Z");
    const api = recordsAnswering([
      {
        w365_syncrunid: "new",
        _w365_connection_value: CONNECTOR,
        w365_status: "running",
        w365_kind: "subscriptions",
        modifiedon: "2026-12-06T09:59:00Z",
      },
      { w365_syncrunid: "older", _w365_connection_value: CONNECTOR, w365_status: "queued", modifiedon: "2026-12-06T09:58:00Z" },
      { w365_syncrunid: "dead", _w365_connection_value: OTHER, w365_status: "running", modifiedon: "2026-12-06T08:00:00Z" },
    ]);
    const live = await activeRuns(api, [CONNECTOR.toUpperCase(), OTHER], { now: () => now });
    expect([...live.keys()]).toStrictEqual([CONNECTOR]);
    expect(live.get(CONNECTOR)).toMatchObject({ id: "new", status: "running", kind: "subscriptions" });
    expect(api.queries[0]).toContain("w365_status eq 'running' or w365_status eq 'queued'");
  });

  it("reads a run's report into per-record outcomes with only the columns that changed", () => {
    const report = parseRunReport(
      JSON.stringify({
        version: 1,
        counts: { updated: 1, failed: 1, unchanged: 40 },
        entries: [
          {
            entity: "providersubscription",
            key: "s1",
            name: "Office",
            action: "updated",
            before: { w365_quantity: 5, w365_status: "active" },
            after: { w365_quantity: 7, w365_status: "active" },
          },
          {
            entity: "order",
            key: "o1",
            action: "order-failed",
            error: { code: "ION_VALIDATION", message: "Quantity above the seat limit" },
          },
        ],
        omittedEntries: 12,
        errors: ["one page was retried"],
      }),
    );
    expect(report.counts).toStrictEqual({ updated: 1, failed: 1, unchanged: 40 });
    expect(report.entries[0]!.changes).toStrictEqual([{ column: "w365_quantity", before: "5", after: "7" }]);
    expect(report.entries[1]).toMatchObject({ action: "order-failed", message: "Quantity above the seat limit", name: "" });
    expect(report.omittedEntries).toBe(12);
    expect(report.errors).toStrictEqual(["one page was retried"]);
  });

  it("says so when a report cannot be read, and shows nothing for an empty one", () => {
    expect(parseRunReport("{not json").errors).toStrictEqual(["The run's report could not be read."]);
    expect(parseRunReport(null)).toStrictEqual({ counts: {}, entries: [], omittedEntries: 0, errors: [] });
  });
});

describe("provider records", () => {
  it("filters accounts by mapping status and tells when there are more rows than one page", async () => {
    const rows = Array.from({ length: 4 }, (_, i) => ({
      w365_provideraccountid: `a${i}`,
      w365_name: `Customer ${i}`,
      w365_mappingstatus: 365000001,
    }));
    const api = recordsAnswering(rows);
    const page = await listProviderAccounts(api, CONNECTOR, "suggested", 3);
    expect(api.queries[0]).toContain("w365_mappingstatus eq 365000001");
    expect(api.queries[0]).toContain("$top=4");
    expect(page.items).toHaveLength(3);
    expect(page.more).toBe(true);
    expect(page.items[0]!.mappingStatus).toBe("suggested");
  });

  it("filters subscriptions by sync state or by a pending request", async () => {
    const api = recordsAnswering([]);
    await listProviderSubscriptions(api, CONNECTOR, "conflict");
    await listProviderSubscriptions(api, CONNECTOR, "requested");
    expect(api.queries[0]).toContain("w365_syncstate eq 365000003");
    expect(api.queries[1]).toContain("w365_requestedquantity ne null or w365_requestedstatus ne null or ");
    // The yes/no column always holds a value: a request is one that differs from the last synced value.
    expect(api.queries[1]).not.toContain("w365_requestedautorenew ne null");
    expect(api.queries[1]).toContain("(w365_requestedautorenew eq true and w365_lastsyncedautorenew eq false)");
  });

  it("reads a subscription's Ion values, the admin's request and its sync state", () => {
    const view = toProviderSubscriptionView({
      w365_providersubscriptionid: "s1",
      w365_quantity: 5,
      w365_requestedquantity: 7,
      w365_requestedstatus: null,
      w365_syncstate: 365000002,
      "_w365_provideraccount_value@OData.Community.Display.V1.FormattedValue": "Contoso",
    });
    expect(view).toMatchObject({
      quantity: 5,
      requestedQuantity: 7,
      requestedStatus: "",
      syncState: "sentToIon",
      providerAccountName: "Contoso",
    });
    expect(hasRequestedChange(view)).toBe(true);
    expect(hasRequestedChange(toProviderSubscriptionView({ w365_quantity: 5 }))).toBe(false);
  });

  it("reads an auto-renew request only when it differs from the last synced value (the yes/no column is never empty)", () => {
    // Every synced row carries requested = last synced auto-renew, as the engine writes it: no request.
    const synced = { w365_autorenew: true, w365_lastsyncedautorenew: true, w365_requestedautorenew: true };
    expect(hasRequestedChange(toProviderSubscriptionView(synced))).toBe(false);
    const asked = toProviderSubscriptionView({ ...synced, w365_requestedautorenew: false });
    expect(asked.requestedAutoRenew).toBe(false);
    expect(hasRequestedChange(asked)).toBe(true);
    // Never synced: compared with the current value.
    expect(hasRequestedChange(toProviderSubscriptionView({ w365_autorenew: false, w365_requestedautorenew: false }))).toBe(false);
    expect(hasRequestedChange(toProviderSubscriptionView({ w365_autorenew: false, w365_requestedautorenew: true }))).toBe(true);
  });
});

describe("classifyFailure", () => {
  it("reads a browser network failure as a network problem, with the technical text kept", () => {
    expect(classifyFailure(new TypeError("Failed to fetch"))).toMatchObject({ kind: "network", detail: "Failed to fetch" });
  });

  it("reads gateway errors and timeouts as network problems, 429 as busy, 401/403 as permission", () => {
    const withStatus = (status: number) => Object.assign(new Error("upstream said no"), { status });
    expect(classifyFailure(withStatus(502)).kind).toBe("network");
    expect(classifyFailure(withStatus(504)).kind).toBe("network");
    expect(classifyFailure(withStatus(429)).kind).toBe("busy");
    expect(classifyFailure(withStatus(403)).kind).toBe("permission");
    expect(classifyFailure(withStatus(403)).detail).toBe("HTTP 403 · upstream said no");
  });

  it("keeps the service's own message for anything else", () => {
    const failure = classifyFailure(
      Object.assign(new Error("A record with the same Account ID exists: StreamOne EU"), { status: 412, code: "0x80060892" }),
    );
    expect(failure).toMatchObject({ kind: "other", message: "A record with the same Account ID exists: StreamOne EU" });
    expect(failure.detail).toContain("HTTP 412");
  });
});
