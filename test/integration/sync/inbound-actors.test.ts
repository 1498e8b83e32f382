/**
 * Inbound syncs while admins act: an admin's mapping decision or subscription request landing between the
 * run's read of a row and its write is neither overwritten nor robbed of its conflict check, and a record
 * deleted in Ion while the run pages through Ion's lists never makes another one look deleted. Each actor is
 * its own engine instance (own HTTP client) against the Dataverse emulator and the Ion simulator; the admin's
 * write is placed between read and write by the engine's `afterPage` hook (the run has read the rows and
 * planned the page, its writes wait in the batch writer), the Ion deletion between two page reads by the
 * simulator's `afterNextPage`.
 */
import { DataverseClient } from "../../../src/dataverse";
import { silentLogger } from "../../../src/shared/logger";
import { MappingStatus, mapProviderAccount, runOutboundForSubscription, runSync, type SyncDeps, SyncState } from "../../../src/sync";
import { parseDigest } from "../../../src/sync/digest";
import { all, ordersFor, type OutboundWorld, seedCrmAccounts, startOutboundWorld, startWorld, type World } from "../../support/world";

jest.setTimeout(120_000);

type Row = Record<string, unknown>;
const PA = "w365_provideraccounts";
const SUBS = "w365_providersubscriptions";

/** Another engine instance on the same emulator: its own Dataverse client, as another Functions instance. */
function instance(w: World, o: Partial<SyncDeps> = {}): SyncDeps {
  const dataverse = new DataverseClient({ url: w.emu.url, auth: { kind: "static", token: w.emu.integrationToken }, logger: silentLogger });
  return { dataverse, logger: silentLogger, sleep: async () => undefined, ...o };
}

interface Entry {
  action: string;
  key: string;
  after?: Row;
  message?: string;
}
const entriesOf = (summary: { report?: unknown }) => (summary.report as { entries: Entry[] }).entries;

