import { type Api, startWithFixture } from "../../../support/dataverseFixture";

let api: Api;
let conn: string;
const ids: string[] = [];

beforeAll(async () => {
  api = await startWithFixture();
  const c = await api.call("POST", "w365_providerconnections", { body: { w365_name: "Query conn" } });
  conn = /\(([0-9a-f-]{36})\)$/.exec(c.headers.get("odata-entityid")!)![1]!;
  const names = [
    "Contoso Ltd",
    "contoso East",
    "Fabrikam",
    "O'Bryan & Co",
    "Northwind",
    "Tailspin",
    "Wide World",
    "Adventure Works",
    "Litware",
    "Proseware",
  ];
  for (const [i, name] of names.entries()) {
    const r = await api.call("POST", "w365_providersubscriptions", {
      body: {
        w365_name: name,
        w365_ionsubscriptionid: `S-${i}`,
        w365_quantity: i % 2 === 0 ? i : null,
        w365_autorenew: i % 3 === 0,
        w365_startdate: `2024-01-${String(i + 1).padStart(2, "0")}`,
        "w365_connection@odata.bind": `/w365_providerconnections(${conn})`,
      },
    });
    ids.push(/\(([0-9a-f-]{36})\)$/.exec(r.headers.get("odata-entityid")!)![1]!);
  }
});
afterAll(async () => {
  await api.emu.close();
});

const names = (r: { json: { value: { w365_name: string }[] } }) => r.json.value.map((v) => v.w365_name);

