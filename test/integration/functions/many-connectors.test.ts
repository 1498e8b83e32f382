/**
 * Many connectors on one Functions app: the timer queues every due connector, and each connector's sync
 * runs on its own Dataverse lane and Ion transport. One connector's Ion account answers 429 (the Ion
 * simulator's fault rule), another connector's sync gets a Dataverse 429 with Retry-After (the emulator's
 * throttleRequests); while both are held in their Retry-After pauses, a third connector's sync finishes and a
 * webhook delivery (Verify Connectivity on the Dataverse-throttled connector itself) is answered. Ordering
 * only: the pauses are sleeps the test holds until it releases them, so nothing depends on the wall clock.
 * With one shared pause for the app, the third sync and the webhook would wait behind the held Retry-After
 * (the test then fails on the third held pause it sees).
 */
import { type DataverseEmulator } from "../../../sandbox/dataverse";
import { type FunctionsHost, startFunctionsHost } from "../../../sandbox/functions-host";
import { type IonSimulator, startIonSimulator } from "../../../sandbox/ion";
import { DataverseClient } from "../../../src/dataverse";
import { memoryLogger } from "../../../src/shared/logger";
import { bindEngine } from "../../../src/sync/engine";
import { ConnectionStatus } from "../../../src/sync/schema";
import { connectionRow, startSolutionEmulator } from "../../support/world";

jest.setTimeout(120_000);

/** Retry-After values chosen apart so a held pause says whose it is. */
const ION_RETRY_AFTER_S = 30;
const DATAVERSE_RETRY_AFTER_S = 60;
const HELD_FROM_MS = 10_000;

interface Held {
  ms: number;
  service: "ion" | "dataverse";
  release: () => void;
}

