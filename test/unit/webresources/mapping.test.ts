/** @jest-environment jsdom */
import { connectionIdFromLocation, MappingPage } from "../../../webresources/mapping";
import { coreName, duplicateFilter, filterRows, strongSuggestions, toProviderAccountView } from "../../../webresources/mappingModel";
import { FakeCustomApis, FakeRecords, paramValues } from "./fakes";

const CONN = "11111111-1111-4111-8111-111111111111";

function seed(records: FakeRecords): void {
  records.tables.w365_provideraccount = [
    {
      w365_provideraccountid: "p1",
      w365_name: "Contoso Ltd",
      w365_ioncustomerid: "301",
      w365_mappingstatus: 365000000,
      w365_domain: "contoso.com",
      _w365_connection_value: CONN,
    },
    {
      w365_provideraccountid: "p2",
      w365_name: "Fabrikam Inc",
      w365_ioncustomerid: "302",
      w365_mappingstatus: 365000001,
      w365_matchscore: 0.95,
      w365_matchreason: "tenant id",
      _w365_suggestedaccount_value: "a2",
      _w365_connection_value: CONN,
    },
    {
      w365_provideraccountid: "p3",
      w365_name: "Northwind",
      w365_ioncustomerid: "303",
      w365_mappingstatus: 365000001,
      w365_matchscore: 0.6,
      _w365_suggestedaccount_value: "a3",
      _w365_connection_value: CONN,
    },
    {
      w365_provideraccountid: "p4",
      w365_name: "Tailspin",
      w365_ioncustomerid: "304",
      w365_mappingstatus: 365000002,
      _w365_account_value: "a4",
      _w365_connection_value: CONN,
    },
  ];
  records.tables.account = [
    { accountid: "a1", name: "Contoso" },
    { accountid: "a2", name: "Fabrikam" },
    { accountid: "a3", name: "Northwind Traders" },
    { accountid: "a4", name: "Tailspin Toys" },
  ];
}

/** Plays the mapping handler: applies the action to the row, as the functions app does through the webhook. */
function mappingHandler(records: FakeRecords) {
  return (call: { target: { id: string } } & Parameters<typeof paramValues>[0]) => {
    const row = records.rows("w365_provideraccount").find((r) => r.w365_provideraccountid === call!.target.id)!;
    const p = paramValues(call);
    if (p.Action === "map") Object.assign(row, { w365_mappingstatus: 365000002, _w365_account_value: p.AccountId });
    if (p.Action === "create") {
      records.rows("account").push({ accountid: "new1", name: row.w365_name });
      Object.assign(row, { w365_mappingstatus: 365000002, _w365_account_value: "new1" });
    }
    if (p.Action === "ignore") Object.assign(row, { w365_mappingstatus: 365000003 });
    if (p.Action === "unmap") Object.assign(row, { w365_mappingstatus: 365000000, _w365_account_value: null });
    return {};
  };
}

async function startPage() {
  const records = new FakeRecords();
  seed(records);
  const apis = new FakeCustomApis();
  apis.handlers.w365_MapProviderAccount = mappingHandler(records) as never;
  document.body.innerHTML = '<main id="root"></main>';
  const root = document.getElementById("root")!;
  const page = new MappingPage({
    records,
    execute: apis.execute,
    root,
    connectionId: CONN,
    sleep: async () => undefined,
    settleTimeoutMs: 2000,
  });
  await page.start();
  return { records, apis, root, page };
}

const rowEl = (root: HTMLElement, id: string) => root.querySelector<HTMLElement>(`tr[data-id="${id}"]`);
const button = (root: HTMLElement, label: string) => {
  const found = [...root.querySelectorAll<HTMLButtonElement>("button")].find(
    (b) => b.getAttribute("aria-label") === label || b.textContent === label,
  );
  if (!found) throw new Error(`no button ${label}`);
  return found;
};
const flush = () => new Promise((r) => setTimeout(r, 0));

