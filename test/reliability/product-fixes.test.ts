/**
 * Pins for product bugs the reliability suite found (see REPORT.md, "Bugs found and fixed").
 */
import { checkOrganization, WebhookOriginError } from "../../functions/webhookSecurity";
import { startDataverseEmulator } from "../../sandbox/dataverse";
import { MAX_FILTER_CONDITIONS, MAX_FILTER_NESTING, parseFilter } from "../../sandbox/dataverse/odata/filter";
import { DataverseClient } from "../../src/dataverse";

describe("Dataverse emulator", () => {
  it("an injected 429 gives its concurrency slot back (it used to leak until every request was refused)", async () => {
    const emu = await startDataverseEmulator({ faults: { rate429: 0.5, seed: 3 }, serviceProtection: { enabled: true, maxConcurrent: 2 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) {
        const res = await fetch(`${emu.url}/api/data/v9.2/WhoAmI`, { headers: { Authorization: `Bearer ${emu.integrationToken}` } });
        const body = (await res.json()) as { error?: { message?: string } };
        statuses.push(res.status);
        // Sequential requests never exceed a concurrency limit of 2.
        expect(body.error?.message ?? "").not.toMatch(/concurrent/i);
      }
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(5);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(5);
      // And the client gets through with its retries.
      const dv = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.integrationToken }, sleep: async () => undefined });
      await expect(dv.whoAmI()).resolves.toHaveProperty("UserId");
    } finally {
      await emu.close();
    }
  });

  it("a $filter nested or chained beyond the limits is a 400 syntax error, not a stack overflow", () => {
    const deep = `${"(".repeat(MAX_FILTER_NESTING + 1)}name eq 'a'${")".repeat(MAX_FILTER_NESTING + 1)}`;
    expect(() => parseFilter(deep)).toThrow(expect.objectContaining({ status: 400, message: expect.stringContaining("nests deeper") }));
    expect(() => parseFilter(`${"not ".repeat(MAX_FILTER_NESTING + 1)}name eq 'a'`)).toThrow(expect.objectContaining({ status: 400 }));
    const chain = (n: number) => Array.from({ length: n }, (_, i) => `name eq '${i}'`).join(" or ");
    expect(() => parseFilter(chain(MAX_FILTER_CONDITIONS + 1))).toThrow(
      expect.objectContaining({ status: 400, message: expect.stringContaining("conditions") }),
    );
    // What the product sends (50-term chunks, a few levels of parentheses) stays well inside.
    expect(() => parseFilter(chain(50))).not.toThrow();
    expect(() => parseFilter(`${"(".repeat(20)}name eq 'a'${")".repeat(20)}`)).not.toThrow();
  });
});

describe("functions app webhook origin", () => {
  const id = "8d1c3f0e-5b7a-4c21-9f2e-0a1b2c3d4e5f";
  // A real delivery: OrganizationName is the unique name, never the label of the environment URL.
  const ctx = { organizationName: "unq6042beb1a93aef118e4b00224802c0", organizationId: id } as never;

  it("accepts a real delivery whose OrganizationName is the unique name, by its OrganizationId and domain", () => {
    expect(() => checkOrganization("contoso.crm.dynamics.com", ctx, { id, domain: "contoso.crm.dynamics.com" })).not.toThrow();
    expect(() => checkOrganization(null, ctx, { id })).not.toThrow();
  });

  it("refuses another organization's id, and a header naming another domain than the organization's web application", () => {
    expect(() => checkOrganization(null, ctx, { id: "99999999-2222-4333-8444-555555555555" })).toThrow(WebhookOriginError);
    expect(() => checkOrganization("fabrikam.crm.dynamics.com", ctx, { id, domain: "contoso.crm.dynamics.com" })).toThrow(
      WebhookOriginError,
    );
  });
});
