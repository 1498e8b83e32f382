/**
 * One billable Ion order per admin intent with several actors on one row at once: webhook deliveries
 * (through the real handler), queue workers and the scheduled outbound run, each its own engine instance
 * (own HTTP client, own holder id) against the Dataverse emulator and the Ion simulator.
 */
import { parseWebhookBody } from "../../../plugins/context";
import { subscriptionChanged } from "../../../plugins/subscriptionChanged";
import type { PluginDeps } from "../../../plugins/types";
import { buildSubscriptionUpdateOrder } from "../../../src/ion";
import { silentLogger } from "../../../src/shared/logger";
import { runOutboundForSubscription, runSync, type SyncDeps } from "../../../src/sync";
import { loadConnection, makeContext } from "../../../src/sync/context";
import { bindEngine } from "../../../src/sync/engine";
import { subscriptionUpdateContext } from "../../support/pluginFixtures";
import { ordersFor, type OutboundWorld, startOutboundWorld } from "../../support/world";

jest.setTimeout(120_000);

const SUBS = "w365_providersubscriptions";
type Row = Record<string, unknown>;

/** Holds each actor at the order POST until the others arrive (or a short while passes): the race made certain. */
function barrier(parties: number) {
  let arrived = 0;
  const waiters: (() => void)[] = [];
  return async () => {
    arrived++;
    if (arrived >= parties) waiters.splice(0).forEach((w) => w());
    else await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise<void>((r) => setTimeout(r, 150))]);
  };
}

/** An admin's change delivered to the real handler, whose queue hands the job to `worker` at once. */
async function deliver(world: OutboundWorld, subscriptionId: string, attributes: Row, worker: SyncDeps): Promise<unknown> {
  const jobs: Promise<unknown>[] = [];
  const integration = (await world.dv.whoAmI()).UserId.toLowerCase();
  const deps: PluginDeps = {
    engine: bindEngine(worker),
    dataverse: worker.dataverse,
    queue: {
      enqueue: async (m) => {
        if (m.type === "outbound") jobs.push(runOutboundForSubscription(worker, { subscriptionId: m.subscriptionId, trigger: "webhook" }));
      },
    },
    integrationUserId: async () => integration,
    logger: silentLogger,
    clock: { now: () => Date.now() },
    staleRunMs: 3_600_000,
  };
  const ctx = parseWebhookBody(JSON.stringify(subscriptionUpdateContext(attributes, { id: subscriptionId })));
  await subscriptionChanged(ctx, deps);
  return Promise.all(jobs);
}

const row = (world: OutboundWorld, id: string) => world.dv.retrieve<Row>(SUBS, id);