describe("mapping model", () => {
  it("reads rows, filters by status and search, and picks strong suggestions", () => {
    const records = new FakeRecords();
    seed(records);
    const rows = records.rows("w365_provideraccount").map(toProviderAccountView);
    expect(filterRows(rows, "suggested").map((r) => r.id)).toStrictEqual(["p2", "p3"]);
    expect(filterRows(rows, "all", "contoso.com").map((r) => r.id)).toStrictEqual(["p1"]);
    expect(strongSuggestions(rows).map((r) => r.id)).toStrictEqual(["p2"]);
  });

  it("builds a duplicate search from the distinctive name, domain and tenant", () => {
    expect(coreName("Contoso Ltd.")).toBe("Contoso");
    expect(coreName("O'Brien & Sons, Inc")).toBe("O'Brien & Sons");
    expect(coreName("Acme Holdings Ltd")).toBe("Acme");
    expect(coreName("Dare, Stoltenberg & Aufderhar Co.")).toBe("Dare, Stoltenberg & Aufderhar");
    expect(coreName("Inc")).toBe("Inc");
    const view = toProviderAccountView({ w365_name: "O'Brien Ltd", w365_domain: "OBrien.com", w365_tenantid: "T-1" });
    expect(duplicateFilter(view)).toBe(
      "contains(name,'O''Brien') or w365_primarydomain eq 'obrien.com' or w365_microsofttenantid eq 't-1'",
    );
  });

  it("takes the connector id from openWebResource's data parameter", () => {
    expect(connectionIdFromLocation(`?data=%7B${CONN.toUpperCase()}%7D`)).toBe(CONN);
    expect(connectionIdFromLocation("?data=nonsense")).toBeUndefined();
  });
});

