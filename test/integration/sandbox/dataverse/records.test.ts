import { type Api, startWithFixture } from "../../../support/dataverseFixture";

let api: Api;
beforeAll(async () => {
  api = await startWithFixture();
});
afterAll(async () => {
  await api.emu.close();
});

const idFrom = (entityId: string | null) => /\(([0-9a-f-]{36})\)$/.exec(entityId ?? "")![1]!;

async function createConnection(body: Record<string, unknown> = {}) {
  const r = await api.call("POST", "w365_providerconnections", { body: { w365_name: "Ion", ...body } });
  expect(r.status).toBe(204);
  return idFrom(r.headers.get("odata-entityid"));
}

describe("Dataverse emulator: metadata and routing (reference 1.1, 1.9)", () => {
  it("1.1: serves the service document listing entity sets", async () => {
    const r = await api.call("GET", "");
    expect(r.status).toBe(200);
    expect(r.headers.get("odata-version")).toBe("4.0");
    expect(r.json["@odata.context"]).toBe(`${api.base}$metadata`);
    expect(r.json.value).toEqual(
      expect.arrayContaining([
        { name: "accounts", kind: "EntitySet", url: "accounts" },
        { name: "w365_providerconnections", kind: "EntitySet", url: "w365_providerconnections" },
      ]),
    );
  });

  it("1.1: accepts v9.0 and v9.1 URLs too", async () => {
    const r = await api.call("GET", `${api.emu.url}/api/data/v9.0/WhoAmI`);
    expect(r.status).toBe(200);
  });

  it("1.9: $metadata is CSDL with entity types, keys, navigation properties and custom API actions", async () => {
    const r = await api.call("GET", "$metadata");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("xml");
    expect(r.text).toContain('<EntityType Name="w365_provideraccount"');
    expect(r.text).toContain('<PropertyRef Name="w365_provideraccountid"/>');
    expect(r.text).toContain('<NavigationProperty Name="w365_connection" Type="mscrm.w365_providerconnection">');
    expect(r.text).toContain('<Property Name="_w365_connection_value" Type="Edm.Guid"/>');
    expect(r.text).toContain('<Action Name="w365_VerifyConnectivity" IsBound="true">');
    expect(r.text).toContain('<ActionImport Name="w365_Ping" Action="mscrm.w365_Ping"/>');
    expect(r.text).toContain('<EntitySet Name="w365_providerconnections" EntityType="mscrm.w365_providerconnection"/>');
  });

  it("1.9: EntityDefinitions(LogicalName='x') honours $select and always returns MetadataId (dataverse-ify's first call)", async () => {
    const r = await api.call("GET", "EntityDefinitions(LogicalName='account')?$select=EntitySetName,PrimaryIdAttribute");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ EntitySetName: "accounts", PrimaryIdAttribute: "accountid" });
    expect(r.json.MetadataId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.json.LogicalName).toBeUndefined();
  });

  it("1.9: EntityDefinitions(...)/Attributes lists typed attribute metadata, /Keys the alternate keys", async () => {
    const attrs = await api.call(
      "GET",
      "EntityDefinitions(LogicalName='w365_providerconnection')/Attributes?$select=LogicalName,AttributeType,IsSecured,MaxLength",
    );
    const rt = attrs.json.value.find((a: { LogicalName: string }) => a.LogicalName === "w365_refreshtoken");
    expect(rt).toMatchObject({ AttributeType: "String", IsSecured: true, MaxLength: 4000 });
    const keys = await api.call("GET", "EntityDefinitions(LogicalName='w365_provideraccount')/Keys");
    expect(keys.json.value[0]).toMatchObject({
      LogicalName: "w365_connection_ioncustomerid",
      KeyAttributes: ["w365_connection", "w365_ioncustomerid"],
    });
  });

  it("1.9: EntityDefinitions supports $filter on metadata properties", async () => {
    const r = await api.call("GET", "EntityDefinitions?$select=LogicalName&$filter=IsCustomEntity eq true");
    expect(r.json.value.map((e: { LogicalName: string }) => e.LogicalName).sort()).toEqual([
      "w365_provideraccount",
      "w365_providerconnection",
      "w365_providersubscription",
    ]);
  });

  it("1.6: unknown segments answer 404 with Dataverse's resource-not-found error", async () => {
    const r = await api.call("GET", "nosuchset");
    expect(r.status).toBe(404);
    expect(r.json.error).toEqual({ code: "0x8006088a", message: "Resource not found for the segment 'nosuchset'." });
  });
});

