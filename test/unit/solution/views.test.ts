/**
 * The model-driven views the solution ships (saved queries), read from the solution source with the product's own
 * reader: each view an admin filters by (unmapped and suggested provider accounts, subscriptions needing attention,
 * failed and recent sync runs, active connectors) filters on the choice values the engine writes (src/schema).
 * The Dataverse emulator runs no FetchXML, so the filters are checked as written.
 */
import {
  w365_provideraccount_w365_mappingstatus as MappingStatus,
  w365_providersubscription_w365_syncstate as SyncState,
} from "../../../src/schema";
import { readSolutionSource, type SolutionModel, type ViewDef } from "../../../src/solution";

let model: SolutionModel;
beforeAll(async () => {
  model = await readSolutionSource();
});

function view(table: string, name: string): ViewDef {
  const found = model.tables.find((t) => t.logicalName === table)?.views.find((v) => v.name === name);
  if (!found) throw new Error(`No view "${name}" on ${table}`);
  return found;
}

/** The values a view's filter allows for `attribute` (operator eq or in), as text. */
function allowed(v: ViewDef, attribute: string): string[] {
  const single = new RegExp(`<condition attribute="${attribute}" operator="eq" value="([^"]*)"\\s*/>`).exec(v.fetchXml);
  if (single) return [single[1]!];
  const list = new RegExp(`<condition attribute="${attribute}" operator="in">(.*?)</condition>`, "s").exec(v.fetchXml);
  return list ? [...list[1]!.matchAll(/<value>([^<]*)<\/value>/g)].map((m) => m[1]!) : [];
}

const columns = (v: ViewDef): string[] => [...v.layoutXml.matchAll(/<cell name="([^"]+)"/g)].map((m) => m[1]!);

describe("model-driven views", () => {
  it("provider accounts: Unmapped and Suggested filter on the mapping status the engine writes", () => {
    expect(allowed(view("w365_provideraccount", "Unmapped Provider Accounts"), "w365_mappingstatus")).toEqual([String(MappingStatus.Unmapped)]);
    expect(allowed(view("w365_provideraccount", "Suggested Provider Accounts"), "w365_mappingstatus")).toEqual([
      String(MappingStatus.Suggested),
    ]);
  });

  it("Subscriptions Needing Attention: a change requested, a conflict with Ion, or an error; with the request and the message", () => {
    const v = view("w365_providersubscription", "Subscriptions Needing Attention");
    expect(allowed(v, "w365_syncstate").sort()).toEqual([SyncState.ChangeRequested, SyncState.Conflict, SyncState.Error].map(String).sort());
    expect(columns(v)).toEqual(expect.arrayContaining(["w365_syncstate", "w365_requestedquantity", "w365_requestedstatus", "w365_syncmessage"]));
  });

  it("sync runs: Failed lists failed and partial runs; Recent lists the last 30 days, newest first", () => {
    expect(allowed(view("w365_syncrun", "Failed Sync Runs"), "w365_status").sort()).toEqual(["failed", "partial"]);
    const recent = view("w365_syncrun", "Recent Sync Runs");
    expect(recent.fetchXml).toMatch(/<condition attribute="w365_startedon" operator="last-x-days" value="30"\s*\/>/);
    expect(recent.fetchXml).toMatch(/<order attribute="w365_startedon" descending="true"\s*\/>/);
  });

  it("Active StreamOne Connectors: active connectors only", () => {
    expect(allowed(view("w365_providerconnection", "Active StreamOne Connectors"), "statecode")).toEqual(["0"]);
  });
});
