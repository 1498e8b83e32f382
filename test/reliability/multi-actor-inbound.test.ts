/**
 * Randomised multi-actor inbound runs (seeded). Per run, on one connector, at the same time:
 * - engine instance A runs a full sync (`all`: accounts beside subscriptions, then outbound), instance B an
 *   accounts sync, each its own HTTP client;
 * - the admin (another engine instance, as the custom API runs it) maps, ignores or unmaps provider accounts and
 *   saves quantity requests on subscriptions whose quantity Ion has just changed in its portal, at a random
 *   page of A's run (after A read the rows, before its writes);
 * - Ion loses a customer between two page reads of a random list at a random page.
 * Asserted per run: no admin decision lost (an Ignore stays Ignored, a Map stays on the admin's account, an Unmap
 * is never auto-mapped again), every request saved during the run is still there and meets its conflict check
 * (a Conflict, no order), no row whose Ion record still exists is flagged missing, and the customer Ion lost
 * is. Every run has at least one admin decision and one request, and loses one customer.
 * MULTI_ACTOR_SEEDS (default 3) and MULTI_ACTOR_RUNS (runs per seed, default 2) make a longer run.
 */
import { DataverseClient } from "../../src/dataverse";
import { silentLogger } from "../../src/shared/logger";
import { seededRandom } from "../../src/shared/random";
import { MappingStatus, mapProviderAccount, runOutboundForSubscription, runSync, type SyncDeps, SyncState } from "../../src/sync";
import { ADMIN_UNMAPPED_MARKER } from "../../src/sync/accounts";
import { all, seedCrmAccounts, startWorld, type World } from "../support/world";

const SEEDS = Number(process.env.MULTI_ACTOR_SEEDS ?? 3);
const RUNS = Number(process.env.MULTI_ACTOR_RUNS ?? 2);
const CUSTOMERS = 9;
const PA = "w365_provideraccounts";
const SUBS = "w365_providersubscriptions";

jest.setTimeout(60_000 + SEEDS * RUNS * 30_000);

type Row = Record<string, unknown>;
type Decision = { id: string; action: "map" | "ignore" | "unmap"; accountId?: string };

interface Figures {
  runs: number;
  mappingDecisions: number;
  requests: number;
  requestsDuringRead: number;
  ionDeletions: number;
  deletedFlagged: number;
  skippedChangedByAdmin: number;
  confirmedStillInIon: number;
  decisionsLost: number;
  requestsLost: number;
  wronglyFlaggedMissing: number;
}

function instance(w: World, o: Partial<SyncDeps> = {}): SyncDeps {
  const dataverse = new DataverseClient({ url: w.emu.url, auth: { kind: "static", token: w.emu.integrationToken }, logger: silentLogger });
  return { dataverse, logger: silentLogger, sleep: async () => undefined, ion: { customerPageSize: 3, subscriptionPageLimit: 4 }, ...o };
}

