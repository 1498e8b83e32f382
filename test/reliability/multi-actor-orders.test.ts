/**
 * Randomised multi-actor runs (seeded): for one subscription, an admin saves new quantities (and now and
 * then the same value again) at random points, while at the same time webhook deliveries (some delivered
 * twice) reach two local Functions hosts (two instances, each with its 4-message queue worker), separate
 * engine instances run the scheduled outbound and subscriptions syncs, and Ion completes orders and
 * changes auto-renew in its portal at random points. Asserted per run: no admin intent gets more than
 * one order, the last one gets exactly one, and the admin's last decision is what Ion ends with.
 * MULTI_ACTOR_SEEDS (default 3) and MULTI_ACTOR_RUNS (runs per seed, default 3) make a longer run.
 */
import { type FunctionsHost, startFunctionsHost } from "../../sandbox/functions-host";
import { silentLogger } from "../../src/shared/logger";
import { seededRandom } from "../../src/shared/random";
import { runSync } from "../../src/sync";
import { subscriptionUpdateContext } from "../support/pluginFixtures";
import { ordersFor, shortSleep, startOutboundWorld } from "../support/world";

const SEEDS = Number(process.env.MULTI_ACTOR_SEEDS ?? 3);
const RUNS = Number(process.env.MULTI_ACTOR_RUNS ?? 3);
const KEY = "multi-actor-functions-key-0123456789";
const SUBS = "w365_providersubscriptions";

jest.setTimeout(60_000 + SEEDS * RUNS * 30_000);

interface Figures {
  runs: number;
  intents: number;
  orders: number;
  maxOrdersPerIntent: number;
  lastIntentsOrderedOnce: number;
  decisionsLost: number;
}

describe("multi-actor orders and admin decisions", () => {
  const figures: Figures = { runs: 0, intents: 0, orders: 0, maxOrdersPerIntent: 0, lastIntentsOrderedOnce: 0, decisionsLost: 0 };
  afterAll(() => {
    // The figures the reliability report quotes (test/reliability/multi-actor/orders.md).
    process.stdout.write(`multi-actor figures: seeds ${SEEDS}, ${JSON.stringify(figures)}\n`);
  });

  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`seed ${seed}: ${RUNS} runs, one order per intent, no admin decision lost`, async () => {
      const random = seededRandom(seed * 7919);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
      const world = await startOutboundWorld({ seed, customers: 1 });
      const hosts: FunctionsHost[] = [];
      try {
        for (let i = 0; i < 2; i++) {
          hosts.push(
            await startFunctionsHost({
              dataverseUrl: world.emu.url,
              dataverseToken: world.emu.integrationToken,
              webhookKey: KEY,
              logger: silentLogger,
              retryDelayMs: () => 5,
              runtime: { sync: { sleep: shortSleep, ion: { timeoutMs: 300 } } },
            }),
          );
        }
        const organizationId = (await world.dv.whoAmI()).OrganizationId;
        const [s] = world.subscriptions;
        if (!s) throw new Error("no subscription");
        let delivery = 0;
        const deliver = async (attributes: Record<string, unknown>) => {
          const host = pick(hosts);
          const hex = (++delivery).toString(16).padStart(12, "0");
          const body = JSON.stringify(
            subscriptionUpdateContext(attributes, { id: s.id, organizationId, operationId: `00000000-0000-4000-a000-${hex}` }),
          );
          const times = random() < 0.3 ? 2 : 1; // a redelivery, possibly to the other instance
          for (let t = 0; t < times; t++) {
            const target = t === 0 ? host : pick(hosts);
            const res = await fetch(`${target.url}/api/dataverse/webhook`, {
              method: "POST",
              headers: {
                "content-type": "application/json",
                "x-functions-key": KEY,
                "x-ms-dynamics-organization": "work365dev.crm.dynamics.com",
              },
              body,
            });
            await res.arrayBuffer();
          }
        };
        for (let run = 1; run <= RUNS; run++) {
          const ordersBefore = ordersFor(world, s.ionId).length;
          const start = world.ion.control.getSubscription(s.ionId)?.quantity ?? 1;
          const values: number[] = [];
          const actions: Promise<unknown>[] = [];
          const edits = 1 + Math.floor(random() * 3);
          for (let e = 0; e < edits; e++) {
            const again = values.length > 0 && random() < 0.25;
            const value = again ? (values[values.length - 1] as number) : start + 1 + values.length + e;
            if (!again) values.push(value);
            await world.admin.update(SUBS, s.id, { w365_requestedquantity: value });
            actions.push(deliver({ w365_requestedquantity: value }));
            // Other actors at random points while the admin works.
            const others = Math.floor(random() * 3);
            for (let k = 0; k < others; k++) {
              const what = pick(["schedule", "inbound", "complete", "portal", "wait"] as const);
              if (what === "schedule")
                actions.push(
                  runSync(world.engine(`schedule-${run}-${e}-${k}`), {
                    connectionId: world.connectionId,
                    kind: "outbound",
                    trigger: "schedule",
                  }),
                );
              else if (what === "inbound")
                actions.push(
                  runSync(world.engine(`inbound-${run}-${e}-${k}`), {
                    connectionId: world.connectionId,
                    kind: "subscriptions",
                    trigger: "schedule",
                  }),
                );
              else if (what === "complete") world.ion.control.processOrders();
              else if (what === "portal") {
                const current = world.ion.control.getSubscription(s.ionId);
                world.ion.control.updateSubscription(s.ionId, { autoRenew: !(current?.autoRenew ?? true) });
              } else await new Promise((r) => setTimeout(r, Math.floor(random() * 60)));
            }
          }
          await Promise.allSettled(actions);
          // Settle: Ion completes what is pending, the schedule finishes the tracking.
          for (let i = 0; i < 5; i++) {
            await Promise.all(hosts.map((h) => h.whenIdle()));
            world.ion.control.processOrders();
            await runSync(world.engine(`settle-${run}-${i}`), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
          }
          const placed = ordersFor(world, s.ionId).slice(ordersBefore);
          const perValue = new Map<number, number>();
          for (const o of placed) {
            const q = o.items[0]?.quantity ?? -1;
            perValue.set(q, (perValue.get(q) ?? 0) + 1);
          }
          const last = values[values.length - 1] as number;
          const after = await world.dv.retrieve<Record<string, unknown>>(SUBS, s.id);
          const lost = world.ion.control.getSubscription(s.ionId)?.quantity !== last || after.w365_requestedquantity !== null;
          figures.runs++;
          figures.intents += values.length;
          figures.orders += placed.length;
          figures.maxOrdersPerIntent = Math.max(figures.maxOrdersPerIntent, ...perValue.values());
          if (perValue.get(last) === 1) figures.lastIntentsOrderedOnce++;
          if (lost) figures.decisionsLost++;
          expect({ run, maxPerIntent: Math.max(...perValue.values()), lastOrders: perValue.get(last), lost }).toStrictEqual({
            run,
            maxPerIntent: 1,
            lastOrders: 1,
            lost: false,
          });
          expect(placed.every((o) => values.includes(o.items[0]?.quantity ?? -1))).toBe(true);
        }
        // Both instances took deliveries and their queue workers ran jobs.
        expect(hosts.map((h) => h.stats().workProcessed > 0)).toStrictEqual([true, true]);
      } finally {
        for (const h of hosts) await h.close();
        await world.close();
      }
    });
  }
});
