/** @jest-environment jsdom */
import "./jsdom-env";

import { act, fireEvent, render, screen, within } from "@testing-library/react";
import * as React from "react";

import { StreamOneAdmin } from "../../../pcf-controls/StreamOneConnector/components/StreamOneAdmin";
import { createConnectorService } from "../../../pcf-controls/StreamOneConnector/services/connectorService";
import { createMappingService } from "../../../pcf-controls/StreamOneConnector/services/mappingService";
import { createLocalizer } from "../../../pcf-controls/StreamOneConnector/services/strings";
import { FakeCustomApis, FakeRecords, paramValues } from "../webresources/fakes";
import { field, fillAndSave } from "./formInput";
import { getString } from "./resx";

const t = createLocalizer(getString);
const formatDate = (d: Date): string => d.toISOString().slice(0, 16).replace("T", " ");

function setUp(seed: (records: FakeRecords, apis: FakeCustomApis) => void = () => undefined, initialMapping?: { connectorId?: string }) {
  const records = new FakeRecords();
  const apis = new FakeCustomApis();
  seed(records, apis);
  const service = createConnectorService({
    records,
    executeCustomApi: apis.execute,
    pollIntervalMs: 1,
    now: () => new Date("2026-11-27T08:00:00Z"),
  });
  const openMapping = jest.fn(createMappingService({ records, execute: apis.execute }));
  const utils = render(
    <StreamOneAdmin service={service} t={t} formatDate={formatDate} createMapping={openMapping} initialMapping={initialMapping} />,
  );
  return { records, apis, openMapping, ...utils };
}

/** The control's mapping view is open for the connector named `name`; its ← Integrations goes back to the list. */
async function expectMappingView(name: string, back = true): Promise<void> {
  expect(await screen.findByRole("heading", { name: "Provider account mapping" })).toBeTruthy();
  expect(await screen.findByText(`Connector: ${name}`)).toBeTruthy();
  if (!back) return;
  fireEvent.click(screen.getByRole("button", { name: "← Integrations" }));
  expect(await screen.findByRole("heading", { name: "Integrations" })).toBeTruthy();
}

async function openGear(name: string) {
  fireEvent.click(await screen.findByRole("button", { name: `Actions for ${name}` }));
}