describe("MappingPage", () => {
  it("lists the connector's customers with suggestion, score and reason, starting on Unmapped", async () => {
    const { root, records } = await startPage();
    expect(records.calls.find((c) => c.entity === "w365_provideraccount")?.options).toContain(`_w365_connection_value eq ${CONN}`);
    expect(root.querySelector('[aria-pressed="true"]')?.textContent).toBe("Unmapped (1)");
    button(root, "Suggested (2)").click();
    const fabrikam = rowEl(root, "p2")!;
    expect(fabrikam.textContent).toContain("Fabrikam");
    expect(fabrikam.textContent).toContain("95%");
    expect(fabrikam.textContent).toContain("tenant id");
  });

  it("Accept maps to the suggested account through w365_MapProviderAccount", async () => {
    const { root, apis } = await startPage();
    button(root, "Suggested (2)").click();
    await button(root, "Accept suggestion Fabrikam for Fabrikam Inc").click();
    await flush();
    await flush();
    expect(paramValues(apis.calls[0])).toStrictEqual({ Action: "map", AccountId: "a2" });
    expect(apis.calls[0]?.target).toStrictEqual({ logicalName: "w365_provideraccount", entitySet: "w365_provideraccounts", id: "p2" });
    await new Promise((r) => setTimeout(r, 10));
    expect(root.querySelector("#w365-status")?.textContent).toBe("Fabrikam Inc is mapped to Fabrikam.");
  });

  it("Map… searches accounts and maps the chosen one", async () => {
    const { root, apis } = await startPage();
    button(root, "Map Contoso Ltd to an account").click();
    const input = root.querySelector<HTMLInputElement>("#w365-account-search")!;
    expect(document.activeElement).toBe(input);
    input.value = "contoso";
    input.dispatchEvent(new Event("input"));
    await flush();
    button(root, "Map to Contoso").click();
    await new Promise((r) => setTimeout(r, 10));
    expect(paramValues(apis.calls[0])).toStrictEqual({ Action: "map", AccountId: "a1" });
    expect(root.querySelector("#w365-dialog")).toBeNull();
  });

  it("Create new account shows likely duplicates first and creates only after confirm", async () => {
    const { root, apis, records } = await startPage();
    await button(root, "Create new account for Contoso Ltd").click();
    await flush();
    const dialog = root.querySelector<HTMLElement>("#w365-dialog")!;
    expect(dialog.textContent).toContain("Possible duplicates of Contoso Ltd");
    expect(dialog.textContent).toContain("Contoso");
    expect(apis.calls).toHaveLength(0);
    button(root, "Create anyway").click();
    await new Promise((r) => setTimeout(r, 10));
    expect(paramValues(apis.calls[0])).toStrictEqual({ Action: "create", CreateNew: true });
    expect(records.rows("account").some((a) => a.name === "Contoso Ltd")).toBe(true);
  });

  it("Create new account with no likely duplicates still asks once before creating", async () => {
    const { root, apis, records } = await startPage();
    records.tables.account = [];
    await button(root, "Create new account for Contoso Ltd").click();
    await flush();
    const dialog = root.querySelector<HTMLElement>("#w365-dialog")!;
    expect(dialog.querySelector("h2")?.textContent).toBe("Create a new account for Contoso Ltd?");
    expect(apis.calls).toHaveLength(0);
    button(root, "Cancel").click();
    expect(root.querySelector("#w365-dialog")).toBeNull();
    expect(apis.calls).toHaveLength(0);
    await button(root, "Create new account for Contoso Ltd").click();
    await flush();
    button(root, "Create account").click();
    await new Promise((r) => setTimeout(r, 10));
    expect(paramValues(apis.calls[0])).toStrictEqual({ Action: "create", CreateNew: true });
  });

  it("Accept strong suggestions maps only those at or above the chosen score (80% by default) after a confirm", async () => {
    const { root, apis } = await startPage();
    button(root, "Accept strong suggestions (1)").click();
    expect(root.querySelector("#w365-dialog")?.textContent).toContain("Fabrikam Inc → Fabrikam (95%)");
    button(root, "Accept all").click();
    await new Promise((r) => setTimeout(r, 20));
    expect(apis.calls.map((c) => paramValues(c))).toStrictEqual([{ Action: "map", AccountId: "a2" }]);
    expect(root.querySelector("#w365-status")?.textContent).toBe("1 of 1 suggestion(s) accepted.");
  });

  it("Ignore and Unmap send their actions; a failure is shown in the alert region", async () => {
    const { root, apis } = await startPage();
    await button(root, "Ignore Contoso Ltd").click();
    await new Promise((r) => setTimeout(r, 10));
    button(root, "Mapped (1)").click();
    apis.handlers.w365_MapProviderAccount = () => {
      throw new Error("Not allowed");
    };
    await button(root, "Unmap Tailspin").click();
    await new Promise((r) => setTimeout(r, 10));
    expect(paramValues(apis.calls[0])).toStrictEqual({ Action: "ignore" });
    expect(paramValues(apis.calls[1])).toStrictEqual({ Action: "unmap" });
    expect(root.querySelector("#w365-error")?.textContent).toBe("Tailspin: Not allowed");
  });
});

