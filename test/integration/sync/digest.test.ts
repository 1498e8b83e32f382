/**
 * The subscriptions digest (src/sync/digest.ts): a run reads the stored subscription rows only of the
 * customers whose Ion list no longer matches their digest or whose rows changed since the last run, and
 * still syncs every change: a changed Ion subscription, an edit of a stored row by an admin, a write refused
 * because another actor changed the row meanwhile, a run interrupted half-way, subscriptions gone from Ion,
 * a row deleted in Dataverse (repaired by the daily full read).
 */
import { DataverseClient } from "../../../src/dataverse";
import { silentLogger } from "../../../src/shared/logger";
import { MappingStatus, runSync, type SyncDeps } from "../../../src/sync";
import { all, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;
const SUB = "w365_providersubscriptions";
const HOUR = 60 * 60 * 1000;

interface DigestReport {
  everyRowRead: boolean;
  customersTrusted: number;
  customersWithRowsChanged?: number;
  customersRead?: number;
  written: number;
}

describe("subscriptions digest", () => {
  let w: World;
  let offset = 0;
  /** Every `$batch` body the sync sends passes here first (a test may act before it reaches Dataverse). */
  let beforeBatch: ((body: string) => Promise<void>) | undefined;
  /** Reads of the provider-account table by the sync (their first pages). */
  let providerAccountReads = 0;
  /** Reads of the highest subscription row version (the digest marks' `since` and `until`). */
  let versionProbes = 0;
  let deps: SyncDeps;
  let admin: DataverseClient;
  let customers: string[];

  const run = async (o: { kind?: "all" | "subscriptions"; hooks?: SyncDeps["hooks"] } = {}) => {
    const s = await runSync(
      { ...deps, hooks: o.hooks },
      { connectionId: w.connectionId, kind: o.kind ?? "subscriptions", trigger: "schedule" },
    );
    const digests = (s.report as { phases: { subscriptions?: { digests?: DigestReport } } }).phases.subscriptions?.digests;
    return { s, digests };
  };
  /** The simulator's subscriptions of a customer, copied (the control hands out its live records). */
  const subsOf = (customerId: string) =>
    w.ion.control
      .subscriptions()
      .filter((x) => x.customerId === customerId)
      .map((x) => ({ ...x }));
  const rowOf = async (ionId: string) =>
    (
      await all<Row>(w.dv, SUB, `w365_ionsubscriptionid eq '${ionId}'`, [
        "w365_providersubscriptionid",
        "w365_quantity",
        "w365_missingsince",
        "w365_name",
      ])
    )[0];
  /** Every mapped customer's stored rows hold Ion's quantities (the end state a full read would reach). */
  const expectInStep = async () => {
    for (const c of customers)
      for (const sub of subsOf(c))
        expect({ id: sub.id, quantity: (await rowOf(sub.id))?.w365_quantity }).toStrictEqual({ id: sub.id, quantity: sub.quantity });
  };

  beforeAll(async () => {
    w = await startWorld({ seed: 41, customers: 12, subscriptionsPerCustomer: 3 });
    const transport: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if ((init?.method ?? "GET") === "GET" && /\/w365_provideraccounts\?/.test(url)) {
        // A read, not its later pages.
        if (!/skiptoken/i.test(url)) providerAccountReads++;
        // Stored provider accounts in pages of 4: beside the accounts phase, digests and settled links arrive page by page.
        const headers = new Headers(init?.headers);
        const prefer = headers.get("prefer");
        if (prefer) headers.set("prefer", prefer.replace(/odata\.maxpagesize=\d+/, "odata.maxpagesize=4"));
        init = { ...init, headers };
      }
      if (
        /\/w365_providersubscriptions\?/.test(url) &&
        /orderby=versionnumber(%20|\+| )desc/i.test(decodeURIComponent(url).replace(/\$/g, ""))
      )
        versionProbes++;
      if (beforeBatch && typeof init?.body === "string" && String(input instanceof Request ? input.url : input).endsWith("$batch"))
        await beforeBatch(init.body);
      return fetch(input, init);
    };
    const dv = new DataverseClient({
      url: w.emu.url,
      auth: { kind: "static", token: w.emu.integrationToken },
      logger: silentLogger,
      fetch: transport,
    });
    deps = { ...w.deps, dataverse: dv, clock: { now: () => Date.now() + offset }, ion: { customerPageSize: 5, subscriptionPageLimit: 5 } };
    admin = new DataverseClient({ url: w.emu.url, auth: { kind: "static", token: w.emu.adminToken }, logger: silentLogger });
    const first = await run({ kind: "all" });
    expect(first.s.status).toBe("succeeded");
    expect(first.digests?.everyRowRead).toBe(true);
    const withSubscriptions = new Set(w.ion.control.subscriptions().map((x) => x.customerId));
    customers = (
      await all<Row>(w.dv, "w365_provideraccounts", `w365_mappingstatus eq ${MappingStatus.Mapped}`, [
        "w365_ioncustomerid",
        "w365_subscriptionsdigest",
      ])
    )
      .filter((r) => withSubscriptions.has(String(r.w365_ioncustomerid)))
      .map((r) => String(r.w365_ioncustomerid))
      .sort();
    expect(customers.length).toBeGreaterThanOrEqual(4);
    expect(first.digests?.written).toBe(customers.length);
  });
  afterAll(async () => {
    await w?.close();
  });
  afterEach(() => {
    beforeBatch = undefined;
  });

  it("a run with nothing changed reads no stored subscription row and writes nothing", async () => {
    providerAccountReads = 0;
    versionProbes = 0;
    const { s, digests } = await run({ kind: "all" });
    expect(s.status).toBe("succeeded");
    // No row written: the start version serves as the marks' `until` (no probe after the writes).
    expect(versionProbes).toBe(1);
    // One read of the provider accounts serves both phases: the accounts phase's state and the digests.
    expect(providerAccountReads).toBe(1);
    expect(digests).toMatchObject({ everyRowRead: false, customersTrusted: customers.length, customersRead: 0, written: 0 });
    expect(s.updated + s.created).toBe(0);
  });

  it("a subscription changed in Ion is written, and only its customer's rows are read", async () => {
    const sub = subsOf(customers[0]!)[0]!;
    w.ion.control.updateSubscription(sub.id, { quantity: sub.quantity + 3 });
    const { s, digests } = await run();
    expect(s.status).toBe("succeeded");
    expect(digests).toMatchObject({ everyRowRead: false, customersRead: 1, written: 1 });
    expect((await rowOf(sub.id))?.w365_quantity).toBe(sub.quantity + 3);
    const again = await run();
    expect(again.digests).toMatchObject({ customersRead: 0, written: 0 });
    expect(again.s.updated).toBe(0);
  });

  it("a stored row an admin edited is read again, not trusted to the digest", async () => {
    const sub = subsOf(customers[1]!)[0]!;
    const row = await rowOf(sub.id);
    // The admin overwrites the quantity and clears the hash (as to force a resync): a full read rewrites such a row.
    await admin.update(SUB, String(row!.w365_providersubscriptionid), { w365_quantity: 999, w365_contenthash: null });
    const { s, digests } = await run();
    expect(s.status).toBe("succeeded");
    expect(digests).toMatchObject({ everyRowRead: false, customersWithRowsChanged: 1, customersRead: 1 });
    expect((await rowOf(sub.id))?.w365_quantity).toBe(sub.quantity);
    await expectInStep();
  });

  it("a row whose write is refused (changed by another actor meanwhile) is not claimed by the digest: the next run writes it", async () => {
    const sub = subsOf(customers[2]!)[0]!;
    const row = await rowOf(sub.id);
    const rowId = String(row!.w365_providersubscriptionid);
    w.ion.control.updateSubscription(sub.id, { quantity: sub.quantity + 1 });
    // Right before the write reaches Dataverse, another actor of the same application (as the functions
    // app handling a webhook would) writes the row: the sync's If-Match write answers 412.
    let acted = false;
    beforeBatch = async (body) => {
      if (acted || !body.includes(`${SUB}(${rowId})`)) return;
      acted = true;
      await w.dv.update(SUB, rowId, { w365_name: row!.w365_name });
    };
    const refused = await run();
    expect(acted).toBe(true);
    expect(refused.s.counts["changed-by-admin"]).toBe(1);
    expect((await rowOf(sub.id))?.w365_quantity).toBe(sub.quantity);
    beforeBatch = undefined;
    const next = await run();
    expect(next.s.status).toBe("succeeded");
    expect((await rowOf(sub.id))?.w365_quantity).toBe(sub.quantity + 1);
    await expectInStep();
  });

  it("a changed customer's row writes and its digest go in one change set: written together, or the rows again alone", async () => {
    const customer = customers[4]!;
    const sub = subsOf(customer)[0]!;
    const rowId = String((await rowOf(sub.id))!.w365_providersubscriptionid);
    const accountId = String(
      (await all<Row>(w.dv, "w365_provideraccounts", `w365_ioncustomerid eq '${customer}'`, ["w365_provideraccountid"]))[0]!
        .w365_provideraccountid,
    );
    const digestOf = async () =>
      (await all<Row>(w.dv, "w365_provideraccounts", `w365_provideraccountid eq ${accountId}`, ["w365_subscriptionsdigest"]))[0]!
        .w365_subscriptionsdigest;
    /** The change sets of the sync's $batch bodies, each as the rows it writes ("sub" / "account"). */
    const sets: string[][] = [];
    const rowWrites: string[] = [];
    const watch = async (body: string) => {
      const named = (m: RegExpMatchArray) => (m[2] === rowId ? "sub" : m[2] === accountId ? "account" : m[1]!);
      let inSet = false;
      for (const [, boundary] of body.matchAll(/boundary=(changeset_[^\r\n;]+)/g)) {
        const block = body.slice(body.indexOf(`--${boundary}`), body.indexOf(`--${boundary}--`));
        const writes = [...block.matchAll(/PATCH \S*\/(w365_\w+)\(([^)]+)\)/g)].map(named);
        if (writes.length > 0) sets.push(writes);
        if (writes.includes("sub")) inSet = true;
      }
      if (body.includes(`${SUB}(${rowId})`)) rowWrites.push(inSet ? "in a change set" : "alone");
    };

    w.ion.control.updateSubscription(sub.id, { quantity: sub.quantity + 5 });
    beforeBatch = watch;
    const together = await run();
    expect(together.s.status).toBe("succeeded");
    expect(sets).toContainEqual(["account", "sub"]);
    expect(rowWrites).toStrictEqual(["in a change set"]);
    expect(together.digests).toMatchObject({ customersRead: 1, written: 1 });
    expect((await rowOf(sub.id))?.w365_quantity).toBe(sub.quantity + 5);
    const stamped = await digestOf();
    expect(await run()).toMatchObject({ digests: { customersRead: 0, written: 0 } });

    // Another actor writes the row right before the change set reaches Dataverse: its If-Match write answers
    // 412, the change set is rolled back (digest included), the row goes again alone (412 again: reported),
    // and the digest is not claimed for content the row does not hold.
    sets.length = 0;
    rowWrites.length = 0;
    w.ion.control.updateSubscription(sub.id, { quantity: sub.quantity + 6 });
    let acted = false;
    beforeBatch = async (body) => {
      await watch(body);
      if (acted || !body.includes(`${SUB}(${rowId})`)) return;
      acted = true;
      await w.dv.update(SUB, rowId, { w365_name: String((await rowOf(sub.id))!.w365_name) });
    };
    const refused = await run();
    expect(acted).toBe(true);
    expect(rowWrites).toStrictEqual(["in a change set", "alone"]);
    expect(refused.s.counts["changed-by-admin"]).toBe(1);
    expect((await rowOf(sub.id))?.w365_quantity).toBe(sub.quantity + 5);
    expect(await digestOf()).not.toBe(stamped);
    beforeBatch = undefined;
    const next = await run();
    expect(next.s.status).toBe("succeeded");
    expect((await rowOf(sub.id))?.w365_quantity).toBe(sub.quantity + 6);
    await expectInStep();
  });

  it("an admin's edit made while a run is under way is seen by the next run", async () => {
    const changed = subsOf(customers[0]!)[0]!;
    const edited = subsOf(customers[1]!)[1]!;
    const editedRowId = String((await rowOf(edited.id))!.w365_providersubscriptionid);
    const changedRowId = String((await rowOf(changed.id))!.w365_providersubscriptionid);
    w.ion.control.updateSubscription(changed.id, { quantity: changed.quantity + 1 });
    // The run trusts the edited row's customer to its digest; the admin edits the row before the run's write goes out.
    let acted = false;
    beforeBatch = async (body) => {
      if (acted || !body.includes(`${SUB}(${changedRowId})`)) return;
      acted = true;
      await admin.update(SUB, editedRowId, { w365_quantity: 999, w365_contenthash: null });
    };
    const during = await run();
    expect(acted).toBe(true);
    expect(during.s.status).toBe("succeeded");
    expect((await rowOf(edited.id))?.w365_quantity).toBe(999);
    beforeBatch = undefined;
    const next = await run();
    expect(next.digests).toMatchObject({ everyRowRead: false, customersWithRowsChanged: 1 });
    expect((await rowOf(edited.id))?.w365_quantity).toBe(edited.quantity);
    await expectInStep();
  });

  it("a run interrupted half-way leaves no digest claiming what it wrote", async () => {
    // Two changes on different pages; the run stops after its first subscriptions page.
    const ordered = w.ion.control
      .subscriptions()
      .filter((x) => customers.includes(x.customerId))
      .map((x) => ({ ...x }));
    const early = ordered[0]!;
    const late = ordered[ordered.length - 1]!;
    w.ion.control.updateSubscription(early.id, { quantity: early.quantity + 2 });
    w.ion.control.updateSubscription(late.id, { quantity: late.quantity + 2 });
    const crashed = await run({
      hooks: {
        afterPage: ({ phase }) => {
          if (phase === "subscriptions") throw new Error("process stopped");
        },
      },
    });
    expect(crashed.s.status).toBe("failed");
    expect((await rowOf(early.id))?.w365_quantity).toBe(early.quantity + 2);
    // Ion goes back to the value the digest still holds for the early one: the row must follow it.
    w.ion.control.updateSubscription(early.id, { quantity: early.quantity });
    const next = await run();
    expect(next.s.status).toBe("succeeded");
    expect((await rowOf(early.id))?.w365_quantity).toBe(early.quantity);
    expect((await rowOf(late.id))?.w365_quantity).toBe(late.quantity + 2);
    await expectInStep();
  });

  it("subscriptions gone from Ion are flagged with the digest on", async () => {
    const gone = customers[3]!;
    const subs = subsOf(gone);
    w.ion.control.removeCustomer(gone, "delete");
    const { s, digests } = await run();
    expect(s.status).toBe("succeeded");
    expect(digests?.everyRowRead).toBe(false);
    expect(s.counts["missing-subscription"]).toBe(subs.length);
    for (const sub of subs) expect((await rowOf(sub.id))?.w365_missingsince).toBeTruthy();
    const again = await run();
    expect(again.s.counts["missing-subscription"] ?? 0).toBe(0);
    expect(again.digests).toMatchObject({ customersRead: 0, written: 0 });
    customers = customers.filter((c) => c !== gone);
  });

  it("a row deleted in Dataverse is recreated by the daily full read", async () => {
    const sub = subsOf(customers[0]!)[1]!;
    await w.dv.delete(SUB, String((await rowOf(sub.id))!.w365_providersubscriptionid));
    // Within the day the digest is trusted (a deletion leaves no row version to see)...
    const within = await run();
    expect(within.digests?.everyRowRead).toBe(false);
    expect(await rowOf(sub.id)).toBeUndefined();
    // ...a day after the last full read every row is read again.
    offset += 25 * HOUR;
    const daily = await run();
    expect(daily.digests?.everyRowRead).toBe(true);
    expect(daily.s.created).toBe(1);
    expect((await rowOf(sub.id))?.w365_quantity).toBe(sub.quantity);
    const after = await run();
    expect(after.digests).toMatchObject({ everyRowRead: false, customersRead: 0, written: 0 });
  });
});
