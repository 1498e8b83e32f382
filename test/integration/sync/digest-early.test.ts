/**
 * Digests written while Ion's subscription list is still read (src/sync/subscriptions.ts, `stampEarly`): a
 * changed customer whose stored rows were read, all listed by Ion and all written has its digest written at a
 * page boundary, not after the list; a customer with a stored row on a page not read yet is not, whatever its
 * writes; a run stopped after such writes leaves digests the next run can trust, and nothing is missed.
 */
import { latencyModel } from "../../../sandbox/latency";
import { MappingStatus, runSync } from "../../../src/sync";
import { CUSTOMERS_PER_EARLY_READ } from "../../../src/sync/digest";
import { all, startWorld, type World } from "../../support/world";

type Row = Record<string, unknown>;
const SUB = "w365_providersubscriptions";
const PAGE = 40;
const LIST = "GET /api/v3/accounts/{A}/subscriptions";

interface DigestReport {
  everyRowRead: boolean;
  customersRead?: number;
  written: number;
}

describe("digests written while Ion's list is read", () => {
  let w: World;
  /** Mapped customers with subscriptions, in Ion's list order (subscription ids grow customer by customer). */
  let customers: string[];
  /** The customer whose last subscription was added after the others: its stored row sits on the list's last page. */
  let spanning: string;

  const run = async (hooks?: { afterPage?: (info: { phase: string; page: number }) => void | Promise<void> }) => {
    const s = await runSync({ ...w.deps, hooks }, { connectionId: w.connectionId, kind: "subscriptions", trigger: "schedule" });
    const digests = (s.report as { phases: { subscriptions?: { digests?: DigestReport } } }).phases.subscriptions?.digests;
    return { s, digests };
  };
  const digestOf = async (customerId: string) =>
    (await all<Row>(w.dv, "w365_provideraccounts", `w365_ioncustomerid eq '${customerId}'`, ["w365_subscriptionsdigest"]))[0]
      ?.w365_subscriptionsdigest;
  const subsOf = (customerId: string) =>
    w.ion.control
      .subscriptions()
      .filter((x) => x.customerId === customerId)
      .map((x) => ({ ...x }));
  const expectInStep = async () => {
    const rows = await all<Row>(w.dv, SUB, `w365_ionsubscriptionid ne null`, ["w365_ionsubscriptionid", "w365_quantity"]);
    const stored = new Map(rows.map((r) => [String(r.w365_ionsubscriptionid), r.w365_quantity]));
    for (const c of customers) for (const sub of subsOf(c)) expect([sub.id, stored.get(sub.id)]).toStrictEqual([sub.id, sub.quantity]);
  };
  const lastPage = () => Math.ceil(w.ion.control.subscriptions().length / PAGE);
  /** Changes one subscription of each of the first `count` customers, `spanning` among them. */
  const changeCustomers = (count: number, by: number) => {
    const changed = [spanning, ...customers.filter((c) => c !== spanning).slice(0, count - 1)];
    for (const c of changed) {
      const sub = subsOf(c)[0]!;
      w.ion.control.updateSubscription(sub.id, { quantity: sub.quantity + by });
    }
    return changed;
  };

  beforeAll(async () => {
    // More changed customers than one early read of stored rows takes, in 2-subscription customers (about half of them mapped) on pages of 40.
    // Dataverse answers `x-ms-dop-hint` as a real environment does (the writer sends rows during the reads only
    // then), at no cost per request; Ion's calls take time as in a tenant (without it the simulator hands over the
    // whole list before the first read of stored rows is answered, and every digest is final only at the end).
    const model = latencyModel(
      "cloud",
      "dataverse.baseMs=0,dataverse.writeRowMs=0,dataverse.readRowMs=0,ion.roundTripMs=0,ion.serverMs=40,ion.itemMs=0",
    )!;
    w = await startWorld({
      seed: 83,
      customers: 3 * CUSTOMERS_PER_EARLY_READ,
      subscriptionsPerCustomer: 2,
      emulator: { latency: model.dataverse },
      ion: { latency: model.ion },
    });
    w.deps.ion = { customerPageSize: 50, subscriptionPageLimit: PAGE };
    const first = await runSync(w.deps, { connectionId: w.connectionId, kind: "all", trigger: "schedule" });
    expect(first.status).toBe("succeeded");
    const withSubscriptions = new Set(w.ion.control.subscriptions().map((x) => x.customerId));
    customers = (await all<Row>(w.dv, "w365_provideraccounts", `w365_mappingstatus eq ${MappingStatus.Mapped}`, ["w365_ioncustomerid"]))
      .map((r) => String(r.w365_ioncustomerid))
      .filter((c) => withSubscriptions.has(c));
    const order = new Map(w.ion.control.subscriptions().map((s, i) => [s.customerId, i] as const));
    customers.sort((a, b) => order.get(a)! - order.get(b)!);
    expect(customers.length).toBeGreaterThan(CUSTOMERS_PER_EARLY_READ + 10);
    // One of the first customers gets a subscription with the highest id: listed last, on the last page.
    spanning = customers[2]!;
    w.ion.control.addSubscription(spanning, { quantity: 7 });
    const stored = await run();
    expect(stored.s.status).toBe("succeeded");
    expect((await run()).digests).toMatchObject({ everyRowRead: false, customersRead: 0, written: 0 });
  });
  afterAll(async () => {
    await w?.close();
  });

  it("a changed customer's digest is written before the list's last page; one with a stored row on that page is not", async () => {
    const changed = changeCustomers(CUSTOMERS_PER_EARLY_READ + 5, 2);
    const early = changed[5]!;
    const before = { early: await digestOf(early), spanning: await digestOf(spanning) };
    // The list's last two pages answer late: the spanning customer's last stored row is on the last one.
    const last = lastPage();
    w.ion.control.setFaults({ rules: [{ endpoint: LIST, afterRequests: last - 2, kind: "latency", latencyMs: 1500 }] });
    const listRequests = () => w.ion.control.requestLog().filter((e) => e.endpoint === LIST);
    const earlier = listRequests().length;
    const lastPagePending = () => {
      const pages = listRequests().slice(earlier);
      return pages.length < last || pages.slice(last - 2).some((e) => e.status === 0);
    };
    const running = run();
    try {
      let digestNow = before.early;
      while (digestNow === before.early && lastPagePending()) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        digestNow = await digestOf(early);
      }
      // Written while the last pages were still to come...
      expect(lastPagePending()).toBe(true);
      expect(digestNow).not.toBe(before.early);
      // ...but not for the customer whose stored row Ion lists on the last page.
      expect(await digestOf(spanning)).toBe(before.spanning);
    } finally {
      await running;
      w.ion.control.setFaults({});
    }
    const { s, digests } = await running;
    expect(s.status).toBe("succeeded");
    expect(digests?.everyRowRead).toBe(false);
    expect(await digestOf(spanning)).not.toBe(before.spanning);
    await expectInStep();
    // Every digest written is complete and true: the next run reads no stored row and writes nothing.
    expect((await run()).digests).toMatchObject({ customersRead: 0, written: 0 });
  });

  it("a run stopped after writing digests early leaves nothing the next run misses", async () => {
    const changed = changeCustomers(CUSTOMERS_PER_EARLY_READ + 5, 3);
    // A subscription added to a changed customer after its digest can go out early: a new row on the last page.
    const added = w.ion.control.addSubscription(changed[7]!, { quantity: 11 });
    const early = changed[5]!;
    const before = await digestOf(early);
    let stoppedAt = 0;
    const stopped = await run({
      afterPage: async ({ phase, page }) => {
        if (phase !== "subscriptions" || stoppedAt > 0) return;
        if ((await digestOf(early)) !== before) {
          stoppedAt = page;
          throw new Error("the worker stopped");
        }
      },
    });
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(lastPage());
    expect(stopped.s.status).not.toBe("succeeded");
    const next = await run();
    expect(next.s.status).toBe("succeeded");
    await expectInStep();
    // The subscription added after its customer's digest could go out early is stored too, with its quantity.
    const addedRows = await all<Row>(w.dv, SUB, `w365_ionsubscriptionid eq '${added.id}'`, ["w365_quantity"]);
    expect(addedRows.map((r) => r.w365_quantity)).toStrictEqual([11]);
    expect((await run()).digests).toMatchObject({ customersRead: 0, written: 0 });
  });
});
