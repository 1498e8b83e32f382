// The mapping page's data layer without a browser: reading every page, sorting, strong suggestions at the engine's
// bar, the engine's likely duplicates read back from a refused create, and bulk runs that stop between rows. The page
// itself (React + Fluent) runs in Chromium in test/browser/mapping-page.test.ts.
import { MappingData } from "../../../pcf-controls/StreamOneConnector/services/mappingService";
import { createLocalizer } from "../../../pcf-controls/StreamOneConnector/services/strings";
import { customApiNames } from "../../../src/schema";
import { likelyDuplicatesMessage } from "../../../src/sync/matching/duplicates";
import { AUTO_MAP_THRESHOLD } from "../../../src/sync/matching/thresholds";
import { CustomApiError } from "../../../ui-shared/customApi";
import {
  accountSearchFilter,
  bulkResultText,
  bulkSummary,
  type ProviderAccountView,
  runBulk,
  sortRows,
  STRONG_SUGGESTION_SCORE,
  strongSuggestions,
  toProviderAccountView,
} from "../../../ui-shared/mapping";
import { getString } from "../pcf/resx";
import { FakeCustomApis, FakeRecords, paramValues } from "../webresources/fakes";

/** The control's own texts (its resx), as the mapping view words bulk runs. */
const t = createLocalizer(getString);

const CONN = "11111111-1111-4111-8111-111111111111";
const A1 = "aaaaaaaa-0000-4000-8000-000000000001";

function view(id: string, name: string, extra: Partial<ProviderAccountView> = {}): ProviderAccountView {
  return {
    id,
    name,
    customerId: id,
    contactName: "",
    contactEmail: "",
    domain: "",
    tenantId: "",
    status: "unmapped",
    reason: "",
    ...extra,
  };
}

describe("mapping model", () => {
  it("bulk-accepts at the engine's auto-map score by default", () => {
    expect(STRONG_SUGGESTION_SCORE).toBe(AUTO_MAP_THRESHOLD);
    const rows = [
      view("1", "A", { status: "suggested", score: 0.95, suggestedAccountId: A1 }),
      view("2", "B", { status: "suggested", score: 0.85, suggestedAccountId: A1 }),
      view("3", "C", { status: "suggested", score: 0.99 }),
    ];
    expect(strongSuggestions(rows).map((r) => r.id)).toStrictEqual(["1"]);
    expect(strongSuggestions(rows, 0.8).map((r) => r.id)).toStrictEqual(["1", "2"]);
  });

  it("sorts by a column in either direction, rows without a value last, ties in their loaded order", () => {
    const rows = [
      view("1", "beta", { score: 0.7 }),
      view("2", "Alpha"),
      view("3", "alpha 2", { score: 0.9, status: "mapped", accountName: "Zed" }),
      view("4", "Gamma", { score: 0.7, status: "suggested", suggestedAccountName: "Ack" }),
    ];
    expect(sortRows(rows, "name", "ascending").map((r) => r.id)).toStrictEqual(["2", "3", "1", "4"]);
    expect(sortRows(rows, "score", "descending").map((r) => r.id)).toStrictEqual(["3", "1", "4", "2"]);
    expect(sortRows(rows, "score", "ascending").map((r) => r.id)).toStrictEqual(["1", "4", "3", "2"]);
    expect(sortRows(rows, "account", "ascending").map((r) => r.id)).toStrictEqual(["4", "3", "1", "2"]);
    expect(sortRows(rows, "status", "ascending").map((r) => r.id)).toStrictEqual(["4", "1", "2", "3"]);
  });

  it("URL-encodes account searches and adds the domain when the query looks like one", () => {
    expect(accountSearchFilter("contoso.com")).toBe("contains(name,'contoso.com') or w365_primarydomain eq 'contoso.com'");
    expect(accountSearchFilter("O'Neil & Co")).toBe("contains(name,'O''Neil & Co')");
  });

  it("reads every page through nextLink, passing the link's query back unchanged", async () => {
    const records = new FakeRecords();
    records.tables.w365_provideraccount = Array.from({ length: 10 }, (_, i) => ({
      w365_provideraccountid: `p${i}`,
      w365_name: `Customer ${i}`,
      w365_mappingstatus: 365000000,
      _w365_connection_value: CONN,
    }));
    const seen: number[] = [];
    const data = new MappingData(records, new FakeCustomApis().execute, 4, (n) => seen.push(n));
    expect(await data.listProviderAccounts(CONN)).toHaveLength(10);
    expect(seen).toStrictEqual([4, 8, 10]);
    const reads = records.calls.filter((c) => c.entity === "w365_provideraccount");
    expect(new URLSearchParams(reads[1]!.options!.replace(/^\?/, "")).get("$skiptoken")).toBe("4");
  });
});