describe("an admin's Map / Ignore while an accounts sync runs", () => {
  for (const kind of ["accounts", "all"] as const) {
    it(`is not overwritten by the run's decision (${kind})`, async () => {
      const w = await startWorld({ seed: 23, customers: 8, subscriptionsPerCustomer: 1, crmAccounts: false });
      try {
        // No accounts yet: every customer Unmapped. Then the reseller's accounts arrive, so the next run re-matches.
        expect((await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" })).status).toBe("succeeded");
        await seedCrmAccounts(w.dv, 23, 8);
        const plan = await runSync(instance(w), { connectionId: w.connectionId, kind: "accounts", trigger: "cli", dryRun: true });
        const decided = entriesOf(plan).filter((e) => e.action === "would-update" && e.after?.w365_mappingstatus !== undefined);
        // Two for the admin, and at least one the run decides on its own (so the last check below has rows).
        expect(decided.length).toBeGreaterThanOrEqual(3);
        const rows = await all<Row>(w.dv, PA, undefined, ["w365_provideraccountid", "w365_ioncustomerid"]);
        const idOf = (ionId: string) => String(rows.find((r) => r.w365_ioncustomerid === ionId)!.w365_provideraccountid);
        const ignored = idOf(decided[0]!.key);
        const mapped = idOf(decided[1]!.key);
        const [chosen] = await all<Row>(w.dv, "accounts", undefined, ["accountid"]);
        const adminChoice = String(chosen!.accountid);

        // The admin (another engine instance, as the custom API runs it) acts after the run read the rows.
        const admin = instance(w);
        let acted = false;
        const run = instance(w, {
          hooks: {
            afterPage: async ({ phase }) => {
              if (phase !== "accounts" || acted) return;
              acted = true;
              await mapProviderAccount(admin, { providerAccountId: ignored, action: "ignore" });
              await mapProviderAccount(admin, { providerAccountId: mapped, action: "map", accountId: adminChoice });
            },
          },
        });
        const summary = await runSync(run, { connectionId: w.connectionId, kind, trigger: "schedule" });
        expect(acted).toBe(true);
        expect(summary.status).toBe("succeeded");
        expect(await w.dv.retrieve<Row>(PA, ignored)).toMatchObject({ w365_mappingstatus: MappingStatus.Ignored });
        expect(await w.dv.retrieve<Row>(PA, mapped)).toMatchObject({
          w365_mappingstatus: MappingStatus.Mapped,
          _w365_account_value: adminChoice,
        });
        expect(summary.counts["changed-by-admin"]).toBe(2);
        expect(summary.message).toContain("2 skipped: changed by an admin");
        // The run's other decisions were written (no extra request per row: the writes still went in one $batch).
        const others = decided.slice(2).map((e) => idOf(e.key));
        expect(others.length).toBeGreaterThan(0);
        for (const id of others) expect((await w.dv.retrieve<Row>(PA, id)).w365_mappingstatus).not.toBe(MappingStatus.Unmapped);
      } finally {
        await w.close();
      }
    });
  }
});

describe("a record deleted in Ion while a run pages through Ion's list", () => {
  it("customers: only the deleted one is flagged missing, not the one that slipped past the page boundary", async () => {
    const w = await startWorld({ seed: 31, customers: 6, subscriptionsPerCustomer: 1, crmAccounts: false });
    try {
      w.deps.ion = { customerPageSize: 2 };
      expect((await runSync(w.deps, { connectionId: w.connectionId, kind: "accounts", trigger: "cli" })).status).toBe("succeeded");
      const [first, , third] = w.ion.control.customers();
      // Deleted right after page 1 (customers 1-2) is served: page 2 starts at the old 4th, the old 3rd is on no page.
      w.ion.control.afterNextPage("customers", () => w.ion.control.removeCustomer(first!.id, "delete"));
      const summary = await runSync(instance(w, { ion: { customerPageSize: 2 } }), {
        connectionId: w.connectionId,
        kind: "accounts",
        trigger: "schedule",
      });
      expect(summary.status).toBe("succeeded");
      // The deleted customer was on page 1 (read before it went); the one that slipped past the boundary still exists.
      expect(await all<Row>(w.dv, PA, "w365_missingsince ne null", ["w365_ioncustomerid"])).toStrictEqual([]);
      expect(summary.counts["missing-not-confirmed"]).toBe(1);
      expect(summary.counts["missing-customer"] ?? 0).toBe(0);
      const next = await runSync(instance(w, { ion: { customerPageSize: 2 } }), {
        connectionId: w.connectionId,
        kind: "accounts",
        trigger: "schedule",
      });
      expect(next.counts["missing-customer"]).toBe(1);
      const flagged = await all<Row>(w.dv, PA, "w365_missingsince ne null", ["w365_ioncustomerid"]);
      expect(flagged.map((r) => r.w365_ioncustomerid)).toStrictEqual([first!.id]);
      const [kept] = await all<Row>(w.dv, PA, `w365_ioncustomerid eq '${third!.id}'`, ["w365_missingsince"]);
      expect(kept).toMatchObject({ w365_missingsince: null });
    } finally {
      await w.close();
    }
  });

  it("subscriptions: only the deleted customer's are flagged, not those shifted past the offset", async () => {
    const world = await startOutboundWorld({ seed: 9, customers: 3, ion: { subscriptionsPerCustomer: 3 } });
    try {
      const list = world.ion.control.subscriptions();
      const victim = list[0]!.customerId;
      const victimSubs = list.filter((s) => s.customerId === victim).map((s) => s.id);
      // No digest marks: the run reads every stored row, as the daily full read does (digests are written then too).
      await world.dv.update("w365_providerconnections", world.connectionId, { w365_checkpoint: null });
      world.ion.control.afterNextPage("subscriptions", () => world.ion.control.removeCustomer(victim, "delete"));
      const engine = world.engine("schedule");
      const summary = await runSync(
        { ...engine, ion: { ...engine.ion, subscriptionPageLimit: 2 } },
        { connectionId: world.connectionId, kind: "subscriptions", trigger: "schedule" },
      );
      expect(summary.status).toBe("succeeded");
      // Flagged: only the deleted customer's subscriptions not read before it went (none of the shifted ones).
      const flagged = async () =>
        (await world.dv.queryAll<Row>(SUBS, { filter: "w365_missingsince ne null", select: ["w365_ionsubscriptionid"] }))
          .map((r) => String(r.w365_ionsubscriptionid))
          .sort();
      expect((await flagged()).every((id) => victimSubs.includes(id))).toBe(true);
      expect(summary.counts["missing-not-confirmed"]).toBeGreaterThanOrEqual(1);
      // A customer whose subscriptions slipped past an offset is not claimed by a digest: none, or one of
      // every subscription Ion has for it (a digest written before the missing-row check would lack the slipped ones).
      const accounts = await world.dv.queryAll<Row>(PA, { select: ["w365_ioncustomerid", "w365_subscriptionsdigest"] });
      const digests = accounts
        .filter((a) => String(a.w365_ioncustomerid) !== victim)
        .map((a) => {
          const customerId = String(a.w365_ioncustomerid);
          return [
            parseDigest(a.w365_subscriptionsdigest as string | null)?.size ?? "none",
            world.ion.control.subscriptions().filter((s) => s.customerId === customerId).length,
          ];
        });
      // One customer lost two of its three subscriptions past the offset (no digest), the other was read in full.
      expect(digests.sort()).toStrictEqual([
        [3, 3],
        ["none", 3],
      ]);
      await runSync(
        { ...engine, ion: { ...engine.ion, subscriptionPageLimit: 2 } },
        { connectionId: world.connectionId, kind: "subscriptions", trigger: "schedule" },
      );
      expect(await flagged()).toStrictEqual([...victimSubs].sort());
    } finally {
      await world.close();
    }
  });
});

describe("a request an admin saves while an inbound subscriptions sync runs", () => {
  let world: OutboundWorld;
  beforeEach(async () => {
    world = await startOutboundWorld({ seed: 17, customers: 2 });
  });
  afterEach(async () => {
    await world.close();
  });

  it("keeps its baseline (the conflict check still sees Ion's change) and is never cleared", async () => {
    const [a, b] = world.subscriptions;
    if (!a || !b) throw new Error("two subscriptions needed");
    // Ion changes both outside Work 365 (so the run rewrites both rows) ...
    world.ion.control.updateSubscription(a.ionId, { quantity: a.quantity + 1 });
    world.ion.control.updateSubscription(b.ionId, { quantity: b.quantity + 2 });
    // ... and the admin, still seeing the old values, asks for changes after the run read the rows.
    let acted = false;
    const run = world.engine("schedule", {
      hooks: {
        afterPage: async ({ phase }) => {
          if (phase !== "subscriptions" || acted) return;
          acted = true;
          await world.admin.update(SUBS, a.id, { w365_requestedquantity: a.quantity + 5 });
          await world.admin.update(SUBS, b.id, { w365_requestedautorenew: !b.autoRenew });
        },
      },
    });
    const summary = await runSync(run, { connectionId: world.connectionId, kind: "subscriptions", trigger: "schedule" });
    expect(acted).toBe(true);
    expect(summary.status).toBe("succeeded");
    expect(await world.dv.retrieve<Row>(SUBS, a.id)).toMatchObject({
      w365_requestedquantity: a.quantity + 5,
      w365_lastsyncedquantity: a.quantity,
    });
    expect(await world.dv.retrieve<Row>(SUBS, b.id)).toMatchObject({ w365_requestedautorenew: !b.autoRenew });
    expect(summary.counts["changed-by-admin"]).toBe(2);

    // The request's own delivery (the webhook path) now meets Ion's change: a Conflict, no order.
    await runOutboundForSubscription(world.engine("webhook"), { subscriptionId: a.id, trigger: "webhook" });
    expect(await world.dv.retrieve<Row>(SUBS, a.id)).toMatchObject({ w365_syncstate: SyncState.Conflict });
    expect(ordersFor(world, a.ionId)).toHaveLength(0);
    // The next run stores Ion's values and keeps the pending requests (and their conflict baseline).
    const next = await runSync(world.engine("next"), { connectionId: world.connectionId, kind: "subscriptions", trigger: "schedule" });
    expect(next.counts["changed-by-admin"] ?? 0).toBe(0);
    expect(await world.dv.retrieve<Row>(SUBS, b.id)).toMatchObject({
      w365_quantity: b.quantity + 2,
      w365_requestedautorenew: !b.autoRenew,
    });
  });
});
