/**
 * Side-by-side phases over generated shapes (fast-check): data sizes, Ion page sizes, $batch sizes, which
 * phase runs ahead (delays after pages), and a later run after changes in Ion. Every run must finish and
 * leave exactly the rows the phases one after the other leave.
 */
import fc from "fast-check";

import { runSync } from "../../../src/sync";
import { all, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;

async function snapshot(w: World): Promise<unknown> {
  const names = new Map(
    (await all<Row>(w.dv, "accounts", undefined, ["accountid", "name"])).map((a) => [String(a.accountid), String(a.name)]),
  );
  const name = (id: unknown) => (id ? (names.get(String(id)) ?? "?") : null);
  const accounts = await all<Row>(w.dv, "w365_provideraccounts", undefined, [
    "w365_provideraccountid",
    "w365_ioncustomerid",
    "w365_mappingstatus",
    "_w365_account_value",
    "w365_contenthash",
  ]);
  const ionIdOf = new Map(accounts.map((a) => [String(a.w365_provideraccountid), String(a.w365_ioncustomerid)]));
  // Not the content hash: it covers the provider account's and account's record ids, which differ between two emulators.
  const subscriptions = await all<Row>(w.dv, "w365_providersubscriptions", undefined, [
    "w365_ionsubscriptionid",
    "_w365_provideraccount_value",
    "_w365_account_value",
    "w365_quantity",
    "w365_status",
    "w365_autorenew",
    "w365_lastsyncedquantity",
    "w365_name",
  ]);
  return {
    accounts: Object.fromEntries(
      accounts.map((a) => [String(a.w365_ioncustomerid), [a.w365_mappingstatus, name(a._w365_account_value), a.w365_contenthash]]),
    ),
    subscriptions: Object.fromEntries(
      subscriptions.map((s) => [
        String(s.w365_ionsubscriptionid),
        [
          ionIdOf.get(String(s._w365_provideraccount_value)),
          name(s._w365_account_value),
          s.w365_quantity,
          s.w365_status,
          s.w365_autorenew,
          s.w365_lastsyncedquantity,
          s.w365_name,
        ],
      ]),
    ),
  };
}

const shape = fc.record({
  seed: fc.integer({ min: 1, max: 500 }),
  customers: fc.integer({ min: 1, max: 40 }),
  subscriptionsPerCustomer: fc.integer({ min: 0, max: 4 }),
  customerPageSize: fc.integer({ min: 1, max: 25 }),
  subscriptionPageLimit: fc.integer({ min: 1, max: 60 }),
  batchSize: fc.integer({ min: 1, max: 40 }),
  accountsDelayMs: fc.constantFrom(0, 0, 5, 20),
  subscriptionsDelayMs: fc.constantFrom(0, 0, 5, 20),
  changed: fc.integer({ min: 0, max: 5 }),
});

describe("side-by-side phases over generated shapes", () => {
  it("always finish and leave what the phases one after the other leave, first run and after changes", async () => {
    await fc.assert(
      fc.asyncProperty(shape, async (p) => {
        const [a, b] = await Promise.all([
          startWorld({ seed: p.seed, customers: p.customers, subscriptionsPerCustomer: p.subscriptionsPerCustomer }),
          startWorld({ seed: p.seed, customers: p.customers, subscriptionsPerCustomer: p.subscriptionsPerCustomer }),
        ]);
        try {
          for (const w of [a, b]) {
            w.deps.ion = { customerPageSize: p.customerPageSize, subscriptionPageLimit: p.subscriptionPageLimit };
            w.deps.writes = { batchSize: p.batchSize };
          }
          a.deps.hooks = {
            afterPage: async ({ phase }) => {
              const ms = phase === "accounts" ? p.accountsDelayMs : p.subscriptionsDelayMs;
              if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
            },
          };
          const sync = async (w: World, kinds: ("all" | "accounts" | "subscriptions")[]) => {
            for (const kind of kinds)
              expect((await runSync(w.deps, { connectionId: w.connectionId, kind, trigger: "cli" })).status).toBe("succeeded");
          };
          await sync(a, ["all"]);
          await sync(b, ["accounts", "subscriptions"]);
          expect(await snapshot(a)).toStrictEqual(await snapshot(b));
          // The same portal edits in both worlds, then a later run.
          for (const w of [a, b]) {
            const customers = w.ion.control.customers();
            const subs = w.ion.control.subscriptions();
            for (let i = 0; i < p.changed && customers.length > 0; i++) {
              const c = customers[(i * 7) % customers.length]!;
              w.ion.control.updateCustomer(c.id, { customerName: `${c.customerName} (changed ${i})` });
            }
            for (let i = 0; i < p.changed && subs.length > 0; i++) {
              const s = subs[(i * 5) % subs.length]!;
              w.ion.control.updateSubscription(s.id, { quantity: s.quantity + 1 + i });
            }
          }
          await sync(a, ["all"]);
          await sync(b, ["accounts", "subscriptions"]);
          expect(await snapshot(a)).toStrictEqual(await snapshot(b));
        } finally {
          await Promise.all([a.close(), b.close()]);
        }
      }),
      { numRuns: 12 },
    );
  }, 120_000);
});
