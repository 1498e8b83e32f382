// The hand-over from the mapping web resource to the control's mapping view: the note in sessionStorage (written by
// the page, taken once by the control), and where the page sends the admin.
import {
  appIdFromAppUrl,
  connectionIdFromLocation,
  connectorFormUrl,
  MAPPING_HANDOFF_KEY,
  MAPPING_HANDOFF_MAX_AGE_MS,
  takeMappingHandoff,
  writeMappingHandoff,
} from "../../../ui-shared/mappingLink";
import { start } from "../../../webresources/mapping";

const ID = "0f8fad5b-d9cb-469f-a165-70867728950e";

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

describe("mapping hand-over", () => {
  it("reads the connector id from ?data= (openWebResource) or ?id=, braces and case aside", () => {
    expect(connectionIdFromLocation(`?data=${encodeURIComponent(`{${ID.toUpperCase()}}`)}`)).toBe(ID);
    expect(connectionIdFromLocation(`?id=${ID}`)).toBe(ID);
    expect(connectionIdFromLocation("?data=not-a-guid")).toBeUndefined();
    expect(connectionIdFromLocation("")).toBeUndefined();
  });

  it("is taken once, for one connector or for all, and not when stale or unreadable", () => {
    const sessionStorage = new MemoryStorage();
    const host = { sessionStorage };
    expect(writeMappingHandoff(host, ID, 1_000)).toBe(true);
    expect(takeMappingHandoff(host, 2_000)).toStrictEqual({ connectorId: ID });
    expect(takeMappingHandoff(host, 2_000)).toBeUndefined();
    writeMappingHandoff(host, undefined, 1_000);
    expect(takeMappingHandoff(host, 1_000)).toStrictEqual({});
    writeMappingHandoff(host, ID, 1_000);
    expect(takeMappingHandoff(host, 1_000 + MAPPING_HANDOFF_MAX_AGE_MS + 1)).toBeUndefined();
    expect(sessionStorage.items.has(MAPPING_HANDOFF_KEY)).toBe(false);
    sessionStorage.setItem(MAPPING_HANDOFF_KEY, "{not json");
    expect(takeMappingHandoff(host)).toBeUndefined();
    const blocked = {
      get sessionStorage(): MemoryStorage {
        throw new Error("SecurityError");
      },
    };
    expect(writeMappingHandoff(blocked, ID)).toBe(false);
    expect(takeMappingHandoff(blocked)).toBeUndefined();
    expect(takeMappingHandoff(undefined)).toBeUndefined();
  });

  it("builds the connector form's documented address", () => {
    expect(connectorFormUrl("https://contoso.crm.dynamics.com/", "w365_providerconnection", ID)).toBe(
      `https://contoso.crm.dynamics.com/main.aspx?pagetype=entityrecord&etn=w365_providerconnection&id=${ID}`,
    );
    expect(connectorFormUrl("https://contoso.crm.dynamics.com", "w365_providerconnection", undefined)).toBe(
      "https://contoso.crm.dynamics.com/main.aspx?pagetype=entityrecord&etn=w365_providerconnection",
    );
  });
});

describe("mapping web resource (the link page)", () => {
  const location = (search: string) => ({ search, origin: "https://contoso.crm.dynamics.com", replace: jest.fn() });

  it("inside the app: leaves the note and asks the app to open the connector form", async () => {
    const sessionStorage = new MemoryStorage();
    const openForm = jest.fn(async () => ({}));
    const loc = location(`?data=${ID}`);
    const url = start(
      {
        location: loc,
        sessionStorage: sessionStorage as unknown as Storage,
        parent: { Xrm: { Navigation: { openForm }, Utility: { getGlobalContext: () => ({ getClientUrl: () => "https://org.example" }) } } },
      },
      null,
    );
    await Promise.resolve();
    expect(openForm).toHaveBeenCalledWith({ entityName: "w365_providerconnection", entityId: ID });
    expect(loc.replace).not.toHaveBeenCalled();
    expect(url).toBe(`https://org.example/main.aspx?pagetype=entityrecord&etn=w365_providerconnection&id=${ID}`);
    expect(takeMappingHandoff({ sessionStorage })).toStrictEqual({ connectorId: ID });
  });

  it("inside the app: the fallback link stays in the admin's app (its appid from getCurrentAppUrl)", () => {
    const APP = "12fd1cf3-e06e-e911-a95f-000d3a13c42a";
    const context = { getClientUrl: () => "https://org.example", getCurrentAppUrl: () => `https://org.example/main.aspx?appid=${APP}` };
    const url = start(
      {
        location: location(`?data=${ID}`),
        sessionStorage: new MemoryStorage() as unknown as Storage,
        parent: { Xrm: { Navigation: { openForm: async () => ({}) }, Utility: { getGlobalContext: () => context } } },
      },
      null,
    );
    expect(url).toBe(`https://org.example/main.aspx?appid=${APP}&pagetype=entityrecord&etn=w365_providerconnection&id=${ID}`);
    // The mobile client answers null; an app URL without a well-formed id adds nothing.
    expect(appIdFromAppUrl(null)).toBeUndefined();
    expect(appIdFromAppUrl("https://org.example/main.aspx?appid=not-a-guid")).toBeUndefined();
    expect(appIdFromAppUrl(`https://org.example/main.aspx?appid=%7B${APP.toUpperCase()}%7D`)).toBe(APP);
  });

  it("on its own (a bookmark, no Xrm): goes to the connector form's address", () => {
    const sessionStorage = new MemoryStorage();
    const loc = location("");
    start({ location: loc, sessionStorage: sessionStorage as unknown as Storage }, null);
    expect(loc.replace).toHaveBeenCalledWith(
      "https://contoso.crm.dynamics.com/main.aspx?pagetype=entityrecord&etn=w365_providerconnection",
    );
    expect(takeMappingHandoff({ sessionStorage })).toStrictEqual({});
  });

  it("falls back to the address when the app refuses to open the form", async () => {
    const loc = location(`?id=${ID}`);
    start({ location: loc, Xrm: { Navigation: { openForm: () => Promise.reject(new Error("no form")) } } }, null);
    await new Promise((r) => setTimeout(r, 0));
    expect(loc.replace).toHaveBeenCalledWith(
      `https://contoso.crm.dynamics.com/main.aspx?pagetype=entityrecord&etn=w365_providerconnection&id=${ID}`,
    );
  });
});
