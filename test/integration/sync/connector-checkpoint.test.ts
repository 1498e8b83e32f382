/**
 * The connector's checkpoint (account row version, subscriptions digest marks) under overlapping runs: an
 * accounts run and a subscriptions run of one connector, each reading the checkpoint at its start, end one
 * after the other; the later one must not put back the marks the earlier one wrote (src/sync/connectorCheckpoint.ts).
 * Two overlapping runs that both moved the digest marks leave none, so the next run reads every stored row.
 */
import { DataverseClient } from "../../../src/dataverse";
import { silentLogger } from "../../../src/shared/logger";
import { runSync, type SyncDeps } from "../../../src/sync";
import { all, startWorld, type World } from "../../support/world";

interface Marks {
  since: string;
  until: string;
  user: string;
  fullReadAt: string;
}
interface Checkpoint {
  accountsVersion?: string;
  subscriptionDigest?: Marks;
}

describe("connector checkpoint under overlapping runs", () => {
  let w: World;
  let admin: DataverseClient;
  let accountsMade = 0;

  const checkpoint = async (): Promise<Checkpoint> => {
    const [row] = await all<{ w365_checkpoint?: string }>(
      w.dv,
      "w365_providerconnections",
      `w365_providerconnectionid eq ${w.connectionId}`,
      ["w365_checkpoint"],
    );
    return JSON.parse(row?.w365_checkpoint ?? "{}") as Checkpoint;
  };

  /**
   * Something for each run to move: a new CRM account and a new Ion customer (matching runs, against an
   * account row version above the stored one) and a changed Ion subscription (rows written after the marks).
   */
  const changeBoth = async () => {
    await admin.create("accounts", { name: `Overlap Test Account ${++accountsMade}` });
    w.ion.control.addCustomer({ customerOrganization: `Overlap Arrival ${accountsMade} Ltd` });
    const sub = w.ion.control.subscriptions()[accountsMade]!;
    w.ion.control.updateSubscription(sub.id, { quantity: sub.quantity + 1 });
  };

  /**
   * Runs `first` until its first page is done, then the whole of `second`, then the rest of `first`: both
   * read the checkpoint before either wrote it. Returns the checkpoint as `second` left it.
   */
  const overlap = async (first: "accounts" | "subscriptions" | "all", second: "accounts" | "subscriptions" | "all") => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let paused!: () => void;
    const reachedPause = new Promise<void>((resolve) => (paused = resolve));
    let held = false;
    const firstDeps: SyncDeps = {
      ...w.deps,
      hooks: {
        afterPage: async () => {
          if (held) return;
          held = true;
          paused();
          await released;
        },
      },
    };
    const firstRun = runSync(firstDeps, { connectionId: w.connectionId, kind: first, trigger: "schedule" });
    await reachedPause;
    const secondRun = await runSync(w.deps, { connectionId: w.connectionId, kind: second, trigger: "webhook" });
    expect(secondRun.status).toBe("succeeded");
    const afterSecond = await checkpoint();
    release();
    expect((await firstRun).status).toBe("succeeded");
    return afterSecond;
  };

  beforeAll(async () => {
    w = await startWorld({ seed: 47, customers: 12, subscriptionsPerCustomer: 2 });
    w.deps = { ...w.deps, ion: { customerPageSize: 4, subscriptionPageLimit: 6 } };
    admin = new DataverseClient({ url: w.emu.url, auth: { kind: "static", token: w.emu.adminToken }, logger: silentLogger });
    // A customer still waiting for matching keeps the account version in the checkpoint from the first run on.
    w.ion.control.addCustomer({ customerOrganization: "Zyxqv Nothing Alike Pty" });
    const first = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "schedule" });
    expect(first.status).toBe("succeeded");
  });
  afterAll(async () => {
    await w?.close();
  });

  it.each([
    ["accounts", "subscriptions"],
    ["subscriptions", "accounts"],
  ] as const)("a %s run that ends after a %s run keeps the other's marks", async (first, second) => {
    const before = await checkpoint();
    expect(before.accountsVersion).toMatch(/^\d+$/);
    expect(before.subscriptionDigest?.until).toMatch(/^\d+$/);
    await changeBoth();
    const afterSecond = await overlap(first, second);
    const end = await checkpoint();
    const accountsRun = first === "accounts" ? end : afterSecond;
    const subscriptionsRun = first === "subscriptions" ? end : afterSecond;
    // Each run moved its own mark (the precondition of the race)...
    expect(BigInt(accountsRun.accountsVersion!)).toBeGreaterThan(BigInt(before.accountsVersion!));
    expect(BigInt(subscriptionsRun.subscriptionDigest!.until)).toBeGreaterThan(BigInt(before.subscriptionDigest!.until));
    // ...and the run that ended last kept the other's.
    if (second === "subscriptions") expect(end.subscriptionDigest).toStrictEqual(afterSecond.subscriptionDigest);
    else expect(end.accountsVersion).toBe(afterSecond.accountsVersion);
  });

  it.each(["subscriptions", "all"] as const)(
    "two overlapping %s runs forget the digest marks, and the next run reads every stored row",
    async (kind) => {
      const before = await checkpoint();
      expect(before.subscriptionDigest?.until).toMatch(/^\d+$/);
      await changeBoth();
      // Each run writes digests without If-Match over the other's: the marks of either would trust them wrongly.
      const afterSecond = await overlap(kind, kind);
      expect(afterSecond.subscriptionDigest?.until).toMatch(/^\d+$/);
      expect(afterSecond.subscriptionDigest).not.toStrictEqual(before.subscriptionDigest);
      expect((await checkpoint()).subscriptionDigest).toBeUndefined();
      const digestsOf = async () => {
        const s = await runSync(w.deps, { connectionId: w.connectionId, kind: "subscriptions", trigger: "schedule" });
        expect(s.status).toBe("succeeded");
        return (s.report as { phases: { subscriptions?: { digests?: { everyRowRead: boolean } } } }).phases.subscriptions?.digests;
      };
      expect((await digestsOf())?.everyRowRead).toBe(true);
      // That full read records marks again, and the run after it trusts the digests.
      expect((await checkpoint()).subscriptionDigest?.until).toMatch(/^\d+$/);
      expect((await digestsOf())?.everyRowRead).toBe(false);
    },
  );
});