describe("multi-actor inbound: syncs while admins act and Ion changes", () => {
  const figures: Figures = {
    runs: 0,
    mappingDecisions: 0,
    requests: 0,
    requestsDuringRead: 0,
    ionDeletions: 0,
    deletedFlagged: 0,
    skippedChangedByAdmin: 0,
    confirmedStillInIon: 0,
    decisionsLost: 0,
    requestsLost: 0,
    wronglyFlaggedMissing: 0,
  };
  afterAll(() => {
    // The figures test/reliability/multi-actor/inbound.md quotes.
    process.stdout.write(`multi-actor inbound figures: seeds ${SEEDS}, ${JSON.stringify(figures)}\n`);
  });

  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`seed ${seed}: ${RUNS} runs, no admin decision lost, no existing row flagged missing`, async () => {
      const random = seededRandom(seed * 104_729);
      const int = (n: number) => Math.floor(random() * n);
      for (let r = 0; r < RUNS; r++) {
        const w = await startWorld({ seed: seed * 100 + r, customers: CUSTOMERS, subscriptionsPerCustomer: 2, crmAccounts: false });
        try {
          const setup = instance(w);
          await runSync(setup, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" });
          // Half the customers are mapped (so they have subscription rows); then the reseller's accounts arrive.
          const rows = await all<Row>(w.dv, PA, undefined, ["w365_provideraccountid", "w365_ioncustomerid"]);
          for (const row of rows.slice(0, Math.ceil(rows.length / 2)))
            await mapProviderAccount(setup, { providerAccountId: String(row.w365_provideraccountid), action: "create", force: true });
          await runSync(setup, { connectionId: w.connectionId, kind: "subscriptions", trigger: "cli" });
          await seedCrmAccounts(w.dv, seed * 100 + r, CUSTOMERS);
          const accounts = await all<Row>(w.dv, "accounts", undefined, ["accountid"]);

          // The admin's decisions on random provider accounts, and requests on random subscriptions Ion just changed.
          const decisions: Decision[] = [];
          for (const [i, row] of rows.entries()) {
            // At least one decision per run (the last row when the dice chose none), so every run tests the claim.
            if (random() < 0.5 && !(decisions.length === 0 && i === rows.length - 1)) continue;
            const action = (["map", "ignore", "unmap"] as const)[int(3)]!;
            decisions.push({
              id: String(row.w365_provideraccountid),
              action,
              ...(action === "map" ? { accountId: String(accounts[int(accounts.length)]!.accountid) } : {}),
            });
          }
          const subRows = await all<Row>(w.dv, SUBS, "w365_status eq 'active'", [
            "w365_providersubscriptionid",
            "w365_ionsubscriptionid",
            "w365_quantity",
            "_w365_provideraccount_value",
          ]);
          // Row order follows random ids, so the dice can Ignore or Unmap every mapped customer; one of them is
          // then Mapped instead, so that every run also carries a request.
          const stopsOrders = (d: Decision) => d.action !== "map";
          if (
            subRows.length > 0 &&
            subRows.every((s) => decisions.some((d) => stopsOrders(d) && d.id === String(s._w365_provideraccount_value)))
          ) {
            const keep = decisions.find((d) => stopsOrders(d) && d.id === String(subRows[0]!._w365_provideraccount_value))!;
            keep.action = "map";
            keep.accountId = String(accounts[int(accounts.length)]!.accountid);
          }
          // Requests on customers the admin leaves mapped (an Ignore or Unmap rightly stops their orders).
          const decided = new Set(decisions.filter(stopsOrders).map((d) => d.id));
          const eligible = subRows.filter((s) => !decided.has(String(s._w365_provideraccount_value)));
          const chosen = eligible.filter(() => random() < 0.4).slice(0, 3);
          const requests = chosen.length > 0 ? chosen : eligible.slice(0, 1);
          expect(decisions.length).toBeGreaterThan(0);
          expect(requests.length).toBeGreaterThan(0);
          for (const s of requests)
            w.ion.control.updateSubscription(String(s.w365_ionsubscriptionid), { quantity: Number(s.w365_quantity) + 1 + int(3) });
          const adminAt = { phase: random() < 0.5 ? "accounts" : "subscriptions", page: 1 + int(2) };
          // Ion loses a customer (never one the admin or a request touches) between two page reads of a random list.
          const touched = new Set(decisions.map((d) => d.id));
          const requestedCustomers = new Set(
            requests.map((s) => w.ion.control.getSubscription(String(s.w365_ionsubscriptionid))?.customerId),
          );
          const victims = rows.filter(
            (row) => !touched.has(String(row.w365_provideraccountid)) && !requestedCustomers.has(String(row.w365_ioncustomerid)),
          );
          const victim = victims.length > 0 ? String(victims[int(victims.length)]!.w365_ioncustomerid) : undefined;
          expect(victim).toBeDefined();
          if (victim) {
            w.ion.control.afterNextPage(
              random() < 0.5 ? "customers" : "subscriptions",
              () => w.ion.control.removeCustomer(victim, "delete"),
              1 + int(2),
            );
            figures.ionDeletions++;
          }

          const admin = instance(w);
          /** Per request: true when the run had already stored Ion's new value before the admin saved (no conflict to see). */
          const madeAgainstIonValue = new Map<string, boolean>();
          let acted = false;
          const act = async () => {
            acted = true;
            for (const d of decisions)
              await mapProviderAccount(admin, {
                providerAccountId: d.id,
                action: d.action,
                ...(d.accountId ? { accountId: d.accountId } : {}),
              });
            // The form saves onto the version it shows (a 412 reloads it): so it is known which values the request was made against.
            for (const s of requests) {
              const id = String(s.w365_providersubscriptionid);
              for (;;) {
                const shown = await admin.dataverse.retrieve<Row>(SUBS, id);
                try {
                  await admin.dataverse.update(
                    SUBS,
                    id,
                    { w365_requestedquantity: Number(s.w365_quantity) + 10 },
                    { ifMatch: String(shown["@odata.etag"]) },
                  );
                  madeAgainstIonValue.set(id, shown.w365_lastsyncedquantity !== s.w365_quantity);
                  break;
                } catch (error) {
                  if ((error as { statusCode?: number }).statusCode !== 412) throw error;
                }
              }
            }
          };
          const a = instance(w, {
            hooks: {
              afterPage: async ({ phase, page }) => {
                if (!acted && phase === adminAt.phase && page >= adminAt.page) await act();
              },
            },
          });
          const b = instance(w);
          const [runA, runB] = await Promise.all([
            runSync(a, { connectionId: w.connectionId, kind: "all", trigger: "schedule" }),
            runSync(b, { connectionId: w.connectionId, kind: "accounts", trigger: "manual" }),
          ]);
          if (!acted) await act();
          figures.runs++;
          figures.mappingDecisions += decisions.length;
          figures.requests += requests.length;
          figures.requestsDuringRead += [...madeAgainstIonValue.values()].filter((v) => !v).length;
          for (const s of [runA, runB]) {
            figures.skippedChangedByAdmin += s.counts["changed-by-admin"] ?? 0;
            figures.confirmedStillInIon += s.counts["missing-not-confirmed"] ?? 0;
          }
          // Right after the concurrent runs (a later run that lists the row again would clear a wrong flag).
          const ionCustomers = new Set(w.ion.control.customers().map((c) => c.id));
          const ionSubs = new Set(w.ion.control.subscriptions().map((s) => s.id));
          const flaggedAccounts = await all<Row>(w.dv, PA, "w365_missingsince ne null", ["w365_ioncustomerid"]);
          const flaggedSubs = await all<Row>(w.dv, SUBS, "w365_missingsince ne null", ["w365_ionsubscriptionid"]);
          const wrong =
            flaggedAccounts.filter((x) => ionCustomers.has(String(x.w365_ioncustomerid))).length +
            flaggedSubs.filter((x) => ionSubs.has(String(x.w365_ionsubscriptionid))).length;
          figures.wronglyFlaggedMissing += wrong;
          // Each request's own webhook delivery: Ion changed since the last sync, so a Conflict and no order.
          for (const s of requests)
            await runOutboundForSubscription(instance(w), { subscriptionId: String(s.w365_providersubscriptionid), trigger: "webhook" });
          // A later run settles whatever the concurrent ones left; it must not undo the admin either.
          await runSync(instance(w), { connectionId: w.connectionId, kind: "all", trigger: "schedule" });

          let lost = 0;
          for (const d of decisions) {
            const row = await w.dv.retrieve<Row>(PA, d.id);
            const kept =
              d.action === "ignore"
                ? row.w365_mappingstatus === MappingStatus.Ignored
                : d.action === "map"
                  ? row.w365_mappingstatus === MappingStatus.Mapped && row._w365_account_value === d.accountId
                  : row.w365_mappingstatus !== MappingStatus.Mapped && String(row.w365_matchreason ?? "").startsWith(ADMIN_UNMAPPED_MARKER);
            if (!kept) lost++;
          }
          figures.decisionsLost += lost;
          // The customer Ion lost is flagged missing (with its subscriptions' rows, when it had any).
          const victimRow = (await all<Row>(w.dv, PA, `w365_ioncustomerid eq '${victim}'`, ["w365_missingsince"]))[0];
          const victimFlagged = Boolean(victimRow?.w365_missingsince);
          if (victimFlagged) figures.deletedFlagged++;
          let requestsLost = 0;
          for (const s of requests) {
            const row = await w.dv.retrieve<Row>(SUBS, String(s.w365_providersubscriptionid));
            const orders = w.ion.control
              .orders()
              .filter((o) =>
                o.items.some((i) => i.resourceId === w.ion.control.getSubscription(String(s.w365_ionsubscriptionid))?.subscriptionId),
              );
            // Made against the old values: Ion's change must be seen (Conflict, no order); against Ion's value: sent once.
            const expected = madeAgainstIonValue.get(String(s.w365_providersubscriptionid))
              ? row.w365_syncstate === SyncState.SentToIon && orders.length === 1
              : row.w365_syncstate === SyncState.Conflict && orders.length === 0;
            if (row.w365_requestedquantity !== Number(s.w365_quantity) + 10 || !expected) requestsLost++;
          }
          figures.requestsLost += requestsLost;
          expect({ run: r, decisionsLost: lost, requestsLost, wronglyFlaggedMissing: wrong, victimFlagged }).toStrictEqual({
            run: r,
            decisionsLost: 0,
            requestsLost: 0,
            wronglyFlaggedMissing: 0,
            victimFlagged: true,
          });
        } finally {
          await w.close();
        }
      }
    });
  }
});