describe("many connectors on one Functions app", () => {
  let emu: DataverseEmulator;
  let ions: IonSimulator[];
  let host: FunctionsHost;
  let admin: DataverseClient;
  let dv: DataverseClient;
  const events: string[] = [];
  const held: Held[] = [];
  let onHeld: () => void = () => undefined;
  let released = false;

  /** Short waits pass (5 ms); a Retry-After pause is held until the test releases it. */
  const sleep = (ms: number): Promise<void> => {
    if (ms < HELD_FROM_MS || released) return new Promise((r) => setTimeout(r, 5));
    return new Promise<void>((release) => {
      const service = ms > (ION_RETRY_AFTER_S + 1) * 1000 ? "dataverse" : "ion";
      held.push({ ms, service, release });
      events.push(`pause:${service}`);
      onHeld();
    });
  };

  const ids: string[] = [];
  const laneRequests = new Map<string, number>();
  const finished = new Map<string, () => void>();
  const whenFinished = (connectionId: string) => new Promise<void>((r) => finished.set(connectionId, r));

  beforeAll(async () => {
    ions = await Promise.all(
      ["1000201", "1000202", "1000203"].map((accountId, i) =>
        startIonSimulator({
          seed: 21 + i,
          customers: 3,
          subscriptionsPerCustomer: 1,
          accountId,
          orderProcessing: { mode: "auto", delayMs: 0 },
        }),
      ),
    );
    emu = await startSolutionEmulator();
    const webhookKey = "many-connectors-key-0123456789";
    const root = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.integrationToken }, sleep });
    let armed = false;
    host = await startFunctionsHost({
      dataverseUrl: emu.url,
      dataverseToken: emu.integrationToken,
      webhookKey,
      logger: memoryLogger(),
      retryDelayMs: () => 5,
      runtime: {
        dataverse: root,
        laneHooks: ({ name }) => ({ onRequest: () => laneRequests.set(name, (laneRequests.get(name) ?? 0) + 1) }),
        sync: { sleep },
        engine: (deps) => {
          const engine = bindEngine(deps);
          const arm = (connectionId: string) => {
            if (connectionId === ids[1] && !armed) {
              armed = true;
              // Connector B's first request (its opening $batch names its row) meets the user's limit.
              const b = ids[1]!;
              emu.throttleRequests({
                match: (r) => r.method === "POST" && r.url.includes("$batch") && r.body.includes(b),
                times: 1,
                retryAfterSeconds: DATAVERSE_RETRY_AFTER_S,
              });
            }
          };
          const ended = (connectionId: string, status: string) => {
            events.push(`sync:${ids.indexOf(connectionId)}:${status}`);
            finished.get(connectionId)?.();
          };
          return {
            ...engine,
            runSync: async (o) => {
              arm(o.connectionId);
              const summary = await engine.runSync(o);
              ended(o.connectionId, summary.status);
              return summary;
            },
            // The queue worker runs a queued sync as work items; the run ends with the item that does not hand off.
            runSyncWorkItem: async (item, delivery, budget, o) => {
              arm(item.connectionId);
              const outcome = await engine.runSyncWorkItem(item, delivery, budget, o);
              if (outcome.outcome === "ran" && !outcome.next) ended(item.connectionId, outcome.summary.status);
              return outcome;
            },
          };
        },
      },
    });
    emu.setEnvironmentVariable("w365_FunctionsBaseUrl", host.url);
    emu.setEnvironmentVariable("w365_FunctionsWebhookKey", webhookKey);
    // Every connector is due at once (the solution's default schedule is 02:00 daily).
    emu.setEnvironmentVariable("w365_DefaultSyncSchedule", "* * * * * *");
    admin = new DataverseClient({
      url: emu.url,
      auth: { kind: "static", token: emu.issueToken({ name: "Connector Admin", fieldSecurity: true }) },
    });
    dv = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.integrationToken } });
    for (const ion of ions)
      ids.push(await admin.create("w365_providerconnections", { ...connectionRow(ion), w365_name: `Ion ${ion.accountId}` }));
    for (let i = 0; i < 5; i++) {
      await emu.whenIdle();
      await host.whenIdle();
    }
  });

  afterAll(async () => {
    released = true;
    held.forEach((h) => h.release());
    await host?.whenIdle().catch(() => undefined);
    await host?.close();
    await emu?.close();
    await Promise.all((ions ?? []).map((i) => i.close()));
  });

  it("pauses only the throttled connectors; another connector's sync and a webhook go on meanwhile", async () => {
    const statuses = await Promise.all(ids.map((id) => dv.retrieve<{ w365_status: number }>("w365_providerconnections", id)));
    expect(statuses.map((s) => s.w365_status)).toStrictEqual(ids.map(() => ConnectionStatus.Connected));

    // Connector A's Ion account refuses its first customer page.
    ions[0]!.control.setFaults({
      rules: [
        {
          kind: "status",
          status: 429,
          retryAfterSeconds: ION_RETRY_AFTER_S,
          method: "GET",
          path: "^/api/v3/accounts/[^/]+/customers$",
          requests: [1],
        },
      ],
    });
    const bothHeld = new Promise<void>((resolve, reject) => {
      onHeld = () => {
        if (held.length > 2) reject(new Error(`a third caller waited on a Retry-After: ${JSON.stringify(held.map((h) => h.service))}`));
        else if (held.some((h) => h.service === "ion") && held.some((h) => h.service === "dataverse")) resolve();
      };
    });
    const cDone = whenFinished(ids[2]!);

    // The schedule ticks every second: a connector created in the current second has no occurrence since then yet.
    const created = await Promise.all(ids.map((id) => dv.retrieve<{ createdon: string }>("w365_providerconnections", id)));
    const nextSecond = Math.floor(Math.max(...created.map((c) => Date.parse(c.createdon))) / 1000) * 1000 + 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextSecond - Date.now() + 20)));
    const report = (await host.runTimer("scheduledSync")) as { queued: { connectionId: string }[]; failed: unknown[] };
    expect(report.failed).toStrictEqual([]);
    expect(report.queued.map((q) => q.connectionId).sort()).toStrictEqual([...ids].sort());

    await bothHeld;
    // A third pause (anyone waiting behind A's or B's Retry-After) fails here instead of hanging.
    const thirdPause = new Promise<never>((_, reject) => {
      onHeld = () => reject(new Error(`a third caller waited on a Retry-After: ${JSON.stringify(held.map((h) => h.service))}`));
    });
    await Promise.race([cDone, thirdPause]);
    events.push("sync:2:observed");

    // A webhook delivery while B's sync is paused: Verify Connectivity on B goes through the webhooks' lane.
    await Promise.race([
      admin.executeAction("w365_VerifyConnectivity", {}, { entitySet: "w365_providerconnections", id: ids[1]! }),
      thirdPause,
    ]);
    events.push("webhook:verify-B-answered");
    expect(held.filter((h) => h.service === "ion")).toHaveLength(1);
    expect(held.filter((h) => h.service === "dataverse")).toHaveLength(1);
    const verified = await dv.retrieve<{ w365_status: number }>("w365_providerconnections", ids[1]!);
    expect(verified.w365_status).toBe(ConnectionStatus.Connected);

    events.push("release");
    const aDone = whenFinished(ids[0]!);
    const bDone = whenFinished(ids[1]!);
    released = true;
    held.forEach((h) => h.release());
    await Promise.all([aDone, bDone]);
    await host.whenIdle();

    // Before the release: both pauses held, C's sync done, the webhook answered; A and B finish only after it.
    const cut = events.indexOf("release");
    expect(events.slice(0, cut).sort()).toStrictEqual(
      ["pause:dataverse", "pause:ion", "sync:2:observed", "sync:2:succeeded", "webhook:verify-B-answered"].sort(),
    );
    expect(events.indexOf("sync:2:succeeded")).toBeLessThan(events.indexOf("webhook:verify-B-answered"));
    expect(events.slice(cut + 1).sort()).toStrictEqual(["sync:0:succeeded", "sync:1:succeeded"]);
    // The 429s really came from the services: Ion A's rule fired once, the emulator's rule once.
    expect(ions[0]!.control.counters()["GET /api/v3/accounts/{A}/customers"]).toBeGreaterThanOrEqual(2);
    expect(host.runtime.dataverse.stats().throttled).toBe(0);
    expect(host.runtime.connectorDataverse(ids[1]!).stats().throttled).toBe(1);
    expect(host.runtime.connectorDataverse(ids[2]!).stats().throttled).toBe(0);
  });
  it("runs an outbound change on its connector's lane once its subscription is read", async () => {
    const c = ids[2]!;
    const subscriptionId = await dv.create("w365_providersubscriptions", {
      w365_name: "Outbound on its lane",
      w365_ionsubscriptionid: "lane-test-1",
      "w365_connection@odata.bind": `/w365_providerconnections(${c})`,
      w365_requestedquantity: 7,
    });
    const before = new Map(laneRequests);
    await host.runtime.engine.runOutboundForSubscription({ subscriptionId, trigger: "webhook" });
    const delta = (name: string) => (laneRequests.get(name) ?? 0) - (before.get(name) ?? 0);
    // One read of the subscription on the shared outbound lane; the connector's work on its own lane.
    expect(delta("outbound")).toBe(1);
    expect(delta(`connector:${c}`)).toBeGreaterThan(1);
    expect(delta(`connector:${ids[0]!}`) + delta(`connector:${ids[1]!}`)).toBe(0);
  });
});
