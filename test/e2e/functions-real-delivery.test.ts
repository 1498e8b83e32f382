/**
 * A delivery in the shape Microsoft documents (test/support/webhook-samples/, from
 * https://learn.microsoft.com/power-apps/developer/data-platform/use-webhooks), posted with the headers
 * the same page lists, is accepted by the functions app and acted on. Its OrganizationName ("OrgName")
 * has nothing to do with the environment URL, as in a tenant: the app identifies the organization by
 * OrganizationId and the domain of its web application (RetrieveCurrentOrganization).
 */
import { randomUUID } from "node:crypto";

import sample from "../support/webhook-samples/use-webhooks-update-contact.json";
import { all, createConnection, type FunctionsWorld, startFunctionsWorld } from "../support/world";

jest.setTimeout(60_000);

type Json = Record<string, unknown>;

/** Microsoft's sample retargeted at a connector row of this environment: same keys, same value shapes. */
function retarget(o: { connectionId: string; userId: string; organizationId: string; now: number }): Json {
  const text = JSON.stringify(sample)
    .replaceAll("6d81597f-0f9f-e711-8122-000d3aa2331c", o.connectionId)
    .replaceAll("75c2dd85-e89e-e711-8122-000d3aa2331c", o.userId)
    .replaceAll("4ef5b371-e89e-e711-8122-000d3aa2331c", o.organizationId)
    .replaceAll("4af10637-4ea2-e711-8122-000d3aa2331c", randomUUID())
    .replaceAll("b374239d-4233-41a9-8b17-a86cb4f737b5", randomUUID())
    .replaceAll('"contact"', '"w365_providerconnection"')
    .replaceAll('"contactid"', '"w365_providerconnectionid"')
    .replaceAll("1506409448000-0700", `${o.now}-0700`);
  return JSON.parse(text) as Json;
}

describe("a webhook delivery shaped as Microsoft documents it", () => {
  let world: FunctionsWorld;
  let connectionId: string;

  beforeAll(async () => {
    world = await startFunctionsWorld({ customers: 1 });
    connectionId = await createConnection(world);
    await world.idle();
  });
  afterAll(async () => {
    await world?.close();
  });

  it("is accepted and verifies the connector", async () => {
    const organization = await world.dv.retrieveCurrentOrganization();
    const admin = await world.admin.whoAmI();
    const delivery = retarget({ connectionId, userId: admin.UserId, organizationId: organization.organizationId, now: Date.now() });
    expect(delivery.OrganizationName).toBe("OrgName");
    expect(organization.uniqueName).not.toBe(organization.urlName);
    const verifiesBefore = (await all(world.dv, "w365_syncruns", `_w365_connection_value eq ${connectionId} and w365_kind eq 'verify'`))
      .length;

    const res = await fetch(`${world.host.url}/api/dataverse/webhook?code=${encodeURIComponent(world.webhookKey)}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-ms-dynamics-organization": String(organization.domain),
        "x-ms-dynamics-entity-name": "w365_providerconnection",
        "x-ms-dynamics-request-name": "Update",
        "x-ms-correlation-request-id": String(delivery.CorrelationId),
      },
      body: JSON.stringify(delivery),
    });
    const body = (await res.json()) as Json;
    expect({ status: res.status, body }).toMatchObject({ status: 200, body: { message: "New credentials verified.", connectionId } });

    await world.idle();
    const verifies = await all<Json>(world.dv, "w365_syncruns", `_w365_connection_value eq ${connectionId} and w365_kind eq 'verify'`);
    expect(verifies).toHaveLength(verifiesBefore + 1);
    expect(verifies.map((r) => r.w365_trigger)).toContain("webhook");
  });

  it("is refused with 403 when the header names another domain than the organization's web application", async () => {
    const organization = await world.dv.retrieveCurrentOrganization();
    const admin = await world.admin.whoAmI();
    const delivery = retarget({ connectionId, userId: admin.UserId, organizationId: organization.organizationId, now: Date.now() });
    const res = await fetch(`${world.host.url}/api/dataverse/webhook?code=${encodeURIComponent(world.webhookKey)}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-ms-dynamics-organization": "fabrikam.crm.dynamics.com" },
      body: JSON.stringify(delivery),
    });
    expect(res.status).toBe(403);
  });
});
