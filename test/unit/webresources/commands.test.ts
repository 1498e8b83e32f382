import { XrmMockGenerator } from "xrm-mock";

import { type CommandDeps, describeRun, runSync, runVerify, syncAccounts, syncSubscriptions, verify } from "../../../webresources/commands";
import { FakeCustomApis, FakeRecords, paramValues } from "./fakes";

const CONN = "22222222-2222-4222-8222-222222222222";

function deps(records: FakeRecords, apis: FakeCustomApis) {
  const notes: string[] = [];
  const d: CommandDeps = {
    records,
    execute: apis.execute,
    notify: (level, message) => notes.push(`${level}: ${message}`),
    poll: { sleep: async () => undefined, intervalMs: 1 },
  };
  return { d, notes };
}

describe("W365.StreamOne.Commands", () => {
  it("Sync Provider Accounts reports progress and the final counts as notifications", async () => {
    const records = new FakeRecords();
    const apis = new FakeCustomApis();
    let polls = 0;
    apis.handlers.w365_SyncProviderAccounts = (call) => {
      records.tables.w365_syncrun = [
        { w365_requestid: paramValues(call).RequestId, w365_status: "running", w365_progress: '{"done":1,"total":2}' },
      ];
      records.onRead = () => {
        if (++polls === 2)
          Object.assign(records.tables.w365_syncrun![0]!, {
            w365_status: "partial",
            w365_created: 1,
            w365_failed: 1,
            w365_message: "1 customer failed",
          });
      };
      return {};
    };
    const { d, notes } = deps(records, apis);
    const run = await runSync(d, CONN, "w365_SyncProviderAccounts");
    expect(run?.status).toBe("partial");
    expect(notes).toStrictEqual([
      "INFO: Sync Provider Accounts: starting…",
      "INFO: Sync Provider Accounts: running. 1 of 2 processed. Created 0, updated 0, unchanged 0, failed 0.",
      "WARNING: Sync Provider Accounts finished with errors. Created 1, updated 0, unchanged 0, failed 1. 1 customer failed",
    ]);
  });

  it("a sync that cannot start is an error notification", async () => {
    const apis = new FakeCustomApis();
    apis.handlers.w365_SyncSubscriptions = () => {
      throw new Error("Verify Connectivity first.");
    };
    const { d, notes } = deps(new FakeRecords(), apis);
    await expect(runSync(d, CONN, "w365_SyncSubscriptions")).resolves.toBeUndefined();
    expect(notes.at(-1)).toBe("ERROR: Sync Subscriptions could not start: Verify Connectivity first.");
  });

  it("Verify Connectivity tells which credential failed", async () => {
    const records = new FakeRecords();
    records.tables.w365_providerconnection = [{ w365_providerconnectionid: CONN, w365_name: "Main" }];
    const apis = new FakeCustomApis();
    apis.handlers.w365_VerifyConnectivity = () => {
      Object.assign(records.tables.w365_providerconnection![0]!, {
        w365_status: 365000003,
        w365_statusmessage: "The refresh token has expired.",
        w365_lastverifiedon: "2026-11-27T10:00:00Z",
      });
      return {};
    };
    const { d, notes } = deps(records, apis);
    await runVerify(d, CONN);
    expect(notes.at(-1)).toBe("ERROR: Credentials expired: The refresh token has expired. Paste a new refresh token.");
  });

  it("describes a failed run with the engine's message", () => {
    expect(
      describeRun("Sync Subscriptions", {
        id: "r",
        kind: "subscriptions",
        status: "failed",
        requestId: "q",
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: 0,
        message: "Ion returned 503",
      }),
    ).toStrictEqual({ level: "ERROR", message: "Sync Subscriptions failed. Ion returned 503" });
  });
});

describe("W365.StreamOne.Commands on the connector form", () => {
  afterEach(() => jest.restoreAllMocks());

  /** An existing connector's form as Xrm shows it; `edited` types a new name without saving. */
  function connectorForm(o: { edited: boolean; id?: string | null }) {
    XrmMockGenerator.initialise({ entity: { id: `{${CONN.toUpperCase()}}`, entityName: "w365_providerconnection" } });
    XrmMockGenerator.Attribute.createString({ name: "w365_name", value: "Main" });
    if (o.edited) XrmMockGenerator.getFormContext().getAttribute("w365_name")?.setValue("Main (renamed)");
    const form = XrmMockGenerator.getFormContext();
    const notes: string[] = [];
    jest.spyOn(form.ui, "setFormNotification").mockImplementation((message: string, level: Xrm.FormNotificationLevel) => {
      notes.push(`${level}: ${message}`);
      return true;
    });
    const executed = jest.spyOn(Xrm.WebApi.online, "execute");
    const read = jest.spyOn(Xrm.WebApi, "retrieveRecord");
    const refreshed = jest.spyOn(form.data, "refresh").mockResolvedValue(undefined as never);
    if (o.id === null) jest.spyOn(form.data.entity, "getId").mockReturnValue("");
    return { form, notes, executed, read, refreshed };
  }

  it.each([
    ["Verify Connectivity", verify],
    ["Sync Provider Accounts", syncAccounts],
    ["Sync Subscriptions", syncSubscriptions],
  ])(
    "%s refuses to run while the form has unsaved changes, and neither calls Dataverse nor refreshes (which would discard them)",
    async (_, command) => {
      const { form, notes, executed, read, refreshed } = connectorForm({ edited: true });
      expect(form.data.entity.getIsDirty()).toBe(true);
      await command(form);
      expect(notes).toStrictEqual(["WARNING: Save your changes before running this command."]);
      expect(executed).not.toHaveBeenCalled();
      expect(read).not.toHaveBeenCalled();
      expect(refreshed).not.toHaveBeenCalled();
      expect(form.getAttribute("w365_name")?.getValue()).toBe("Main (renamed)");
    },
  );

  it("asks for a first save on a connector that was never saved", async () => {
    const { form, notes, executed } = connectorForm({ edited: false, id: null });
    await verify(form);
    expect(notes).toStrictEqual(["WARNING: Save the connector first."]);
    expect(executed).not.toHaveBeenCalled();
  });

  it("runs on a saved, unchanged form and refreshes it afterwards", async () => {
    const { form, notes, read, refreshed } = connectorForm({ edited: false });
    read.mockRejectedValue(new Error("The connector is deactivated."));
    await verify(form);
    expect(read).toHaveBeenCalled();
    expect(notes[0]).toBe("INFO: Verifying connectivity…");
    expect(notes.at(-1)).toMatch(/^ERROR: Verification failed: .*deactivated/);
    expect(refreshed).toHaveBeenCalledWith(false);
  });
});
