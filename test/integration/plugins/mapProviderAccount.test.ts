/**
 * w365_MapProviderAccount through the real engine (src/sync/mapping.ts) on the Dataverse emulator:
 * the handler decides from the engine's actual answers, not from doubles shaped like them.
 */
import { parseRemoteExecutionContext } from "../../../plugins/context";
import { dispatch } from "../../../plugins/dispatch";
import { type PluginDeps, WebhookRefusedError } from "../../../plugins/types";
import { silentLogger } from "../../../src/shared/logger";
import { MappingStatus, runSync, runVerify } from "../../../src/sync";
import { bindEngine } from "../../../src/sync/engine";
import { entityReference, INTEGRATION_USER, remoteContext } from "../../support/pluginFixtures";
import { all, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;
const PA = "w365_provideraccounts";

describe("w365_MapProviderAccount with the real engine", () => {
  let w: World;
  let deps: PluginDeps;
  let createdFor: string | undefined;
  beforeAll(async () => {
    w = await startWorld({ seed: 31, customers: 12, subscriptionsPerCustomer: 1 });
    await runVerify(w.deps, { connectionId: w.connectionId, trigger: "cli" });
    await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" });
    deps = {
      engine: bindEngine(w.deps),
      dataverse: w.dv,
      queue: { enqueue: async () => Promise.reject(new Error("mapping runs inline: nothing is queued")) },
      integrationUserId: async () => INTEGRATION_USER,
      logger: silentLogger,
      clock: { now: () => Date.now() },
      staleRunMs: 2 * 3600_000,
    };
  });
  afterAll(async () => {
    await w?.close();
  });

  const call = (providerAccountId: string, input: Record<string, unknown>) =>
    dispatch(
      parseRemoteExecutionContext(
        remoteContext({
          message: "w365_MapProviderAccount",
          entity: "w365_provideraccount",
          id: providerAccountId,
          input: { Target: entityReference("w365_provideraccount", providerAccountId), ...input },
        }),
      ),
      deps,
    );
  const rowsWith = async (status: number) =>
    (await all<Row>(w.dv, PA, `w365_mappingstatus eq ${status}`, ["w365_provideraccountid"])).map((r) => String(r.w365_provideraccountid));
  const accountCount = async () => (await all<Row>(w.dv, "accounts", undefined, ["accountid"])).length;
  const mappingOf = (id: string) => w.dv.retrieve<Row>(PA, id, { select: ["w365_mappingstatus", "_w365_account_value"] });

  it("refuses create-new with a 409 naming the likely account, creating nothing; Force then creates and maps it", async () => {
    // A customer the sync matched to an existing account: creating a new one for it is a likely duplicate.
    const id = (await rowsWith(MappingStatus.Mapped))[0]!;
    createdFor = id;
    const before = await accountCount();
    const matched = await w.dv.retrieve<Row>("accounts", String((await mappingOf(id))._w365_account_value), { select: ["name"] });

    const error = (await call(id, { CreateNew: true }).catch((e: unknown) => e)) as WebhookRefusedError;
    expect(error).toBeInstanceOf(WebhookRefusedError);
    expect(error).toMatchObject({ code: "MAP_LIKELY_DUPLICATE", statusCode: 409, hint: "Use Force to create the account anyway." });
    expect(error.message).toMatch(/^No account was created: \d+ existing account\(s\) look like /);
    expect(error.message).toContain(`${String(matched.name)} (`); // the account it already matches, with its score
    expect(await accountCount()).toBe(before);
    const untouched = await mappingOf(id);
    expect(untouched.w365_mappingstatus).toBe(MappingStatus.Mapped);

    const forced = await call(id, { CreateNew: true, Force: true });
    expect(forced.status).toBe(200);
    const result = forced.body.result as { outcome: string; accountId: string };
    expect(result).toMatchObject({ providerAccountId: id, action: "create", outcome: "created" });
    expect(await accountCount()).toBe(before + 1);
    expect(result.accountId).not.toBe(untouched._w365_account_value);
    expect(await mappingOf(id)).toMatchObject({ w365_mappingstatus: MappingStatus.Mapped, _w365_account_value: result.accountId });
  });

  it("maps, ignores and unmaps with 200 and the engine's outcome", async () => {
    const id = (await rowsWith(MappingStatus.Mapped)).find((r) => r !== createdFor);
    const [account] = await all<Row>(w.dv, "accounts", undefined, ["accountid"]);
    const accountId = String(account!.accountid);

    const mapped = await call(id!, { AccountId: accountId });
    expect(mapped).toMatchObject({ status: 200, body: { action: "map", result: { outcome: "mapped", accountId } } });
    expect(await mappingOf(id!)).toMatchObject({ w365_mappingstatus: MappingStatus.Mapped, _w365_account_value: accountId });

    const ignored = await call(id!, { Action: "ignore" });
    expect(ignored).toMatchObject({ status: 200, body: { result: { outcome: "ignored" } } });
    expect((await mappingOf(id!)).w365_mappingstatus).toBe(MappingStatus.Ignored);

    const unmapped = await call(id!, { Action: "unmap" });
    expect(unmapped).toMatchObject({ status: 200, body: { result: { outcome: "unmapped" } } });
    expect(await mappingOf(id!)).toMatchObject({ w365_mappingstatus: MappingStatus.Unmapped, _w365_account_value: null });
    // The answer never carries the candidate list (only a refused create has one).
    for (const o of [mapped, ignored, unmapped]) expect(o.body.result).not.toHaveProperty("candidates");
  });
});