describe("MappingPage with many customers", () => {
  async function startBig(count: number) {
    const records = new FakeRecords();
    records.tables.w365_providerconnection = [{ w365_providerconnectionid: CONN, w365_name: "Big Reseller" }];
    records.tables.w365_provideraccount = Array.from({ length: count }, (_, i) => ({
      w365_provideraccountid: `p${i + 1}`,
      w365_name: `Customer ${String(i + 1).padStart(3, "0")}`,
      w365_ioncustomerid: String(500 + i),
      w365_mappingstatus: 365000000,
      _w365_connection_value: CONN,
    }));
    document.body.innerHTML = '<main id="root"></main>';
    const root = document.getElementById("root")!;
    const page = new MappingPage({
      records,
      execute: new FakeCustomApis().execute,
      root,
      connectionId: CONN,
      fetchPageSize: 4,
      rowsPerPage: 3,
    });
    await page.start();
    return { records, root };
  }

  it("follows nextLink until every page is read, passing the link's query back unchanged", async () => {
    const { records, root } = await startBig(10);
    const reads = records.calls.filter((c) => c.entity === "w365_provideraccount");
    expect(reads).toHaveLength(3);
    const second = new URLSearchParams(reads[1]!.options!.replace(/^\?/, ""));
    expect(second.get("$skiptoken")).toBe("4");
    expect(second.get("$filter")).toBe(`_w365_connection_value eq ${CONN}`);
    expect(new URLSearchParams(reads[2]!.options!.replace(/^\?/, "")).get("$skiptoken")).toBe("8");
    expect(root.querySelector("#w365-connector")?.textContent).toBe("Connector: Big Reseller");
    expect(button(root, "Unmapped (10)").getAttribute("aria-pressed")).toBe("true");
    expect(root.querySelector("#w365-status")?.textContent).toBe("10 customer(s) loaded.");
  });

  it("pages the table, keeps focus on the pager and resets to page 1 on a new filter", async () => {
    const { root } = await startBig(8);
    const range = () => root.querySelector("#w365-range")?.textContent;
    expect(range()).toBe("1–3 of 8 · page 1 of 3");
    expect(root.querySelectorAll("tbody tr")).toHaveLength(3);
    expect(button(root, "Previous").disabled).toBe(true);
    button(root, "Next").click();
    button(root, "Next").click();
    expect(range()).toBe("7–8 of 8 · page 3 of 3");
    expect(rowEl(root, "p8")).not.toBeNull();
    // Next is now disabled, so focus moved to Previous rather than to the page body.
    expect(document.activeElement?.textContent).toBe("Previous");
    const filter = button(root, "All (8)");
    filter.focus();
    filter.click();
    expect(range()).toBe("1–3 of 8 · page 1 of 3");
    expect(document.activeElement?.getAttribute("data-filter")).toBe("all");
  });

  it("says why the table is empty", async () => {
    const { root } = await startBig(2);
    const search = root.querySelector<HTMLInputElement>("#w365-search")!;
    search.value = "zzz";
    search.dispatchEvent(new Event("input"));
    expect(root.querySelector(".empty")?.textContent).toBe('No customers match "zzz".');
    search.value = "";
    search.dispatchEvent(new Event("input"));
    button(root, "Ignored (0)").click();
    expect(root.querySelector(".empty")?.textContent).toBe("No ignored customers.");
  });
});

describe("mapping dialogs and the keyboard", () => {
  it("keeps Tab inside an open dialog and Escape returns focus to the button that opened it", async () => {
    const { root } = await startPage();
    const opener = button(root, "Map Contoso Ltd to an account");
    opener.focus();
    opener.click();
    const dialog = root.querySelector<HTMLElement>("#w365-dialog")!;
    const input = root.querySelector<HTMLInputElement>("#w365-account-search")!;
    const cancel = button(root, "Cancel");
    cancel.focus();
    dialog.dispatchEvent(new KeyboardEvent("keydown", { key: "Tab", bubbles: true, cancelable: true }));
    expect(document.activeElement).toBe(input);
    dialog.dispatchEvent(new KeyboardEvent("keydown", { key: "Tab", shiftKey: true, bubbles: true, cancelable: true }));
    expect(document.activeElement).toBe(cancel);
    dialog.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(root.querySelector("#w365-dialog")).toBeNull();
    expect(document.activeElement).toBe(opener);
  });
});

describe("account searches with special characters", () => {
  it("URL-encodes the filter, so names with & # + ' find their duplicates instead of breaking the query", async () => {
    const { root, records } = await startPage();
    records.tables.w365_provideraccount!.push({
      w365_provideraccountid: "p9",
      w365_name: "Dare, Stoltenberg & Aufderhar Co.",
      w365_ioncustomerid: "309",
      w365_mappingstatus: 365000000,
      _w365_connection_value: CONN,
    });
    records.tables.account!.push({ accountid: "a9", name: "Dare, Stoltenberg & Aufderhar" });
    button(root, "Refresh").click();
    await flush();
    await flush();
    await button(root, "Create new account for Dare, Stoltenberg & Aufderhar Co.").click();
    await flush();
    const search = records.calls.filter((c) => c.entity === "account").pop()!;
    expect(search.options).toContain("%26");
    expect(root.querySelector("#w365-dialog h2")?.textContent).toBe("Possible duplicates of Dare, Stoltenberg & Aufderhar Co.");
    expect(button(root, "Map Dare, Stoltenberg & Aufderhar Co. to Dare, Stoltenberg & Aufderhar")).toBeTruthy();
  });
});