describe("StreamOneAdmin", () => {
  it("Add New → StreamOne tile → Create → form → Save creates the connector and returns to the list", async () => {
    const { records } = setUp();
    expect(await screen.findByText("No connectors yet. Click Add New to create one.")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Add New" }));
    const tile = await screen.findByTestId("tile-streamone");
    expect(within(tile).getByText("StreamOne")).toBeTruthy();
    fireEvent.click(within(tile).getByRole("button", { name: "Create a StreamOne connector" }));
    expect(field("Name").value).toBe("StreamOne Ion");
    await fillAndSave({
      refreshToken: " rt-secret-1 ",
      apiKey: "key-1",
      apiSecret: "secret-1",
      accountId: "123456",
      country: "us",
      currency: "usd",
    });
    expect(await screen.findByText("Connector StreamOne Ion saved.")).toBeTruthy();
    expect(records.calls.filter((c) => c.op === "create")).toStrictEqual([
      {
        op: "create",
        entity: "w365_providerconnection",
        data: {
          w365_name: "StreamOne Ion",
          w365_apikey: "key-1",
          w365_ionaccountid: "123456",
          w365_country: "US",
          w365_currencycode: "USD",
          w365_refreshtoken: "rt-secret-1",
          w365_refreshtokensavedon: "2026-11-27T08:00:00.000Z",
          w365_apisecret: "secret-1",
          w365_apisecretsavedon: "2026-11-27T08:00:00.000Z",
        },
      },
    ]);
    const row = await screen.findByRole("row", { name: /StreamOne Ion/ });
    expect(within(row).getByText("Not verified")).toBeTruthy();
    // The secret typed in the form is gone from the page once saved.
    expect(document.body.innerHTML).not.toContain("rt-secret-1");
    expect(document.activeElement?.id).toBe("w365-list-title");
  });

  it("gear → Verify Connectivity shows the outcome, the new status and when the refresh token expires", async () => {
    const { records, apis } = setUp((records) => {
      records.tables.w365_providerconnection = [
        { w365_providerconnectionid: "c1", w365_name: "Main", w365_ionaccountid: "42", w365_status: 365000000 },
      ];
    });
    apis.handlers.w365_VerifyConnectivity = () => {
      Object.assign(records.tables.w365_providerconnection![0]!, {
        w365_status: 365000001,
        w365_statusmessage: "Ion v3 and v1 APIs answered.",
        w365_lastverifiedon: "2026-11-27T09:00:00Z",
        w365_refreshtokenexpireson: "2026-12-29T09:00:00Z",
      });
      return {};
    };
    await openGear("Main");
    await act(async () => {
      fireEvent.click(await screen.findByRole("menuitem", { name: "Verify Connectivity" }));
    });
    const activity = screen.getByTestId("activity");
    expect(await within(activity).findByText("Verify Connectivity for Main: connected.")).toBeTruthy();
    expect(within(activity).getByText("Ion v3 and v1 APIs answered.")).toBeTruthy();
    expect(within(activity).getByText("The refresh token expires on 2026-12-29 09:00.")).toBeTruthy();
    const row = screen.getByRole("row", { name: /Main/ });
    expect(within(row).getByText("Connected")).toBeTruthy();
    expect(within(row).getByText("2026-12-29 09:00")).toBeTruthy();
  });

  it("shows a failed verification with Ion's reason", async () => {
    const { records, apis } = setUp((records) => {
      records.tables.w365_providerconnection = [{ w365_providerconnectionid: "c1", w365_name: "Main" }];
    });
    apis.handlers.w365_VerifyConnectivity = () => {
      Object.assign(records.tables.w365_providerconnection![0]!, {
        w365_status: 365000002,
        w365_statusmessage: "API Key or API Secret is wrong (v1 returned 401).",
        w365_lastverifiedon: "2026-11-27T09:00:00Z",
      });
      return {};
    };
    await openGear("Main");
    await act(async () => {
      fireEvent.click(await screen.findByRole("menuitem", { name: "Verify Connectivity" }));
    });
    const activity = screen.getByTestId("activity");
    expect(await within(activity).findByText("Verify Connectivity for Main: failed.")).toBeTruthy();
    // The handler's message names the credential that is wrong.
    expect(within(activity).getByTestId("activity-detail").textContent).toBe("API Key or API Secret is wrong (v1 returned 401).");
    expect(within(screen.getByRole("row", { name: /Main/ })).getByText("Failed")).toBeTruthy();
  });

  it("gear → Sync Provider Accounts starts a run with a RequestId and shows its progress and final counts", async () => {
    const { records, apis } = setUp((records) => {
      records.tables.w365_providerconnection = [{ w365_providerconnectionid: "c1", w365_name: "Main", w365_status: 365000001 }];
    });
    let polls = 0;
    apis.handlers.w365_SyncProviderAccounts = (call) => {
      const requestId = String(paramValues(call).RequestId);
      records.tables.w365_syncrun = [
        {
          w365_syncrunid: "r1",
          w365_requestid: requestId,
          w365_status: "running",
          w365_progress: '{"done":4,"total":10}',
          w365_created: 4,
        },
      ];
      records.onRead = (entity) => {
        if (entity === "w365_syncrun" && ++polls === 3) {
          Object.assign(records.tables.w365_syncrun![0]!, {
            w365_status: "succeeded",
            w365_created: 8,
            w365_updated: 1,
            w365_unchanged: 1,
            w365_failed: 0,
          });
        }
      };
      return {};
    };
    await openGear("Main");
    await act(async () => {
      fireEvent.click(await screen.findByRole("menuitem", { name: "Sync Provider Accounts" }));
    });
    const activity = screen.getByTestId("activity");
    expect(await within(activity).findByText("Sync Provider Accounts finished.")).toBeTruthy();
    expect(within(activity).getByTestId("run-counts").textContent).toBe("Created 8, updated 1, unchanged 1, failed 0.");
    expect(paramValues(apis.calls[0])).toStrictEqual({ RequestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  it("shows the engine's plain-text progress while a run goes, no zero counts, then the counts and the way to the mapping page", async () => {
    const { records, apis, openMapping } = setUp((records) => {
      records.tables.w365_providerconnection = [{ w365_providerconnectionid: "c1", w365_name: "Main", w365_status: 365000001 }];
    });
    let finish = false;
    apis.handlers.w365_SyncProviderAccounts = (call) => {
      const requestId = String(paramValues(call).RequestId);
      // What src/sync/runs.ts writes: progress as text, counts only when the run ends.
      records.tables.w365_syncrun = [
        {
          w365_syncrunid: "r1",
          w365_requestid: requestId,
          w365_status: "running",
          w365_progress: "accounts: 400 Ion customers read",
          w365_created: 0,
        },
      ];
      records.onRead = (entity) => {
        if (entity === "w365_syncrun" && finish) {
          Object.assign(records.tables.w365_syncrun![0]!, { w365_status: "succeeded", w365_progress: "finished", w365_created: 400 });
        }
      };
      return {};
    };
    await openGear("Main");
    await act(async () => {
      fireEvent.click(await screen.findByRole("menuitem", { name: "Sync Provider Accounts" }));
    });
    const activity = screen.getByTestId("activity");
    expect((await within(activity).findByTestId("run-progress")).textContent).toBe("Progress: 400 Ion customers read");
    expect(within(activity).getByText("Step: accounts")).toBeTruthy();
    expect(within(activity).queryByTestId("run-counts")).toBeNull();
    expect(within(activity).queryByRole("button", { name: "Map provider accounts" })).toBeNull();
    finish = true;
    expect(await within(activity).findByText("Sync Provider Accounts finished.")).toBeTruthy();
    expect(within(activity).getByTestId("run-counts").textContent).toBe("Created 400, updated 0, unchanged 0, failed 0.");
    expect(within(activity).queryByTestId("run-progress")).toBeNull();
    fireEvent.click(within(activity).getByRole("button", { name: "Map provider accounts" }));
    await expectMappingView("Main");
    expect(openMapping).toHaveBeenCalled();
  });

  it("a rejected refresh token: the outcome says so and how to replace it, and the list no longer shows an expiry date", async () => {
    const { records, apis } = setUp((records) => {
      records.tables.w365_providerconnection = [
        { w365_providerconnectionid: "c1", w365_name: "Main", w365_status: 365000001, w365_refreshtokenexpireson: "2026-12-29T09:00:00Z" },
      ];
    });
    apis.handlers.w365_VerifyConnectivity = () => {
      Object.assign(records.tables.w365_providerconnection![0]!, {
        w365_status: 365000003,
        w365_statusmessage: "The Refresh Token was rejected by StreamOne Ion (expired or already used).",
        w365_lastverifiedon: "2026-11-27T09:00:00Z",
      });
      return {};
    };
    const row = await screen.findByRole("row", { name: /Main/ });
    expect(within(row).getByText("2026-12-29 09:00")).toBeTruthy();
    await openGear("Main");
    await act(async () => {
      fireEvent.click(await screen.findByRole("menuitem", { name: "Verify Connectivity" }));
    });
    const activity = screen.getByTestId("activity");
    expect(await within(activity).findByText("Verify Connectivity for Main: credentials expired.")).toBeTruthy();
    expect(within(activity).getByTestId("activity-detail").textContent).toBe(
      "The Refresh Token was rejected by StreamOne Ion (expired or already used).",
    );
    expect(within(activity).getByTestId("activity-note").textContent).toMatch(/Replace the Refresh Token/);
    const updated = screen.getByRole("row", { name: /Main/ });
    expect(within(updated).getByText("Credentials expired")).toBeTruthy();
    expect(within(updated).getByText("Rejected: paste a new one")).toBeTruthy();
    expect(within(updated).queryByText("2026-12-29 09:00")).toBeNull();
  });

  it("reports a sync that cannot start", async () => {
    const { apis } = setUp((records) => {
      records.tables.w365_providerconnection = [{ w365_providerconnectionid: "c1", w365_name: "Main" }];
    });
    apis.handlers.w365_SyncSubscriptions = () => {
      throw new Error("Verify Connectivity first.");
    };
    await openGear("Main");
    await act(async () => {
      fireEvent.click(await screen.findByRole("menuitem", { name: "Sync Subscriptions" }));
    });
    expect(await screen.findByText("Sync Subscriptions could not start: Verify Connectivity first.")).toBeTruthy();
  });

  it("opens on the mapping view when the mapping web resource handed the admin over, and goes back to the list", async () => {
    const { records } = setUp(
      (records) => {
        records.tables.w365_providerconnection = [{ w365_providerconnectionid: "6d1f8c2a-3b4e-4f5a-9c8d-7e6f5a4b3c21", w365_name: "Main" }];
        records.tables.w365_provideraccount = [
          {
            w365_provideraccountid: "p1",
            w365_name: "Fabrikam",
            w365_ioncustomerid: "500",
            w365_mappingstatus: 365000000,
            _w365_connection_value: "6d1f8c2a-3b4e-4f5a-9c8d-7e6f5a4b3c21",
          },
        ];
      },
      { connectorId: "6d1f8c2a-3b4e-4f5a-9c8d-7e6f5a4b3c21" },
    );
    expect(await screen.findByRole("button", { name: "Unmapped (1)" })).toBeTruthy();
    expect(screen.getByRole("row", { name: /Fabrikam/ })).toBeTruthy();
    expect(records.calls.some((c) => c.op === "retrieveMultiple" && c.entity === "w365_provideraccount")).toBe(true);
    await expectMappingView("Main");
    // Back on the list, the connector's ⚙️ button has the focus.
    expect(document.activeElement).toBe(await screen.findByRole("button", { name: "Actions for Main" }));
  });

  it("gear → Edit opens the form with stored values and secrets shown as set", async () => {
    const { openMapping } = setUp((records) => {
      records.tables.w365_providerconnection = [
        {
          w365_providerconnectionid: "6d1f8c2a-3b4e-4f5a-9c8d-7e6f5a4b3c21",
          w365_name: "Main",
          w365_apikey: "key-9",
          w365_ionaccountid: "42",
          w365_country: "DE",
          w365_currencycode: "EUR",
          w365_refreshtokensavedon: "2026-11-20T10:00:00Z",
        },
      ];
    });
    await openGear("Main");
    fireEvent.click(await screen.findByRole("menuitem", { name: "Map provider accounts" }));
    await expectMappingView("Main");
    expect(openMapping).toHaveBeenCalled();
    await openGear("Main");
    fireEvent.click(await screen.findByRole("menuitem", { name: "Edit" }));
    expect(field("API Key").value).toBe("key-9");
    expect(field("Country").value).toBe("Germany (DE)");
    expect(screen.getByTestId("refreshToken-status").textContent).toBe("Set on 2026-11-20 10:00");
    expect(screen.getByTestId("apiSecret-status").textContent).toBe("Set");
  });
});