describe("Dataverse emulator: authentication (reference 2, 10)", () => {
  it("2: refuses requests without a valid bearer token with 401", async () => {
    expect((await api.call("GET", "accounts", { token: null })).status).toBe(401);
    const bad = await api.call("GET", "accounts", { token: "not-a-token" });
    expect(bad.status).toBe(401);
    expect(bad.json.error.code).toMatch(/^0x/);
  });

  it("2: WhoAmI returns the caller's user, business unit and organization", async () => {
    const a = await api.call("GET", "WhoAmI");
    const b = await api.call("GET", "WhoAmI()", { token: api.emu.adminToken });
    expect(a.json.UserId).not.toBe(b.json.UserId);
    expect(a.json.OrganizationId).toBe(b.json.OrganizationId);
    const user = await api.call("GET", `systemusers(${a.json.UserId})?$select=fullname`);
    expect(user.json.fullname).toBe("Work 365 Integration");
  });
});

describe("Dataverse emulator: create, retrieve, update, upsert, delete (reference 1.4, 1.5)", () => {
  it("1.4: create answers 204 with OData-EntityId and Location", async () => {
    const r = await api.call("POST", "accounts", { body: { name: "Contoso", accountnumber: "A-1" } });
    expect(r.status).toBe(204);
    expect(r.headers.get("odata-entityid")).toMatch(new RegExp(`^${api.base.replace(/[.$]/g, "\\$&")}accounts\\([0-9a-f-]{36}\\)$`));
    expect(r.headers.get("location")).toBe(r.headers.get("odata-entityid"));
  });

  it("1.4: create with Prefer: return=representation answers 201 with the record and honours $select", async () => {
    const r = await api.call("POST", "accounts?$select=name,accountnumber", {
      body: { name: "Fabrikam", accountnumber: "F-1" },
      headers: { Prefer: "return=representation" },
    });
    expect(r.status).toBe(201);
    expect(r.headers.get("preference-applied")).toBe("return=representation");
    expect(r.json["@odata.context"]).toBe(`${api.base}$metadata#accounts(name,accountnumber)/$entity`);
    expect(r.json).toMatchObject({ name: "Fabrikam", accountnumber: "F-1" });
    expect(r.json["@odata.etag"]).toMatch(/^W\/"\d+"$/);
    expect(r.json.accountid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.json.telephone1).toBeUndefined();
  });

  it("1.4: standard columns are set: createdon/modifiedon/versionnumber, statecode 0/statuscode 1, owner", async () => {
    const id = await createConnection();
    const r = await api.call(
      "GET",
      `w365_providerconnections(${id})?$select=createdon,modifiedon,versionnumber,statecode,statuscode,_ownerid_value,w365_status`,
    );
    expect(r.json).toMatchObject({ statecode: 0, statuscode: 1, w365_status: 365000000 });
    expect(r.json.createdon).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const me = await api.call("GET", "WhoAmI");
    expect(r.json._ownerid_value).toBe(me.json.UserId);
  });

  it("1.5: the etag changes on every write and is a global monotonic row version", async () => {
    const id = await createConnection();
    const a = await api.call("GET", `w365_providerconnections(${id})?$select=w365_name`);
    await api.call("PATCH", `w365_providerconnections(${id})`, { body: { w365_name: "renamed" } });
    const b = await api.call("GET", `w365_providerconnections(${id})?$select=w365_name`);
    const n = (etag: string) => Number(/"(\d+)"/.exec(etag)![1]);
    expect(n(b.json["@odata.etag"])).toBeGreaterThan(n(a.json["@odata.etag"]));
    expect(b.headers.get("etag")).toBe(b.json["@odata.etag"]);
  });

  it("1.5: If-None-Match with the current etag answers 304; not with annotations", async () => {
    const id = await createConnection();
    const a = await api.call("GET", `w365_providerconnections(${id})`);
    const etag = a.json["@odata.etag"];
    expect((await api.call("GET", `w365_providerconnections(${id})`, { headers: { "If-None-Match": etag } })).status).toBe(304);
    expect(
      (
        await api.call("GET", `w365_providerconnections(${id})`, {
          headers: { "If-None-Match": etag, Prefer: 'odata.include-annotations="*"' },
        })
      ).status,
    ).toBe(200);
  });

  it("1.4: PATCH updates (204) and with return=representation answers 200 with the record", async () => {
    const id = await createConnection();
    const r = await api.call("PATCH", `w365_providerconnections(${id})?$select=w365_name`, {
      body: { w365_name: "x" },
      headers: { Prefer: "return=representation" },
    });
    expect(r.status).toBe(200);
    expect(r.json.w365_name).toBe("x");
    const plain = await api.call("PATCH", `w365_providerconnections(${id})`, { body: { w365_apikey: "k" } });
    expect(plain.status).toBe(204);
    expect(plain.headers.get("odata-entityid")).toContain(id);
  });

  it("1.4: PATCH on a missing id is an upsert that creates the record with that id", async () => {
    const id = "11111111-2222-4333-8444-555555555555";
    const r = await api.call("PATCH", `w365_providerconnections(${id})`, { body: { w365_name: "upserted" } });
    expect(r.status).toBe(204);
    const g = await api.call("GET", `w365_providerconnections(${id})?$select=w365_name`);
    expect(g.json.w365_name).toBe("upserted");
  });

  it("1.4: If-Match: * makes PATCH update-only: 404 with the Dataverse message when missing, nothing created", async () => {
    const id = "22222222-2222-4333-8444-555555555555";
    const r = await api.call("PATCH", `w365_providerconnections(${id})`, { body: { w365_name: "x" }, headers: { "If-Match": "*" } });
    expect(r.status).toBe(404);
    expect(r.json.error).toEqual({ code: "0x80040217", message: `w365_providerconnection With Id = ${id} Does Not Exist` });
    expect((await api.call("GET", `w365_providerconnections(${id})`)).status).toBe(404);
  });

  it("1.4: If-None-Match: * makes PATCH create-only: 412 'A record with matching key values already exists.'", async () => {
    const id = await createConnection();
    const r = await api.call("PATCH", `w365_providerconnections(${id})`, { body: { w365_name: "x" }, headers: { "If-None-Match": "*" } });
    expect(r.status).toBe(412);
    expect(r.json.error.message).toBe("A record with matching key values already exists.");
  });

  it("1.5: If-Match with a stale etag answers 412 with the RowVersion message; the current etag succeeds", async () => {
    const id = await createConnection();
    const first = await api.call("GET", `w365_providerconnections(${id})`);
    await api.call("PATCH", `w365_providerconnections(${id})`, { body: { w365_name: "changed" } });
    const stale = await api.call("PATCH", `w365_providerconnections(${id})`, {
      body: { w365_name: "mine" },
      headers: { "If-Match": first.json["@odata.etag"] },
    });
    expect(stale.status).toBe(412);
    expect(stale.json.error).toEqual({
      code: "0x80060882",
      message: "The version of the existing record doesn't match the RowVersion property provided.",
    });
    const current = await api.call("GET", `w365_providerconnections(${id})`);
    const ok = await api.call("PATCH", `w365_providerconnections(${id})`, {
      body: { w365_name: "mine" },
      headers: { "If-Match": current.json["@odata.etag"] },
    });
    expect(ok.status).toBe(204);
    const delStale = await api.call("DELETE", `w365_providerconnections(${id})`, { headers: { "If-Match": current.json["@odata.etag"] } });
    expect(delStale.status).toBe(412);
  });

  it("1.4: upsert by alternate key (lookup given by navigation name or _x_value) creates then updates; key values are written", async () => {
    const conn = await createConnection();
    const url1 = `w365_provideraccounts(w365_connection=${conn},w365_ioncustomerid='C-1')`;
    const created = await api.call("PATCH", url1, { body: { w365_name: "Cust 1" }, headers: { Prefer: "return=representation" } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ w365_ioncustomerid: "C-1", _w365_connection_value: conn, w365_name: "Cust 1" });
    const url2 = `w365_provideraccounts(_w365_connection_value=${conn},w365_ioncustomerid='C-1')`;
    const updated = await api.call("PATCH", url2, { body: { w365_name: "Cust 1b" } });
    expect(updated.status).toBe(204);
    expect(updated.headers.get("odata-entityid")).toContain(created.json.w365_provideraccountid);
    const byKey = await api.call("GET", `${url1}?$select=w365_name`);
    expect(byKey.json.w365_name).toBe("Cust 1b");
    const count = await api.call("GET", `w365_provideraccounts/$count?$filter=_w365_connection_value eq ${conn}`);
    expect(count.text).toBe("1");
  });

  it("1.4: a key that matches no alternate key is refused; a missing key-addressed record is 404", async () => {
    const r = await api.call("GET", "accounts(name='nobody')");
    expect(r.status).toBe(400);
    const conn = await createConnection();
    const m = await api.call("GET", `w365_provideraccounts(w365_connection=${conn},w365_ioncustomerid='none')`);
    expect(m.status).toBe(404);
    expect(m.json.error.code).toBe("0x80040217");
  });

  it("1.6: a duplicate alternate key on create answers 412 0x80040237 naming the values and the key", async () => {
    const conn = await createConnection();
    const body = { w365_name: "A", w365_ioncustomerid: "DUP", "w365_connection@odata.bind": `/w365_providerconnections(${conn})` };
    expect((await api.call("POST", "w365_provideraccounts", { body })).status).toBe(204);
    const r = await api.call("POST", "w365_provideraccounts", { body });
    expect(r.status).toBe(412);
    expect(r.json.error.code).toBe("0x80040237");
    expect(r.json.error.message).toBe(
      `A record that has the attribute values ${conn}, DUP already exists. The entity key w365_connection_ioncustomerid requires that this set of attributes contains unique values. Select unique values and try again.`,
    );
  });

  it("1.4: alternate keys compare case-insensitively, like SQL Server collation", async () => {
    const conn = await createConnection();
    await api.call("PATCH", `w365_provideraccounts(w365_connection=${conn},w365_ioncustomerid='abc')`, { body: { w365_name: "x" } });
    const r = await api.call("GET", `w365_provideraccounts(w365_connection=${conn},w365_ioncustomerid='ABC')?$select=w365_ioncustomerid`);
    expect(r.json.w365_ioncustomerid).toBe("abc");
  });

  it("1.4: DELETE answers 204, then 404 for the same record", async () => {
    const id = await createConnection();
    expect((await api.call("DELETE", `w365_providerconnections(${id})`)).status).toBe(204);
    const again = await api.call("DELETE", `w365_providerconnections(${id})`);
    expect(again.status).toBe(404);
    expect(again.json.error.message).toBe(`w365_providerconnection With Id = ${id} Does Not Exist`);
  });

  it("1.4: single-property PUT and DELETE, and GET of a property", async () => {
    const id = await createConnection({ w365_apikey: "k1" });
    expect((await api.call("PUT", `w365_providerconnections(${id})/w365_apikey`, { body: { value: "k2" } })).status).toBe(204);
    expect((await api.call("GET", `w365_providerconnections(${id})/w365_apikey`)).json.value).toBe("k2");
    expect((await api.call("DELETE", `w365_providerconnections(${id})/w365_apikey`)).status).toBe(204);
    expect((await api.call("GET", `w365_providerconnections(${id})/w365_apikey`)).json.value).toBeNull();
  });
});

