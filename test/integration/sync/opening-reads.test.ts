/**
 * A fresh full run asks Ion for its first pages while its own run row is still being created
 * (`speculateOpeningReads`, src/sync/sideBySide.ts): the phases then take those answers instead of asking again,
 * so Ion sees the same calls, one round trip earlier.
 */
import { runSync, type SyncDeps } from "../../../src/sync";
import { integrationClient, startWorld, type World } from "../../support/world";

describe("a fresh run's opening Ion reads", () => {
  let w: World;
  let deps: SyncDeps;
  /** Ion calls the simulator saw while the run row's create was held back. */
  let ionCallsDuringCreate: string[] | undefined;

  beforeAll(async () => {
    w = await startWorld({ seed: 52, customers: 12, subscriptionsPerCustomer: 3 });
    const transport: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if ((init?.method ?? "GET") === "POST" && /\/w365_syncruns$/.test(url)) {
        const before = w.ion.control.requestLog().length;
        // The create takes a while (a slow environment): Ion's first pages are asked for meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 300));
        ionCallsDuringCreate = w.ion.control
          .requestLog()
          .slice(before)
          .map((e) => e.endpoint);
      }
      return fetch(input, init);
    };
    const dv = integrationClient(w.emu, { fetch: transport });
    deps = { ...w.deps, dataverse: dv, ion: { customerPageSize: 5, subscriptionPageLimit: 10 } };
  });
  afterAll(async () => {
    await w?.close();
  });

  const listCalls = () =>
    w.ion.control
      .requestLog()
      .filter((e) => e.method === "GET" && /\/(customers|subscriptions)$/.test(e.endpoint))
      .map((e) => e.endpoint);

  it("are sent while the run row is created, and each is asked for once", async () => {
    for (const round of ["first", "second"]) {
      const before = listCalls().length;
      ionCallsDuringCreate = undefined;
      const s = await runSync(deps, { connectionId: w.connectionId, kind: "all", trigger: "schedule" });
      expect(s.status).toBe("succeeded");
      const calls = listCalls().slice(before);
      // Customers in pages of 5 (12: 3 pages) and subscriptions in pages of 10 (36: 4 pages), each once.
      expect({ round, customers: calls.filter((e) => e.endsWith("/customers")).length }).toStrictEqual({ round, customers: 3 });
      expect({ round, subscriptions: calls.filter((e) => e.endsWith("/subscriptions")).length }).toStrictEqual({ round, subscriptions: 4 });
      // Set by the transport meanwhile (the narrowing above does not see it).
      const during = (ionCallsDuringCreate as string[] | undefined) ?? [];
      expect(during.filter((e) => e.endsWith("/customers"))).toHaveLength(1);
      // The first run knows no list shape: its first page only. The second guesses the others from the first's.
      expect(during.filter((e) => e.endsWith("/subscriptions"))).toHaveLength(round === "first" ? 1 : 4);
    }
  });

  it("are not sent for a dry run or a run of one phase", async () => {
    for (const options of [{ kind: "all" as const, dryRun: true }, { kind: "subscriptions" as const }]) {
      ionCallsDuringCreate = undefined;
      await runSync(deps, { connectionId: w.connectionId, trigger: "cli", ...options });
      // The run row was created (the transport saw it), and Ion was not asked anything meanwhile.
      expect(ionCallsDuringCreate).toStrictEqual([]);
    }
  });
});