describe("MappingData.apply", () => {
  function world() {
    const records = new FakeRecords();
    records.tables.w365_provideraccount = [
      { w365_provideraccountid: "p1", w365_name: "Dare (US); Ltd: West", w365_mappingstatus: 365000000, _w365_connection_value: CONN },
    ];
    records.tables.account = [{ accountid: A1, name: "Dare Ltd" }];
    const apis = new FakeCustomApis();
    const data = new MappingData(records, apis.execute, 5000, undefined, async () => undefined, 2);
    return { records, apis, data, row: toProviderAccountView(records.tables.w365_provideraccount[0]!) };
  }

  it("a refused create comes back as the engine's likely duplicates, with scores, reasons and ids", async () => {
    const { apis, data, row } = world();
    const candidates = [{ accountId: A1, accountName: "Dare (US), Ltd", score: 0.87, reasons: ["name similar (0.93)", "country matches"] }];
    apis.handlers[customApiNames.w365_MapProviderAccount] = () => {
      throw new CustomApiError(customApiNames.w365_MapProviderAccount, likelyDuplicatesMessage(row.name, candidates), { statusCode: 400 });
    };
    await expect(data.apply(row, "create")).resolves.toStrictEqual({ kind: "duplicates", duplicates: candidates });
    expect(paramValues(apis.calls[0])).toStrictEqual({ Action: "create", CreateNew: true });
  });

  it("Create anyway sends Force=true and reads the row back mapped", async () => {
    const { apis, data, row, records } = world();
    apis.handlers[customApiNames.w365_MapProviderAccount] = () => {
      Object.assign(records.tables.w365_provideraccount![0]!, { w365_mappingstatus: 365000002, _w365_account_value: A1 });
      return {};
    };
    const result = await data.apply(row, "create", { force: true });
    expect(paramValues(apis.calls[0])).toStrictEqual({ Action: "create", CreateNew: true, Force: true });
    expect(result.kind).toBe("done");
    expect(result.kind !== "duplicates" && result.row.accountName).toBe("Dare Ltd");
  });

  it("any other failure of a create is thrown, not taken for duplicates", async () => {
    const { apis, data, row } = world();
    apis.handlers[customApiNames.w365_MapProviderAccount] = () => {
      throw new CustomApiError(customApiNames.w365_MapProviderAccount, "Provider account p1 was not found.", { statusCode: 404 });
    };
    await expect(data.apply(row, "create")).rejects.toThrow("was not found");
  });
});

describe("runBulk", () => {
  const rows = ["a", "b", "c", "d"].map((id) => view(id, id.toUpperCase()));

  it("runs one row at a time, counting done and failed, and keeps each row's result", async () => {
    const results: string[] = [];
    const final = await runBulk(
      rows,
      async (row) => {
        if (row.id === "b") throw new Error("HTTP 500");
        return { kind: "done", row: { ...row, status: "ignored" } };
      },
      (result, p) => results.push(`${result.id}:${result.outcome}:${p.done}/${p.failed}`),
      () => false,
    );
    expect(results).toStrictEqual(["a:done:1/0", "b:failed:1/1", "c:done:2/1", "d:done:3/1"]);
    expect(bulkSummary("ignore", final, t)).toBe("Finished: 3 of 4 ignored, 1 failed.");
  });

  it("a stop lets the row in flight finish and starts no other", async () => {
    let stop = false;
    const started: string[] = [];
    const final = await runBulk(
      rows,
      async (row) => {
        started.push(row.id);
        if (row.id === "b") stop = true; // pressed while b's call is in flight
        return { kind: "done", row: { ...row, status: "mapped", accountName: "X" } };
      },
      () => undefined,
      () => stop,
    );
    expect(started).toStrictEqual(["a", "b"]);
    expect(final).toMatchObject({ total: 4, done: 2, failed: 0, notStarted: 2, cancelled: true, finished: true });
    expect(bulkSummary("map", final, t)).toBe("Stopped: 2 of 4 mapped, 0 failed; 2 not started.");
  });

  it("a create refused for likely duplicates counts as failed and names them", async () => {
    const results: string[] = [];
    await runBulk(
      rows.slice(0, 1),
      async () => ({ kind: "duplicates", duplicates: [{ accountId: A1, accountName: "Acme", score: 0.85, reasons: ["name matches"] }] }),
      (r) => results.push(bulkResultText("create", r, t)),
      () => false,
    );
    expect(results).toStrictEqual(["Not created: likely duplicates Acme (85%)"]);
  });

  it("words each row's result from the control's texts", async () => {
    const results: string[] = [];
    await runBulk(
      rows.slice(0, 3),
      async (row) => {
        if (row.id === "a") return { kind: "done", row: { ...row, status: "mapped", accountName: "Acme" } };
        if (row.id === "b") return { kind: "pending", row };
        throw new Error("HTTP 500");
      },
      (r) => results.push(bulkResultText("map", r, t)),
      () => false,
    );
    expect(results).toStrictEqual(["Mapped to Acme", "Sent; not applied yet. Refresh in a moment.", "HTTP 500"]);
    expect(bulkResultText("ignore", { id: "a", outcome: "done" }, t)).toBe("Ignored");
    expect(bulkResultText("create", { id: "a", outcome: "done" }, t)).toBe("Mapped to the account");
    expect(bulkSummary("create", { total: 5, done: 1, failed: 1, notStarted: 3, cancelled: false, finished: false }, t)).toBe(
      "1 of 5 created, 1 failed…",
    );
  });
});