describe("Dataverse emulator: query options (reference 1.2)", () => {
  it("a list of eq terms on one column joined by or finds the same rows, case-insensitively, with quotes", async () => {
    const filter = encodeURIComponent(
      "w365_name eq 'contoso ltd' or w365_name eq 'FABRIKAM' or w365_name eq 'O''Bryan & Co' or w365_name eq 'nobody'",
    );
    const r = await api.call("GET", `w365_providersubscriptions?$select=w365_name&$filter=${filter}&$orderby=w365_name`);
    expect(r.status).toBe(200);
    expect(names(r)).toEqual(["Contoso Ltd", "Fabrikam", "O'Bryan & Co"]);
    // Terms on two columns, or another operator among them: evaluated term by term, as before.
    const mixed = encodeURIComponent(
      "w365_name eq 'Fabrikam' or w365_ionsubscriptionid eq 'S-0' or w365_name eq 'Litware' or w365_quantity gt 7",
    );
    const m = await api.call("GET", `w365_providersubscriptions?$select=w365_name&$filter=${mixed}&$orderby=w365_name`);
    expect(names(m)).toEqual(["Contoso Ltd", "Fabrikam", "Litware"]);
  });

  it("takes a URL of up to 32,768 characters (a long $filter) and refuses a longer one with 414 and an HTML page, as a tenant does", async () => {
    const terms = (n: number) =>
      Array.from({ length: n }, (_, i) => `w365_ionsubscriptionid eq 'S-${i}${i < 10 ? "" : "-padded"}'`).join(" or ");
    // About 24,000 characters: past Node's default 16 KB header limit, within Dataverse's 32 KB.
    const long = await api.call("GET", `w365_providersubscriptions?$select=w365_name&$filter=${encodeURIComponent(terms(400))}`);
    expect(long.status).toBe(200);
    expect(long.json.value).toHaveLength(10);
    const tooLong = await api.call(
      "GET",
      `w365_providersubscriptions?$select=w365_name&$filter=${encodeURIComponent(terms(480)) + "%20".repeat(4000)}`,
    );
    expect(tooLong.status).toBe(414);
    // Not an OData error: the HTML page of the server in front of the Web API (sandbox/dataverse/index.ts).
    expect(tooLong.headers.get("content-type")).toMatch(/^text\/html/);
    expect(tooLong.json).toBeUndefined();
    expect(tooLong.text).toContain("HTTP Error 414. The request URL is too long.");
    // At the limit exactly (the request target, as the server reads it: path and query).
    const head = "w365_providersubscriptions?$select=w365_name&$filter=w365_name%20eq%20%27";
    const ofLength = (chars: number) => `${head}${"x".repeat(chars - "/api/data/v9.2/".length - head.length - 3)}%27`;
    const atLimit = await api.call("GET", ofLength(32_768));
    expect(atLimit.status).toBe(200);
    expect(atLimit.json.value).toStrictEqual([]);
    expect((await api.call("GET", ofLength(32_769))).status).toBe(414);
  });

  it("1.2: $filter with eq/ne/gt/le and/or/not and parentheses", async () => {
    const r = await api.call(
      "GET",
      "w365_providersubscriptions?$select=w365_name&$filter=(w365_quantity ge 4 and w365_quantity le 8) or w365_name eq 'Fabrikam'&$orderby=w365_name",
    );
    expect(r.status).toBe(200);
    expect(names(r)).toEqual(["Fabrikam", "Litware", "Northwind", "Wide World"]);
    const not = await api.call(
      "GET",
      "w365_providersubscriptions?$select=w365_name&$filter=not (w365_autorenew eq true) and w365_quantity ne null&$orderby=w365_quantity desc",
    );
    expect(names(not)).toEqual(["Litware", "Northwind", "Fabrikam"]);
  });

  it("1.2: contains/startswith/endswith are case-insensitive; quoted literals escape ''", async () => {
    expect(
      names(await api.call("GET", "w365_providersubscriptions?$select=w365_name&$filter=contains(w365_name,'CONTOSO')&$orderby=w365_name")),
    ).toEqual(["contoso East", "Contoso Ltd"]);
    expect(names(await api.call("GET", "w365_providersubscriptions?$select=w365_name&$filter=startswith(w365_name,'o''bryan')"))).toEqual([
      "O'Bryan & Co",
    ]);
    expect(
      names(await api.call("GET", `w365_providersubscriptions?$select=w365_name&$filter=endswith(w365_name,'WARE')&$orderby=w365_name`)),
    ).toEqual(["Litware", "Proseware"]);
  });

  it("1.2: eq null, booleans, dates, GUIDs and _x_value lookups", async () => {
    expect((await api.call("GET", "w365_providersubscriptions?$filter=w365_quantity eq null")).json.value).toHaveLength(5);
    expect((await api.call("GET", "w365_providersubscriptions?$filter=w365_autorenew eq true")).json.value).toHaveLength(4);
    expect((await api.call("GET", "w365_providersubscriptions?$filter=w365_startdate ge 2024-01-09")).json.value).toHaveLength(2);
    expect((await api.call("GET", `w365_providersubscriptions?$filter=_w365_connection_value eq ${conn}`)).json.value).toHaveLength(10);
    expect(
      (await api.call("GET", `w365_providersubscriptions?$filter=w365_providersubscriptionid eq ${ids[3]}&$select=w365_name`)).json.value[0]
        .w365_name,
    ).toBe("O'Bryan & Co");
    expect((await api.call("GET", `w365_providersubscriptions?$filter=createdon gt 2000-01-01T00:00:00Z`)).json.value).toHaveLength(10);
  });

  it("1.2: lookup path filters and Microsoft.Dynamics.CRM.In with parameter aliases", async () => {
    expect((await api.call("GET", "w365_providersubscriptions?$filter=w365_connection/w365_name eq 'Query conn'")).json.value).toHaveLength(
      10,
    );
    const r = await api.call(
      "GET",
      "w365_providersubscriptions?$select=w365_name&$filter=Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)&@p1='w365_ionsubscriptionid'&@p2=['S-1','S-2']&$orderby=w365_name",
    );
    expect(names(r)).toEqual(["Fabrikam", "contoso East"].sort((a, b) => a.localeCompare(b, "en", { sensitivity: "base" })));
  });

  it("1.2: a bad filter answers 400 with the position of the error", async () => {
    const r = await api.call("GET", "w365_providersubscriptions?$filter=w365_name eq 'abc");
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe("There is an unterminated literal at position 13 in 'w365_name eq 'abc'.");
    const unknown = await api.call("GET", "w365_providersubscriptions?$filter=nosuch eq 1");
    expect(unknown.json.error.message).toBe(
      "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.w365_providersubscription'.",
    );
  });

  it("1.2: $skip is refused (0x80060888)", async () => {
    const r = await api.call("GET", "w365_providersubscriptions?$skip=5");
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({ code: "0x80060888", message: "The query parameter $skip is not supported" });
  });

  it("1.2: $top limits rows and produces no nextLink", async () => {
    const r = await api.call("GET", "w365_providersubscriptions?$top=3&$orderby=w365_name");
    expect(r.json.value).toHaveLength(3);
    expect(r.json["@odata.nextLink"]).toBeUndefined();
  });

  it("1.2: $count=true adds @odata.count; /$count answers text/plain", async () => {
    const r = await api.call("GET", "w365_providersubscriptions?$count=true&$top=2&$filter=w365_autorenew eq false");
    expect(r.json["@odata.count"]).toBe(6);
    expect(r.json.value).toHaveLength(2);
    const c = await api.call("GET", "w365_providersubscriptions/$count?$filter=w365_autorenew eq false");
    expect(c.headers.get("content-type")).toContain("text/plain");
    expect(c.text).toBe("6");
  });

  it("1.2: $expand of a single-valued lookup with nested $select", async () => {
    const r = await api.call("GET", `w365_providersubscriptions(${ids[0]})?$select=w365_name&$expand=w365_connection($select=w365_name)`);
    expect(r.json.w365_connection).toMatchObject({ w365_name: "Query conn", w365_providerconnectionid: conn });
    expect(r.json.w365_connection["@odata.etag"]).toMatch(/^W\//);
    expect(Object.keys(r.json.w365_connection)).not.toContain("w365_ionaccountid");
    const none = await api.call("GET", `w365_providersubscriptions(${ids[0]})?$expand=w365_provideraccount`);
    expect(none.json.w365_provideraccount).toBeNull();
  });

  it("1.2: $expand of a collection-valued relationship (one-to-many) with nested options", async () => {
    const r = await api.call(
      "GET",
      `w365_providerconnections(${conn})?$select=w365_name&$expand=w365_connection_subscriptions($select=w365_name;$filter=w365_autorenew eq true;$orderby=w365_name)`,
    );
    expect(r.json.w365_connection_subscriptions.map((s: { w365_name: string }) => s.w365_name)).toEqual([
      "Contoso Ltd",
      "O'Bryan & Co",
      "Proseware",
      "Wide World",
    ]);
  });

  it("1.2: $select of a lookup must use _x_value; the navigation name is refused", async () => {
    expect((await api.call("GET", "w365_providersubscriptions?$select=_w365_connection_value")).status).toBe(200);
    expect((await api.call("GET", "w365_providersubscriptions?$select=w365_connection")).status).toBe(400);
  });
});

describe("Dataverse emulator: paging (reference 1.3)", () => {
  it("1.3: odata.maxpagesize pages with an opaque $skiptoken in @odata.nextLink and echoes Preference-Applied", async () => {
    const seen: string[] = [];
    let url: string | undefined = "w365_providersubscriptions?$select=w365_name&$orderby=w365_name";
    let pages = 0;
    while (url) {
      const r = await api.call("GET", url, { headers: { Prefer: "odata.maxpagesize=3" } });
      expect(r.status).toBe(200);
      expect(r.headers.get("preference-applied")).toBe("odata.maxpagesize=3");
      seen.push(...names(r));
      url = r.json["@odata.nextLink"];
      if (url) {
        expect(url.startsWith(api.base)).toBe(true);
        expect(url).toContain("%24skiptoken=");
        expect(url).toContain("%24select=w365_name");
      }
      pages++;
    }
    expect(pages).toBe(4);
    expect(seen).toHaveLength(10);
    expect(new Set(seen).size).toBe(10);
    const all = names(await api.call("GET", "w365_providersubscriptions?$select=w365_name&$orderby=w365_name"));
    expect(seen).toEqual(all);
  });

  it("1.3: paging is keyset-stable while rows change (inserts before the cursor do not shift pages)", async () => {
    const first = await api.call("GET", "w365_providersubscriptions?$select=w365_name,w365_quantity&$orderby=w365_quantity desc", {
      headers: { Prefer: "odata.maxpagesize=4" },
    });
    // Nulls sort last in descending order; the cursor must carry through them.
    const got: string[] = names(first);
    await api.call("POST", "w365_providersubscriptions", { body: { w365_name: "AAA inserted", w365_quantity: 100 } });
    let next: string | undefined = first.json["@odata.nextLink"];
    while (next) {
      const r = await api.call("GET", next, { headers: { Prefer: "odata.maxpagesize=4" } });
      got.push(...names(r));
      next = r.json["@odata.nextLink"];
    }
    expect(got).toHaveLength(10);
    expect(new Set(got).size).toBe(10);
    expect(got).not.toContain("AAA inserted");
  });

  it("1.3: a tampered $skiptoken answers 400", async () => {
    const r = await api.call("GET", "w365_providersubscriptions?$skiptoken=garbage");
    expect(r.status).toBe(400);
  });

  it("1.3: maxpagesize is capped at 5000 and $top is ignored when both are sent", async () => {
    const r = await api.call("GET", "w365_providersubscriptions?$top=2", { headers: { Prefer: "odata.maxpagesize=9999" } });
    expect(r.headers.get("preference-applied")).toBe("odata.maxpagesize=5000");
    expect(r.json.value.length).toBeGreaterThan(2);
  });
});

describe("Dataverse emulator: related collections and state changes (reference 1.2, 1.4)", () => {
  it("1.2: GET set(id)/<one-to-many relationship> lists the related rows with query options and paging", async () => {
    const r = await api.call(
      "GET",
      `w365_providerconnections(${conn})/w365_connection_subscriptions?$select=w365_name&$filter=w365_autorenew eq true&$orderby=w365_name&$count=true`,
      { headers: { Prefer: "odata.maxpagesize=2" } },
    );
    expect(r.status).toBe(200);
    expect(r.json["@odata.count"]).toBe(4);
    expect(names(r)).toEqual(["Contoso Ltd", "O'Bryan & Co"]);
    expect(r.json["@odata.nextLink"]).toContain(`w365_providerconnections(${conn})/w365_connection_subscriptions?`);
    const next = await api.call("GET", r.json["@odata.nextLink"], { headers: { Prefer: "odata.maxpagesize=2" } });
    expect(names(next)).toEqual(["Proseware", "Wide World"]);
  });

  it("1.4: setting statecode alone moves statuscode to that state's default", async () => {
    await api.call("PATCH", `w365_providersubscriptions(${ids[1]})`, { body: { statecode: 1 } });
    const r = await api.call("GET", `w365_providersubscriptions(${ids[1]})?$select=statecode,statuscode`);
    expect(r.json).toMatchObject({ statecode: 1, statuscode: 2 });
    await api.call("PATCH", `w365_providersubscriptions(${ids[1]})`, { body: { statecode: 0 } });
    expect((await api.call("GET", `w365_providersubscriptions(${ids[1]})?$select=statuscode`)).json.statuscode).toBe(1);
  });
});
