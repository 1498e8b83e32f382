/**
 * A fresh full run links subscriptions while the accounts phase is still matching customers
 * (src/sync/links.ts). It must leave exactly what the phases run one after the other leave, record its
 * checkpoints in phase order, and fail cleanly (no hang, nothing half-linked) when the accounts phase fails.
 */
import { runSync } from "../../../src/sync";
import { parseCheckpoint } from "../../../src/sync/checkpoint";
import type { ReportJson } from "../../../src/sync/report";
import { all, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;

/** Both tables as comparable text: provider accounts by Ion id, subscriptions by Ion id with their customer's Ion id. */
async function snapshot(w: World): Promise<{ accounts: Record<string, unknown>; subscriptions: Record<string, unknown> }> {
  const names = new Map(
    (await all<Row>(w.dv, "accounts", undefined, ["accountid", "name"])).map((a) => [String(a.accountid), String(a.name)]),
  );
  // Record ids differ between two emulators: compare accounts by name.
  const name = (id: unknown) => (id ? (names.get(String(id)) ?? `unknown ${String(id)}`) : null);
  const accounts = await all<Row>(w.dv, "w365_provideraccounts", undefined, [
    "w365_provideraccountid",
    "w365_ioncustomerid",
    "w365_mappingstatus",
    "_w365_account_value",
    "_w365_suggestedaccount_value",
    "w365_matchreason",
    "w365_contenthash",
  ]);
  const ionIdOf = new Map(accounts.map((a) => [String(a.w365_provideraccountid), String(a.w365_ioncustomerid)]));
  const subscriptions = await all<Row>(w.dv, "w365_providersubscriptions", undefined, [
    "w365_ionsubscriptionid",
    "_w365_provideraccount_value",
    "_w365_account_value",
    "w365_quantity",
    "w365_status",
  ]);
  return {
    accounts: Object.fromEntries(
      accounts.map((a) => [
        String(a.w365_ioncustomerid),
        [a.w365_mappingstatus, name(a._w365_account_value), name(a._w365_suggestedaccount_value), a.w365_matchreason, a.w365_contenthash],
      ]),
    ),
    subscriptions: Object.fromEntries(
      subscriptions.map((s) => [
        String(s.w365_ionsubscriptionid),
        [ionIdOf.get(String(s._w365_provideraccount_value)), name(s._w365_account_value), s.w365_quantity, s.w365_status],
      ]),
    ),
  };
}

/** Small Ion pages and batches so that subscriptions arrive before their customers are decided (held) and are released batch by batch. */
const SMALL_PAGES = { customerPageSize: 7, subscriptionPageLimit: 5 };
const SMALL_BATCHES = { batchSize: 10 };

/** Two worlds of the same data set read in small pages and written in small batches: one to interrupt, one reference. */
async function smallPagedTwins(seed: number): Promise<[World, World]> {
  const twins = await Promise.all([0, 1].map(() => startWorld({ seed, customers: 30, subscriptionsPerCustomer: 2 })));
  for (const x of twins) {
    x.deps.ion = { ...SMALL_PAGES };
    x.deps.writes = { ...SMALL_BATCHES };
  }
  return twins as [World, World];
}

/** A sync "all" that throws `message` once the accounts phase has checkpointed `page` pages. */
async function runStoppedAtAccountsPage(w: World, page: number, message: string) {
  w.deps.hooks = {
    afterPage: async (at) => {
      if (at.phase === "accounts" && at.page === page) throw new Error(message);
    },
  };
  try {
    return await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" });
  } finally {
    w.deps.hooks = undefined;
  }
}

describe("accounts and subscriptions phases running side by side", () => {
  let concurrent: World;
  let sequential: World;
  beforeAll(async () => {
    [concurrent, sequential] = await Promise.all([
      startWorld({ seed: 11, customers: 45, subscriptionsPerCustomer: 3 }),
      startWorld({ seed: 11, customers: 45, subscriptionsPerCustomer: 3 }),
    ]);
    for (const w of [concurrent, sequential]) {
      w.deps.ion = { ...SMALL_PAGES };
      w.deps.writes = { ...SMALL_BATCHES };
    }
  });
  afterAll(async () => {
    await Promise.all([concurrent?.close(), sequential?.close()]);
  });

  it("leaves the same rows as the phases one after the other, with the checkpoints in phase order", async () => {
    const events: string[] = [];
    concurrent.deps.hooks = {
      // Slow the accounts phase down so the subscriptions phase runs ahead and holds subscriptions.
      afterPage: async ({ phase, page }) => {
        events.push(`${phase}:${page}`);
        if (phase === "accounts") await new Promise((resolve) => setTimeout(resolve, 15));
      },
    };
    const both = await runSync(concurrent.deps, { connectionId: concurrent.connectionId, kind: "all", trigger: "cli" });
    concurrent.deps.hooks = undefined;
    const accountsOnly = await runSync(sequential.deps, { connectionId: sequential.connectionId, kind: "accounts", trigger: "cli" });
    const subscriptionsOnly = await runSync(sequential.deps, {
      connectionId: sequential.connectionId,
      kind: "subscriptions",
      trigger: "cli",
    });

    expect(both.status).toBe("succeeded");
    expect(accountsOnly.status).toBe("succeeded");
    expect(subscriptionsOnly.status).toBe("succeeded");
    expect((both.report as { phases: Record<string, unknown> }).phases.subscriptions).toMatchObject({ linkedBesideAccountsPhase: true });
    // The pages really interleaved: a subscription page was done before the last accounts page.
    const lastAccountsPage = events.lastIndexOf(events.filter((e) => e.startsWith("accounts:")).pop()!);
    expect(events.findIndex((e) => e.startsWith("subscriptions:"))).toBeLessThan(lastAccountsPage);

    const [a, b] = await Promise.all([snapshot(concurrent), snapshot(sequential)]);
    // Account ids differ between the two emulators only if matching differed: the CRM accounts are seeded alike.
    expect(Object.keys(a.accounts).length).toBe(45);
    expect(Object.keys(a.subscriptions).length).toBeGreaterThan(0);
    expect(a).toStrictEqual(b);
    expect(both.created).toBe(accountsOnly.created + subscriptionsOnly.created);
    expect(both.counts["skipped-unmapped"] ?? 0).toBe(subscriptionsOnly.counts["skipped-unmapped"] ?? 0);

    const [run] = await all<Row>(concurrent.dv, "w365_syncruns", `w365_syncrunid eq ${both.runId}`, ["w365_checkpoint"]);
    expect(parseCheckpoint(run!.w365_checkpoint)?.done).toStrictEqual(["accounts", "subscriptions", "outbound"]);
  });

  it("tells the admin the same mapping totals as the phases one after the other (new rows counted once written)", async () => {
    const totals = (message: string) => /auto-mapped \d+, suggested \d+, unmapped \d+/.exec(message)?.[0];
    const [bothRun] = await all<Row>(concurrent.dv, "w365_syncruns", "w365_kind eq 'all'", ["w365_message"]);
    const [accountsRun] = await all<Row>(sequential.dv, "w365_syncruns", "w365_kind eq 'accounts'", ["w365_message"]);
    const expected = totals(String(accountsRun!.w365_message));
    expect(expected).toMatch(/suggested [1-9]|unmapped [1-9]/); // the data set leaves work for the admin
    expect(totals(String(bothRun!.w365_message))).toBe(expected);
  });

  it("finishes a later run whose only waiting subscriptions belong to customers it does not map (no wait on the accounts phase's deferred writes)", async () => {
    const w = await startWorld({ seed: 3, customers: 60, subscriptionsPerCustomer: 1 });
    try {
      w.deps.ion = { customerPageSize: 10, subscriptionPageLimit: 100 };
      expect((await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" })).status).toBe("succeeded");
      const customers = w.ion.control.customers();
      const subs = w.ion.control.subscriptions();
      for (const c of [customers[3]!, customers[40]!]) w.ion.control.updateCustomer(c.id, { customerName: `${c.customerName} (changed)` });
      for (const x of [subs[5]!, subs[50]!]) w.ion.control.updateSubscription(x.id, { quantity: x.quantity + 1 });
      // The subscriptions phase reaches its end first, holding subscriptions of not-yet-planned Unmapped
      // customers; the accounts phase then releases them all while its own few writes wait, unflushed, for
      // the run's drain.
      w.deps.hooks = {
        afterPage: async ({ phase }) => {
          if (phase === "accounts") await new Promise((resolve) => setTimeout(resolve, 30));
        },
      };
      const again = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" });
      expect(again.status).toBe("succeeded");
      expect(again.updated).toBeGreaterThanOrEqual(2);
      expect(
        (again.report as { phases: Record<string, { heldForCustomersAtMost?: number }> }).phases.subscriptions?.heldForCustomersAtMost,
      ).toBeGreaterThan(0);
    } finally {
      await w.close();
    }
  });

  it("a failing accounts phase fails the run without hanging; the next run finishes the work", async () => {
    const [w, reference] = await smallPagedTwins(12);
    try {
      const failed = await runStoppedAtAccountsPage(w, 2, "accounts phase stopped by the test");
      expect(failed.status).toBe("failed");
      expect(failed.message).toContain("accounts phase stopped by the test");
      // Nothing was linked to a customer the failed phase had not decided: every stored subscription points at a stored provider account.
      const accountIds = new Set(
        (await all<Row>(w.dv, "w365_provideraccounts", undefined, ["w365_provideraccountid"])).map((r) => String(r.w365_provideraccountid)),
      );
      for (const s of await all<Row>(w.dv, "w365_providersubscriptions", undefined, ["_w365_provideraccount_value"]))
        expect(accountIds.has(String(s._w365_provideraccount_value))).toBe(true);

      const again = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli" });
      expect(again.status).toBe("succeeded");
      const once = await runSync(reference.deps, { connectionId: reference.connectionId, kind: "all", trigger: "cli" });
      expect(once.status).toBe("succeeded");
      expect(await snapshot(w)).toStrictEqual(await snapshot(reference));
    } finally {
      await Promise.all([w.close(), reference.close()]);
    }
  });
});

describe("a run of both phases side by side, interrupted and resumed", () => {
  it("counts each record once: what its checkpoint counted is not redone, what it redoes was not counted", async () => {
    const [w, reference] = await smallPagedTwins(13);
    try {
      // Crashes once the accounts phase checkpointed three pages, while subscriptions are being written beside it.
      const crashed = await runStoppedAtAccountsPage(w, 3, "crash");
      expect(crashed.status).toBe("failed");
      const resumed = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "cli", runId: crashed.runId });
      expect(resumed.status).toBe("succeeded");
      const once = await runSync(reference.deps, { connectionId: reference.connectionId, kind: "all", trigger: "cli" });
      expect(await snapshot(w)).toStrictEqual(await snapshot(reference));
      // Subscriptions were written beside the accounts phase before the crash: the overlap is under test.
      const entries = (crashed.report as ReportJson).entries;
      expect(entries.some((e) => e.entity === "providersubscription" && e.action === "created")).toBe(true);
      const records = (c: Record<string, number>) =>
        ["created", "updated", "unchanged", "failed", "skipped-unmapped"].reduce((n, k) => n + (c[k] ?? 0), 0);
      expect(records(resumed.counts)).toBe(records(once.counts));
      expect(resumed.counts.failed ?? 0).toBe(once.counts.failed ?? 0);
    } finally {
      await Promise.all([w.close(), reference.close()]);
    }
  });
});
