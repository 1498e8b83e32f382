/** Pins docs/platform/ion-api.md §3 (conventions), §4.1 (customers), §5 (token paging) and §6 (errors, 401/403). */
import { type IonSimulator, startIonSimulator } from "../../../../sandbox/ion";
import { accessToken, call, v3 } from "../../../support/ionSimulator";

const newCustomer = (email: string) => ({
  customerOrganization: "Acme Ltd",
  customerAddress: { street: "1 Main St", city: "Tampa", state: "FL", zip: "33606", country: "US" },
  customerName: "Jane Doe",
  customerEmail: email,
  customerTitle: "Owner",
  customerPhone: "8135550000",
  languageCode: "EN",
  primaryContactFirstName: "Jane",
  someUnknownField: { nested: true },
});

describe("Ion simulator customers (§4.1) and auth rules (§6)", () => {
  let sim: IonSimulator;
  let token: string;
  beforeAll(async () => {
    sim = await startIonSimulator({ customers: 57, subscriptionsPerCustomer: 2, maxPageSize: 20 });
    token = await accessToken(sim);
  });
  afterAll(async () => {
    await sim.close();
  });

  describe("bearer checks (§6 401 vs 403, §9 Auth)", () => {
    it("missing, unknown and malformed bearer tokens get 401 with the v3 error body", async () => {
      const variants: Array<Record<string, string>> = [{}, { authorization: "Bearer NOPE" }, { authorization: "Basic abc" }];
      for (const headers of variants) {
        const r = await call(sim, "GET", v3(sim, "/customers?pageSize=1"), { headers });
        expect(r.status).toBe(401);
        expect(r.body).toStrictEqual({
          error: "UNAUTHENTICATED",
          message: expect.any(String),
          code: 401,
          details: [{ "@type": "type.googleapis.com/google.rpc.RequestInfo", requestId: expect.stringMatching(/^[0-9a-f]{20}$/) }],
        });
      }
    });

    it("a valid token used on another account gets 403 PERMISSION_DENIED 'permission denied to access accounts/{A}'", async () => {
      const r = await call(sim, "GET", "/api/v3/accounts/999/customers?pageSize=1", { token });
      expect(r.status).toBe(403);
      expect(r.body.error).toBe("PERMISSION_DENIED");
      expect(r.body.message).toBe("permission denied to access accounts/999");
      expect(r.body.code).toBe(403);
    });

    it("non-integer path ids get 400 INVALID_ARGUMENT", async () => {
      const r = await call(sim, "GET", v3(sim, "/customers/abc"), { token });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe("INVALID_ARGUMENT");
    });

    it("unauthorizedStatus 403 switches bad-token answers to PERMISSION_DENIED", async () => {
      const strict = await startIonSimulator({ customers: 1, unauthorizedStatus: 403 });
      try {
        const r = await call(strict, "GET", v3(strict, "/customers?pageSize=1"), { token: "NOPE" });
        expect(r.status).toBe(403);
        expect(r.body.error).toBe("PERMISSION_DENIED");
      } finally {
        await strict.close();
      }
    });
  });

  describe("list and paging (§4.1, §5)", () => {
    it("requires pageSize or pageToken", async () => {
      const r = await call(sim, "GET", v3(sim, "/customers"), { token });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe("INVALID_REQUEST");
      expect(r.body.message).toBe("At least one of page_size and page_token must be present");
    });

    it("pages with an opaque nextPageToken, capped at maxPageSize, empty on the last page, every customer once", async () => {
      const seen: string[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const r = await call(sim, "GET", v3(sim, `/customers?pageSize=1000${pageToken ? `&pageToken=${pageToken}` : ""}`), { token });
        expect(r.status).toBe(200);
        expect(r.body.customers.length).toBeLessThanOrEqual(20);
        seen.push(...r.body.customers.map((c: { name: string }) => c.name));
        pageToken = r.body.nextPageToken;
        pages++;
      } while (pageToken);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(57);
      expect(seen[0]).toMatch(new RegExp(`^accounts/${sim.accountId}/customers/\\d+$`));
    });

    it("accepts snake_case parameter names (page_size / page_token)", async () => {
      const r = await call(sim, "GET", v3(sim, "/customers?page_size=5"), { token });
      expect(r.body.customers).toHaveLength(5);
      const next = await call(sim, "GET", v3(sim, `/customers?page_size=5&page_token=${r.body.nextPageToken}`), { token });
      expect(next.body.customers[0].name).not.toBe(r.body.customers[0].name);
    });

    it("binds the page token to the filters and rejects a tampered token", async () => {
      const r = await call(sim, "GET", v3(sim, "/customers?pageSize=5"), { token });
      const other = await call(
        sim,
        "GET",
        v3(sim, `/customers?pageSize=5&filter.customerStatus=ACTIVE&pageToken=${r.body.nextPageToken}`),
        { token },
      );
      expect(other.status).toBe(400);
      expect(other.body.error).toBe("INVALID_ARGUMENT");
      const junk = await call(sim, "GET", v3(sim, "/customers?pageSize=5&pageToken=garbage"), { token });
      expect(junk.status).toBe(400);
    });

    it("filters by email (exact, case-insensitive), name (substring), status and language", async () => {
      const target = sim.control.customers()[7]!;
      const byEmail = await call(
        sim,
        "GET",
        v3(sim, `/customers?pageSize=10&filter.customerEmail=${encodeURIComponent(target.customerEmail.toUpperCase())}`),
        { token },
      );
      expect(byEmail.body.customers.map((c: { name: string }) => c.name)).toStrictEqual([
        `accounts/${sim.accountId}/customers/${target.id}`,
      ]);
      const word = target.customerOrganization.split(" ")[0]!.toLowerCase();
      const byName = await call(sim, "GET", v3(sim, `/customers?pageSize=100&filter.customer_name=${encodeURIComponent(word)}`), { token });
      expect(byName.body.customers.length).toBeGreaterThanOrEqual(1);
      for (const c of byName.body.customers) expect(`${c.customerOrganization} ${c.customerName}`.toLowerCase()).toContain(word);
      const inactive = sim.control.customers().filter((c) => c.customerStatus === "INACTIVE").length;
      let count = 0;
      let pt = "";
      do {
        const r = await call(sim, "GET", v3(sim, `/customers?pageSize=20&filter.customerStatus=INACTIVE${pt ? `&pageToken=${pt}` : ""}`), {
          token,
        });
        count += r.body.customers.length;
        pt = r.body.nextPageToken;
      } while (pt);
      expect(count).toBe(inactive);
      const unspecified = await call(sim, "GET", v3(sim, "/customers?pageSize=20&filter.customerStatus=CUSTOMER_STATUS_UNSPECIFIED"), {
        token,
      });
      expect(unspecified.body.customers).toHaveLength(20);
      const de = await call(sim, "GET", v3(sim, "/customers?pageSize=100&filter.languageCode=de"), { token });
      const expectedDe = sim.control.customers().filter((c) => c.languageCode.toLowerCase() === "de").length;
      expect(de.body.customers).toHaveLength(expectedDe);
      for (const c of de.body.customers) expect(c.languageCode.toLowerCase()).toBe("de");
      const badStatus = await call(sim, "GET", v3(sim, "/customers?pageSize=20&filter.customerStatus=GONE"), { token });
      expect(badStatus.status).toBe(400);
    });
  });

  describe("get, create, update (§4.1)", () => {
    it("get returns the customer with its id only inside name; unknown ids get 404 with Ion's message", async () => {
      const c = sim.control.customers()[0]!;
      const r = await call(sim, "GET", v3(sim, `/customers/${c.id}`), { token });
      expect(r.status).toBe(200);
      expect(r.body.id).toBeUndefined();
      expect(r.body).toMatchObject({
        name: `accounts/${sim.accountId}/customers/${c.id}`,
        customerOrganization: c.customerOrganization,
        customerStatus: c.customerStatus,
        uid: c.uid,
      });
      expect(r.body.createTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
      const missing = await call(sim, "GET", v3(sim, "/customers/1"), { token });
      expect(missing.status).toBe(404);
      expect(missing.body.error).toBe("NOT_FOUND");
      expect(missing.body.message).toBe(`resource 'accounts/${sim.accountId}/customers/1' not found`);
    });

    it("create validates required fields with Ion's internal names, returns 200 with user.password once", async () => {
      const missing = await call(sim, "POST", v3(sim, "/customers"), {
        token,
        body: { ...newCustomer("x@acme.example"), customerOrganization: undefined },
      });
      expect(missing.status).toBe(400);
      expect(missing.body.error).toBe("INVALID_REQUEST");
      expect(missing.body.message).toBe("must have required property 'orgName'");
      const created = await call(sim, "POST", v3(sim, "/customers"), { token, body: newCustomer("jane@acme.example") });
      expect(created.status).toBe(200);
      expect(created.body.customerStatus).toBe("ACTIVE");
      expect(created.body.createTime).toBe(created.body.updateTime);
      expect(created.body.user).toMatchObject({
        userName: "DEFAULT ACCOUNT USER",
        email: "jane@acme.example",
        userStatus: "ACTIVE",
        password: expect.any(String),
      });
      expect(created.body.someUnknownField).toBeUndefined();
      const got = await call(sim, "GET", v3(sim, `/customers/${created.body.name.split("/").pop()}`), { token });
      expect(got.body.user).toBeUndefined();
      expect(JSON.stringify(sim.control.customers())).not.toContain(created.body.user.password);
    });

    it("duplicate customerEmail gives 412 FAILED_PRECONDITION with CUS-CR-001; a bad language gives CUS-CR-002", async () => {
      const existing = sim.control.customers()[3]!;
      const dup = await call(sim, "POST", v3(sim, "/customers"), { token, body: newCustomer(existing.customerEmail.toUpperCase()) });
      expect(dup.status).toBe(412);
      expect(dup.body.error).toBe("FAILED_PRECONDITION");
      expect(dup.body.details).toContainEqual(expect.objectContaining({ referenceEntity: "customer", code: "CUS-CR-001" }));
      const lang = await call(sim, "POST", v3(sim, "/customers"), {
        token,
        body: { ...newCustomer("lang@acme.example"), languageCode: "XX" },
      });
      expect(lang.status).toBe(412);
      expect(lang.body.details).toContainEqual(expect.objectContaining({ code: "CUS-CR-002" }));
      const country = await call(sim, "POST", v3(sim, "/customers"), {
        token,
        body: {
          ...newCustomer("c@acme.example"),
          customerAddress: { street: "1", city: "x", state: "FL", zip: "1", country: "United States" },
        },
      });
      expect(country.status).toBe(400);
    });

    it("PUT replaces the whole customer (absent optional fields are cleared) and bumps updateTime", async () => {
      const c = sim.control.customers()[5]!;
      const before = c.updateTime;
      sim.control.advanceClock(60_000);
      const body = {
        name: `accounts/${sim.accountId}/customers/${c.id}`,
        ...newCustomer(c.customerEmail),
        customerOrganization: "Renamed Org LLC",
      };
      delete (body as Record<string, unknown>).customerTitle;
      const r = await call(sim, "PUT", v3(sim, `/customers/${c.id}`), { token, body });
      expect(r.status).toBe(200);
      expect(r.body.customerOrganization).toBe("Renamed Org LLC");
      expect(r.body.customerTitle).toBeUndefined();
      expect(Date.parse(r.body.updateTime)).toBeGreaterThan(before);
      const incomplete = await call(sim, "PUT", v3(sim, `/customers/${c.id}`), { token, body: { customerOrganization: "Only a name" } });
      expect(incomplete.status).toBe(400);
      const other = sim.control.customers()[6]!;
      const stolen = await call(sim, "PUT", v3(sim, `/customers/${c.id}`), { token, body: newCustomer(other.customerEmail) });
      expect(stolen.status).toBe(412);
    });

    it("has no DELETE: 405", async () => {
      const c = sim.control.customers()[1]!;
      const r = await call(sim, "DELETE", v3(sim, `/customers/${c.id}`), { token });
      expect(r.status).toBe(405);
      expect(sim.control.getCustomer(c.id)).toBeDefined();
    });
  });

  describe("portal-side customer edits (control)", () => {
    it("updateCustomer changes what the API returns, bumps updateTime, and can set the tenant", async () => {
      const c = sim.control.customers().find((x) => x.cloudProfiles.length === 0) ?? sim.control.customers()[9]!;
      const before = (await call(sim, "GET", v3(sim, `/customers/${c.id}`), { token })).body;
      sim.control.updateCustomer(c.id, {
        customerOrganization: "Portal Renamed Pty Ltd",
        customerAddress: { city: "Perth" },
        tenantId: "11111111-2222-4333-8444-555555555555",
        tenantDomain: "renamed.onmicrosoft.com",
      });
      const after = (await call(sim, "GET", v3(sim, `/customers/${c.id}`), { token })).body;
      expect(after.customerOrganization).toBe("Portal Renamed Pty Ltd");
      expect(after.customerAddress).toStrictEqual({ ...before.customerAddress, city: "Perth" });
      expect(Date.parse(after.updateTime)).toBeGreaterThan(Date.parse(before.updateTime));
      const profiles = (await call(sim, "GET", v3(sim, `/customers/${c.id}/cloudProfiles`), { token })).body;
      expect(profiles.customerCloudProfiles[0]).toMatchObject({
        customerTenantId: "11111111-2222-4333-8444-555555555555",
        customerDomain: "renamed.onmicrosoft.com",
      });
      expect(() => sim.control.updateCustomer(c.id, { favouriteColour: "blue" })).toThrow(/unknown field/);
    });
  });

  describe("cloud profiles (§4.1)", () => {
    it("returns the Microsoft tenant (GUID + onmicrosoft domain) and an empty list for customers without one", async () => {
      const withTenant = sim.control.customers().find((c) => c.cloudProfiles.length > 0)!;
      const r = await call(sim, "GET", v3(sim, `/customers/${withTenant.id}/cloudProfiles`), { token });
      expect(r.status).toBe(200);
      expect(r.body.customerId).toBe(withTenant.id);
      expect(r.body.customerCloudProfiles[0]).toMatchObject({
        providerId: "30",
        customerTenantId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        customerDomain: expect.stringMatching(/\.onmicrosoft\.com$/),
        enabled: true,
      });
      const legacy = await call(sim, "GET", v3(sim, `/customers/${withTenant.id}/cloudProfile?providerId=30`), { token });
      expect(legacy.body.customerTenantId).toBe(withTenant.cloudProfiles[0]!.customerTenantId);
      const noProvider = await call(sim, "GET", v3(sim, `/customers/${withTenant.id}/cloudProfile`), { token });
      expect(noProvider.status).toBe(400);
      const without = sim.control.customers().find((c) => c.cloudProfiles.length === 0)!;
      const empty = await call(sim, "GET", v3(sim, `/customers/${without.id}/cloudProfiles`), { token });
      expect(empty.body.customerCloudProfiles).toStrictEqual([]);
    });
  });
});