describe("outbound with several actors on one row", () => {
  let world: OutboundWorld;
  beforeEach(async () => {
    world = await startOutboundWorld();
  });
  afterEach(async () => {
    await world.close();
  });

  it("two deliveries and the scheduled run at once place one order", async () => {
    const [s] = world.subscriptions;
    if (!s) throw new Error("no subscription");
    const meet = barrier(3);
    const actors = ["webhook-a", "webhook-b", "schedule"].map((n) => world.engine(n, { hooks: { beforeOrder: meet } }));
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 3 });
    await Promise.all([
      deliver(world, s.id, { w365_requestedquantity: s.quantity + 3 }, actors[0] as SyncDeps),
      deliver(world, s.id, { w365_requestedquantity: s.quantity + 3 }, actors[1] as SyncDeps),
      runSync(actors[2] as SyncDeps, { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" }),
    ]);
    expect(ordersFor(world, s.ionId)).toHaveLength(1);
    world.ion.control.processOrders();
    await runSync(world.engine("next"), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    expect(ordersFor(world, s.ionId)).toHaveLength(1);
    expect(world.ion.control.getSubscription(s.ionId)?.quantity).toBe(s.quantity + 3);
    expect(await row(world, s.id)).toMatchObject({ w365_syncstate: 365000000, w365_requestedquantity: null });
  });

  it("a quantity change and an auto-renew change a moment later: never two identical orders, both applied", async () => {
    const [s] = world.subscriptions;
    if (!s) throw new Error("no subscription");
    const meet = barrier(2);
    const [a, b] = ["delivery-1", "delivery-2"].map((n) => world.engine(n, { hooks: { beforeOrder: meet } })) as [SyncDeps, SyncDeps];
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 1 });
    const first = deliver(world, s.id, { w365_requestedquantity: s.quantity + 1 }, a);
    await world.admin.update(SUBS, s.id, { w365_requestedautorenew: !s.autoRenew });
    const second = deliver(world, s.id, { w365_requestedautorenew: !s.autoRenew }, b);
    await Promise.all([first, second]);
    for (let i = 0; i < 3; i++) {
      world.ion.control.processOrders();
      await runSync(world.engine(`schedule-${i}`), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    }
    const orders = ordersFor(world, s.ionId);
    const contents = orders.map((o) => JSON.stringify(o.items.map((i) => [i.quantity, i.attributes])));
    expect(new Set(contents).size).toBe(contents.length);
    expect(orders.length).toBeLessThanOrEqual(2);
    expect(world.ion.control.getSubscription(s.ionId)).toMatchObject({ quantity: s.quantity + 1, autoRenew: !s.autoRenew });
    expect(await row(world, s.id)).toMatchObject({ w365_syncstate: 365000000, w365_requestedquantity: null });
  });

  it("a redelivery and the admin saving the same value while the order is pending: no second order, Sent to Ion kept", async () => {
    const [s] = world.subscriptions;
    if (!s) throw new Error("no subscription");
    const wanted = { w365_requestedquantity: s.quantity + 2 };
    await world.admin.update(SUBS, s.id, wanted);
    await deliver(world, s.id, wanted, world.engine("instance-1"));
    expect(await row(world, s.id)).toMatchObject({ w365_syncstate: 365000002 });
    // The same delivery again on two other instances, and the admin saving the same value again.
    await world.admin.update(SUBS, s.id, wanted);
    await Promise.all([deliver(world, s.id, wanted, world.engine("instance-2")), deliver(world, s.id, wanted, world.engine("instance-3"))]);
    expect(await row(world, s.id)).toMatchObject({ w365_syncstate: 365000002 });
    expect(ordersFor(world, s.ionId)).toHaveLength(1);
    world.ion.control.processOrders();
    await deliver(world, s.id, wanted, world.engine("instance-4"));
    expect(ordersFor(world, s.ionId)).toHaveLength(1);
    expect(await row(world, s.id)).toMatchObject({ w365_syncstate: 365000000, w365_requestedquantity: null });
  });

  it("the admin reverts the quantity and toggles auto-renew back while the order is pending: the newer intent wins", async () => {
    const [s] = world.subscriptions;
    if (!s) throw new Error("no subscription");
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 2, w365_requestedautorenew: !s.autoRenew });
    await runOutboundForSubscription(world.engine("worker"), { subscriptionId: s.id, trigger: "webhook" });
    expect(ordersFor(world, s.ionId)).toHaveLength(1);
    // While the order is pending the admin goes back to the values Ion had.
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity, w365_requestedautorenew: s.autoRenew });
    for (let i = 0; i < 3; i++) {
      world.ion.control.processOrders();
      await runSync(world.engine(`schedule-${i}`), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    }
    expect(world.ion.control.getSubscription(s.ionId)).toMatchObject({ quantity: s.quantity, autoRenew: s.autoRenew });
    expect(ordersFor(world, s.ionId)).toHaveLength(2);
    expect(await row(world, s.id)).toMatchObject({
      w365_syncstate: 365000000,
      w365_requestedquantity: null,
      w365_requestedautorenew: s.autoRenew,
    });
  });

  it("an order POST that times out and is recorded late, without its referenceId echoed: one order", async () => {
    const [s] = world.subscriptions;
    if (!s) throw new Error("no subscription");
    world.ion.control.setOrderReferenceEcho(false);
    // The POST's answer is lost and Ion shows the order only 900 ms later (longer than the client's timeout).
    world.ion.control.recordNextOrdersLate(900);
    world.ion.control.setFaults({
      rules: [{ endpoint: "POST /api/v3/accounts/{A}/customers/{C}/orders", kind: "dropAfter", requests: [1] }],
    });
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 1 });
    const slowPost = world.engine("worker", { timeoutMs: 500, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 400))) });
    await runOutboundForSubscription(slowPost, { subscriptionId: s.id, trigger: "webhook" });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(ordersFor(world, s.ionId)).toHaveLength(1);
    world.ion.control.processOrders();
    await runSync(world.engine("schedule"), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    expect(ordersFor(world, s.ionId)).toHaveLength(1);
    expect(await row(world, s.id)).toMatchObject({ w365_syncstate: 365000000, w365_requestedquantity: null });
  });

  it("a claim whose order Ion never recorded does not adopt an order someone placed by hand in the Ion portal", async () => {
    const [s] = world.subscriptions;
    if (!s) throw new Error("no subscription");
    world.ion.control.setOrderReferenceEcho(false);
    const portal = world.engine("portal");
    const ion = makeContext(portal, await loadConnection(portal.dataverse, world.connectionId)).ion;
    const customerId = String((await row(world, s.id)).w365_ioncustomerid);
    // An actor claimed the row for +2 and stopped before its POST reached Ion.
    await world.dv.update(SUBS, s.id, {
      w365_requestedquantity: s.quantity + 2,
      w365_syncstate: 365000002,
      w365_orderreference: "claim-of-a-stopped-actor",
    });
    // Meanwhile someone changes the seats by hand in the Ion portal: an UPDATE order of the same subscription.
    const sub = await ion.subscriptions.get(customerId, s.ionId);
    await ion.orders.create(customerId, buildSubscriptionUpdateOrder(sub, { quantity: s.quantity + 5 }, "portal"));
    await runOutboundForSubscription(world.engine("worker"), { subscriptionId: s.id, trigger: "webhook" });
    // The claim's own order is placed (under the claim's reference), the portal's is left alone.
    expect(ordersFor(world, s.ionId).map((o) => o.items[0]?.quantity)).toEqual([s.quantity + 5, s.quantity + 2]);
  });

  it("an order still pending at the next runs, without its referenceId echoed: tracked, never placed again", async () => {
    const [s] = world.subscriptions;
    if (!s) throw new Error("no subscription");
    world.ion.control.setOrderReferenceEcho(false);
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 1 });
    await runOutboundForSubscription(world.engine("worker"), { subscriptionId: s.id, trigger: "webhook" });
    for (let i = 0; i < 2; i++)
      await runSync(world.engine(`schedule-${i}`), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    expect(ordersFor(world, s.ionId)).toHaveLength(1);
    world.ion.control.processOrders();
    await runSync(world.engine("schedule-last"), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    expect(ordersFor(world, s.ionId)).toHaveLength(1);
    expect(await row(world, s.id)).toMatchObject({ w365_syncstate: 365000000, w365_requestedquantity: null });
  });

  it("without its referenceId echoed, the admin changes the quantity while the order is pending: that order is tracked to completion, then one order for the new quantity", async () => {
    const [s] = world.subscriptions;
    if (!s) throw new Error("no subscription");
    world.ion.control.setOrderReferenceEcho(false);
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 2 });
    await runOutboundForSubscription(world.engine("worker"), { subscriptionId: s.id, trigger: "webhook" });
    const [first] = ordersFor(world, s.ionId);
    if (!first) throw new Error("no order placed");
    // While that order is pending the admin asks for another quantity; the runs go on (the settle window passes).
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 5 });
    for (let i = 0; i < 2; i++)
      await runSync(world.engine(`schedule-${i}`), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    expect(ordersFor(world, s.ionId)).toHaveLength(1);
    const waiting = await row(world, s.id);
    expect(waiting).toMatchObject({ w365_syncstate: 365000002, w365_requestedquantity: s.quantity + 5 });
    expect(String(waiting.w365_syncmessage)).toMatch(/newer request is sent when this order ends/);

    // The first order completes: its completion is recorded, then the newer request goes out as its own order.
    world.ion.control.processOrders();
    await runSync(world.engine("schedule-after-first"), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    const orders = ordersFor(world, s.ionId);
    expect(orders.map((o) => o.items[0]?.quantity)).toEqual([s.quantity + 2, s.quantity + 5]);
    expect(await row(world, s.id)).toMatchObject({
      w365_syncstate: 365000002,
      w365_lastorderid: first.orderId,
      w365_quantity: s.quantity + 2,
      w365_requestedquantity: s.quantity + 5,
    });

    world.ion.control.processOrders();
    await runSync(world.engine("schedule-last"), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    expect(ordersFor(world, s.ionId)).toHaveLength(2);
    expect(world.ion.control.getSubscription(s.ionId)?.quantity).toBe(s.quantity + 5);
    expect(await row(world, s.id)).toMatchObject({
      w365_syncstate: 365000000,
      w365_requestedquantity: null,
      w365_quantity: s.quantity + 5,
      w365_lastorderid: orders[1]?.orderId,
    });
  });

  it("an order Ion refuses at POST leaves the row in Error with Ion's reason, and the run message counts it", async () => {
    const [s] = world.subscriptions;
    if (!s) throw new Error("no subscription");
    world.ion.control.setFaults({
      rules: [{ endpoint: "POST /api/v3/accounts/{A}/customers/{C}/orders", kind: "status", status: 400, requests: [1] }],
    });
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 1 });
    const summary = await runSync(world.engine("schedule"), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    const after = await row(world, s.id);
    expect(after.w365_syncstate).toBe(365000004);
    expect(String(after.w365_syncmessage)).toMatch(/Ion refused the order/);
    expect(summary.message).toMatch(/refused 1/);
    // Clearing the request resets the row.
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: null });
    await runOutboundForSubscription(world.engine("worker"), { subscriptionId: s.id, trigger: "webhook" });
    expect(await row(world, s.id)).toMatchObject({ w365_syncstate: 365000000 });
    expect(ordersFor(world, s.ionId)).toHaveLength(0);
  });

  it("an order Ion fails while the admin saved another quantity meanwhile: the newer request is kept and placed", async () => {
    const [s] = world.subscriptions;
    if (!s) throw new Error("no subscription");
    world.ion.control.failNextOrder([{ code: "SEAT_LIMIT_EXCEEDED", detail: "The plan allows no more seats." }]);
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 2 });
    await runOutboundForSubscription(world.engine("worker"), { subscriptionId: s.id, trigger: "webhook" });
    expect(await row(world, s.id)).toMatchObject({ w365_syncstate: 365000002 });
    // While the order is pending the admin asks for another quantity; then Ion fails the first order.
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 1 });
    world.ion.control.processOrders();
    await runSync(world.engine("schedule-1"), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    const orders = ordersFor(world, s.ionId);
    expect(orders.map((o) => o.status)).toEqual(["ERROR", "NEW"]);
    expect(orders[1]?.items[0]?.quantity).toBe(s.quantity + 1);
    world.ion.control.processOrders();
    await runSync(world.engine("schedule-2"), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    expect(world.ion.control.getSubscription(s.ionId)?.quantity).toBe(s.quantity + 1);
    expect(ordersFor(world, s.ionId)).toHaveLength(2);
    expect(await row(world, s.id)).toMatchObject({ w365_syncstate: 365000000, w365_requestedquantity: null });
  });

  it("an order Ion fails with no newer request: the row is in Error with Ion's reason, and nothing is sent again", async () => {
    const [s] = world.subscriptions;
    if (!s) throw new Error("no subscription");
    world.ion.control.failNextOrder([{ code: "SEAT_LIMIT_EXCEEDED", detail: "The plan allows no more seats." }]);
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 2 });
    await runOutboundForSubscription(world.engine("worker"), { subscriptionId: s.id, trigger: "webhook" });
    // The admin saves the same value again while the order is pending: not a newer request.
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 2 });
    world.ion.control.processOrders();
    for (let i = 0; i < 2; i++)
      await runSync(world.engine(`schedule-${i}`), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    const after = await row(world, s.id);
    expect(after).toMatchObject({ w365_syncstate: 365000004, w365_requestedquantity: s.quantity + 2 });
    expect(String(after.w365_syncmessage)).toMatch(/Ion did not apply order .*SEAT_LIMIT_EXCEEDED: The plan allows no more seats/);
    expect(ordersFor(world, s.ionId)).toHaveLength(1);
    expect(world.ion.control.getSubscription(s.ionId)?.quantity).toBe(s.quantity);
  });

  it("a customer unmapped while its subscription has a request places no order, and the row says why", async () => {
    const [s] = world.subscriptions;
    if (!s) throw new Error("no subscription");
    const account = String((await row(world, s.id))._w365_provideraccount_value);
    await world.admin.update("w365_provideraccounts", account, { w365_mappingstatus: 365000000 });
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 1 });
    await Promise.all([
      runOutboundForSubscription(world.engine("worker"), { subscriptionId: s.id, trigger: "webhook" }),
      runSync(world.engine("schedule"), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" }),
    ]);
    expect(ordersFor(world, s.ionId)).toHaveLength(0);
    const after = await row(world, s.id);
    expect(after).toMatchObject({ w365_syncstate: 365000004, w365_requestedquantity: s.quantity + 1 });
    expect(String(after.w365_syncmessage)).toMatch(/is not mapped to a Work 365 account/);
  });

  it("a deactivated connector, and an ignored customer, place no orders and say so on the row", async () => {
    const [s, t] = world.subscriptions;
    if (!s || !t) throw new Error("no subscriptions");
    await world.admin.update("w365_providerconnections", world.connectionId, { statecode: 1 });
    await world.admin.update(SUBS, s.id, { w365_requestedquantity: s.quantity + 1 });
    const off = await runOutboundForSubscription(world.engine("worker"), { subscriptionId: s.id, trigger: "webhook" });
    expect(off.message).toMatch(/deactivated/);
    expect(world.ion.control.orders()).toHaveLength(0);

    await world.admin.update("w365_providerconnections", world.connectionId, { statecode: 0 });
    const account = String((await row(world, s.id))._w365_provideraccount_value);
    await world.admin.update("w365_provideraccounts", account, { w365_mappingstatus: 365000003 });
    await runSync(world.engine("schedule"), { connectionId: world.connectionId, kind: "outbound", trigger: "schedule" });
    expect(ordersFor(world, s.ionId)).toHaveLength(0);
    expect(String((await row(world, s.id)).w365_syncmessage)).toMatch(/ignored/);
  });
});