describe("Dataverse emulator: lookups, @odata.bind and annotations (reference 1.1, 1.4)", () => {
  it("1.4: @odata.bind accepts '/set(id)', 'set(id)', absolute URLs and alternate-key references", async () => {
    const conn = await createConnection();
    const acct = await api.call("POST", "accounts", { body: { name: "Bound", accountnumber: "B-77" } });
    const acctId = idFrom(acct.headers.get("odata-entityid"));
    for (const [i, ref] of [
      `/w365_providerconnections(${conn})`,
      `w365_providerconnections(${conn})`,
      `${api.base}w365_providerconnections(${conn})`,
    ].entries()) {
      const r = await api.call("POST", "w365_provideraccounts?$select=_w365_connection_value", {
        body: { w365_ioncustomerid: `bind-${i}`, "w365_connection@odata.bind": ref },
        headers: { Prefer: "return=representation" },
      });
      expect(r.json._w365_connection_value).toBe(conn);
    }
    // An alternate-key reference (the lookup inside the key given by its navigation name).
    const sub = await api.call("POST", "w365_providersubscriptions?$select=_w365_provideraccount_value", {
      body: {
        w365_ionsubscriptionid: "bind-sub",
        "w365_provideraccount@odata.bind": `/w365_provideraccounts(w365_connection=${conn},w365_ioncustomerid='bind-0')`,
      },
      headers: { Prefer: "return=representation" },
    });
    const pa = await api.call("GET", `w365_provideraccounts(w365_connection=${conn},w365_ioncustomerid='bind-0')?$select=w365_name`);
    expect(sub.json._w365_provideraccount_value).toBe(pa.json.w365_provideraccountid);
    // accountnumber is not an alternate key of account in this environment → refused.
    const refused = await api.call("PATCH", `w365_provideraccounts(w365_connection=${conn},w365_ioncustomerid='bind-0')`, {
      body: { "w365_account@odata.bind": "/accounts(accountnumber='B-77')" },
    });
    expect(refused.status).toBe(400);
    const ok = await api.call("PATCH", `w365_provideraccounts(w365_connection=${conn},w365_ioncustomerid='bind-0')`, {
      body: { "w365_account@odata.bind": `/accounts(${acctId})` },
      headers: { Prefer: "return=representation" },
    });
    expect(ok.json._w365_account_value).toBe(acctId);
  });

  it("1.4: binding to a record that does not exist answers 404; writing _x_value directly is refused", async () => {
    const missing = "99999999-2222-4333-8444-555555555555";
    const r = await api.call("POST", "w365_provideraccounts", {
      body: { "w365_connection@odata.bind": `/w365_providerconnections(${missing})` },
    });
    expect(r.status).toBe(404);
    expect(r.json.error.message).toBe(`w365_providerconnection With Id = ${missing} Does Not Exist`);
    const direct = await api.call("POST", "w365_provideraccounts", { body: { _w365_connection_value: missing } });
    expect(direct.status).toBe(400);
    expect(direct.json.error.message).toBe(
      "CRM do not support direct update of Entity Reference properties, Use Navigation properties instead.",
    );
  });

  it("1.4: binding null clears a lookup", async () => {
    const conn = await createConnection();
    const r = await api.call("POST", "w365_provideraccounts", {
      body: { "w365_connection@odata.bind": `/w365_providerconnections(${conn})` },
    });
    const id = idFrom(r.headers.get("odata-entityid"));
    await api.call("PATCH", `w365_provideraccounts(${id})`, { body: { "w365_connection@odata.bind": null } });
    expect((await api.call("GET", `w365_provideraccounts(${id})?$select=_w365_connection_value`)).json._w365_connection_value).toBeNull();
  });

  it("1.1: Prefer odata.include-annotations adds FormattedValue and lookup annotations and is echoed", async () => {
    const conn = await createConnection({ w365_name: "Conn A", w365_status: 365000001 });
    const sub = await api.call(
      "POST",
      "w365_providersubscriptions?$select=_w365_connection_value,w365_quantity,w365_autorenew,w365_cost,w365_startdate",
      {
        body: {
          w365_ionsubscriptionid: "S-1",
          "w365_connection@odata.bind": `/w365_providerconnections(${conn})`,
          w365_quantity: 1234,
          w365_autorenew: true,
          w365_cost: 1234.5,
          w365_startdate: "2024-03-05",
        },
        headers: { Prefer: 'return=representation,odata.include-annotations="*"' },
      },
    );
    expect(sub.status).toBe(201);
    const j = sub.json;
    expect(j["_w365_connection_value@OData.Community.Display.V1.FormattedValue"]).toBe("Conn A");
    expect(j["_w365_connection_value@Microsoft.Dynamics.CRM.lookuplogicalname"]).toBe("w365_providerconnection");
    expect(j["_w365_connection_value@Microsoft.Dynamics.CRM.associatednavigationproperty"]).toBe("w365_connection");
    expect(j["w365_quantity@OData.Community.Display.V1.FormattedValue"]).toBe("1,234");
    expect(j["w365_autorenew@OData.Community.Display.V1.FormattedValue"]).toBe("Yes");
    expect(j["w365_cost@OData.Community.Display.V1.FormattedValue"]).toBe("$1,234.50");
    expect(j["w365_startdate@OData.Community.Display.V1.FormattedValue"]).toBe("3/5/2024");
    expect(j.w365_startdate).toBe("2024-03-05");
    const c = await api.call("GET", `w365_providerconnections(${conn})?$select=w365_status`, {
      headers: { Prefer: 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"' },
    });
    expect(c.json["w365_status@OData.Community.Display.V1.FormattedValue"]).toBe("Connected");
    expect(c.headers.get("preference-applied")).toBe('odata.include-annotations="OData.Community.Display.V1.FormattedValue"');
    const none = await api.call("GET", `w365_providerconnections(${conn})?$select=w365_status`);
    expect(Object.keys(none.json).some((k) => k.includes("FormattedValue"))).toBe(false);
  });
});

describe("Dataverse emulator: validation errors (reference 1.6)", () => {
  it("1.6: unknown columns answer 400 'Could not find a property named …'", async () => {
    const r = await api.call("POST", "accounts", { body: { name: "x", nosuchcolumn: 1 } });
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({
      code: "0x80060888",
      message: "Could not find a property named 'nosuchcolumn' on type 'Microsoft.Dynamics.CRM.account'.",
    });
    const sel = await api.call("GET", "accounts?$select=nosuchcolumn");
    expect(sel.status).toBe(400);
  });

  it("1.6: text longer than MaxLength answers 0x80044331 with Dataverse's message", async () => {
    const r = await api.call("POST", "w365_providerconnections", { body: { w365_apikey: "x".repeat(101) } });
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({
      code: "0x80044331",
      message:
        "A validation error occurred.  The length of the 'w365_apikey' attribute of the 'w365_providerconnection' entity exceeded the maximum allowed length of '100'.",
    });
  });

  it("1.6: wrong types, out-of-range numbers and unknown choice values are refused", async () => {
    const wrongType = await api.call("POST", "w365_providersubscriptions", { body: { w365_quantity: "five" } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.error.message).toBe("Cannot convert the literal 'five' to the expected type 'Edm.Int32'.");
    const range = await api.call("POST", "w365_provideraccounts", { body: { w365_matchscore: 1.5 } });
    expect(range.json.error.code).toBe("0x80044331");
    expect(range.json.error.message).toContain("outside the valid range");
    const choice = await api.call("POST", "w365_providerconnections", { body: { w365_status: 7 } });
    expect(choice.json.error.code).toBe("0x80044331");
    const bool = await api.call("POST", "w365_providersubscriptions", { body: { w365_autorenew: "yes" } });
    expect(bool.status).toBe(400);
    const date = await api.call("POST", "w365_providerconnections", { body: { w365_lastverifiedon: "not a date" } });
    expect(date.status).toBe(400);
  });

  it("1.6: a malformed JSON body answers 400", async () => {
    const r = await api.call("POST", "accounts", { body: "{not json" });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toMatch(/^0x/);
  });
});

describe("Dataverse emulator: secured columns (field security)", () => {
  it("callers without the field security profile read secured columns as null", async () => {
    const id = await createConnection({ w365_refreshtoken: "rt-secret-value" });
    const integ = await api.call("GET", `w365_providerconnections(${id})?$select=w365_refreshtoken`);
    expect(integ.json.w365_refreshtoken).toBe("rt-secret-value");
    const admin = await api.call("GET", `w365_providerconnections(${id})?$select=w365_refreshtoken`, { token: api.emu.adminToken });
    expect(admin.json.w365_refreshtoken).toBeNull();
    const list = await api.call("GET", `w365_providerconnections?$filter=w365_providerconnectionid eq ${id}`, {
      token: api.emu.adminToken,
    });
    expect(list.json.value[0].w365_refreshtoken).toBeNull();
  });

  it("writing a secured column without the profile answers 403 with the documented privilege codes", async () => {
    const create = await api.call("POST", "w365_providerconnections", { body: { w365_refreshtoken: "x" }, token: api.emu.adminToken });
    expect(create.status).toBe(403);
    expect(create.json.error.code).toBe("0x8004f502");
    expect(create.json.error.message).toMatch(/^The user does not have create permissions to a secured field/);
    const id = await createConnection();
    const update = await api.call("PATCH", `w365_providerconnections(${id})`, {
      body: { w365_refreshtoken: "x" },
      token: api.emu.adminToken,
    });
    expect(update.status).toBe(403);
    expect(update.json.error.code).toBe("0x8004f507");
    // Other columns stay writable for the admin.
    expect(
      (await api.call("PATCH", `w365_providerconnections(${id})`, { body: { w365_apikey: "k" }, token: api.emu.adminToken })).status,
    ).toBe(204);
  });

  it("field security profiles from the solution grant per-column read/create/update", async () => {
    // The fixture's profile grants read, create and update on w365_refreshtoken.
    const token = api.emu.issueToken({ name: "Profiled", fieldSecurityProfiles: ["Work 365 Integration secrets"] });
    const created = await api.call("POST", "w365_providerconnections?$select=w365_refreshtoken", {
      body: { w365_name: "p", w365_refreshtoken: "granted" },
      headers: { Prefer: "return=representation" },
      token,
    });
    expect(created.status).toBe(201);
    expect(created.json.w365_refreshtoken).toBe("granted");
    const other = api.emu.issueToken({ name: "Unprofiled", fieldSecurityProfiles: ["No such profile"] });
    expect(
      (
        await api.call("GET", `w365_providerconnections(${created.json.w365_providerconnectionid})?$select=w365_refreshtoken`, {
          token: other,
        })
      ).json.w365_refreshtoken,
    ).toBeNull();
  });

  it("issueToken creates users with or without field security", async () => {
    const token = api.emu.issueToken({ name: "Auditor", fieldSecurity: true });
    const id = await createConnection({ w365_refreshtoken: "visible" });
    expect((await api.call("GET", `w365_providerconnections(${id})?$select=w365_refreshtoken`, { token })).json.w365_refreshtoken).toBe(
      "visible",
    );
  });
});

describe("Dataverse emulator: delete cascades (relationship rules)", () => {
  it("Cascade deletes children, RemoveLink clears lookups, Restrict refuses with 0x80040227", async () => {
    const conn = await createConnection();
    const acc = await api.call("POST", "w365_provideraccounts", {
      body: { w365_ioncustomerid: "casc", "w365_connection@odata.bind": `/w365_providerconnections(${conn})` },
    });
    const accId = idFrom(acc.headers.get("odata-entityid"));
    const other = await createConnection();
    const sub = await api.call("POST", "w365_providersubscriptions", {
      body: {
        w365_ionsubscriptionid: "s",
        "w365_connection@odata.bind": `/w365_providerconnections(${other})`,
        "w365_provideraccount@odata.bind": `/w365_provideraccounts(${accId})`,
      },
    });
    const subId = idFrom(sub.headers.get("odata-entityid"));
    // Restrict: an account referenced by a provider account cannot be deleted.
    const account = await api.call("POST", "accounts", { body: { name: "Restricted" } });
    const accountId = idFrom(account.headers.get("odata-entityid"));
    await api.call("PATCH", `w365_provideraccounts(${accId})`, { body: { "w365_account@odata.bind": `/accounts(${accountId})` } });
    const restricted = await api.call("DELETE", `accounts(${accountId})`);
    expect(restricted.status).toBe(405);
    expect(restricted.json.error.code).toBe("0x80040227");
    // Cascade from the connection removes the provider account; RemoveLink (default) clears the subscription's lookup.
    expect((await api.call("DELETE", `w365_providerconnections(${conn})`)).status).toBe(204);
    expect((await api.call("GET", `w365_provideraccounts(${accId})`)).status).toBe(404);
    const s = await api.call("GET", `w365_providersubscriptions(${subId})?$select=_w365_provideraccount_value`);
    expect(s.json._w365_provideraccount_value).toBeNull();
  });
});

describe("Dataverse emulator: CORS for the admin harness", () => {
  it("answers preflight requests from 127.0.0.1 origins and tags responses", async () => {
    const pre = await fetch(`${api.base}accounts`, {
      method: "OPTIONS",
      headers: {
        Origin: "http://127.0.0.1:5555",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,prefer",
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:5555");
    expect(pre.headers.get("access-control-allow-methods")).toContain("PATCH");
    expect(pre.headers.get("access-control-allow-headers")).toBe("authorization,prefer");
    const get = await api.call("GET", "accounts?$top=1", { headers: { Origin: "http://localhost:9000" } });
    expect(get.headers.get("access-control-allow-origin")).toBe("http://localhost:9000");
    expect(get.headers.get("access-control-expose-headers")).toContain("OData-EntityId");
    const foreign = await api.call("GET", "accounts?$top=1", { headers: { Origin: "https://evil.example" } });
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
  });
});
