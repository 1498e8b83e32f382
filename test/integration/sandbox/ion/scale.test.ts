/** Scale: 10,000 customers × 5 subscriptions page completely and exactly once (§5 both paging styles). Counts only, no timing. */
import { type IonSimulator, startIonSimulator } from "../../../../sandbox/ion";
import { accessToken, call, v3 } from "../../../support/ionSimulator";

describe("Ion simulator at 10,000 customers × 5 subscriptions", () => {
  let sim: IonSimulator;
  let token: string;
  beforeAll(async () => {
    sim = await startIonSimulator({ customers: 10_000, subscriptionsPerCustomer: 5 });
    token = await accessToken(sim);
  });
  afterAll(async () => {
    await sim.close();
  });

  it("reads every customer once through token paging (pageSize 1000)", async () => {
    const names = new Set<string>();
    let pageToken = "";
    let pages = 0;
    do {
      const r = await call(sim, "GET", v3(sim, `/customers?pageSize=1000${pageToken ? `&pageToken=${pageToken}` : ""}`), { token });
      expect(r.status).toBe(200);
      for (const c of r.body.customers) names.add(c.name);
      pageToken = r.body.nextPageToken;
      pages++;
    } while (pageToken);
    expect(pages).toBe(10);
    expect(names.size).toBe(10_000);
  });

  it("reads every subscription once through offset paging (limit 1000) with a stable totalSize", async () => {
    const ids = new Set<string>();
    let total = -1;
    for (let offset = 0; ; offset += 1000) {
      const r = await call(sim, "GET", v3(sim, `/subscriptions?pagination.limit=1000&pagination.offset=${offset}`), { token });
      if (total < 0) total = r.body.paginationResponse.totalSize;
      expect(r.body.paginationResponse.totalSize).toBe(total);
      if (r.body.items.length === 0) break;
      for (const s of r.body.items) ids.add(s.id);
    }
    expect(total).toBe(50_000);
    expect(ids.size).toBe(50_000);
  });

  it("per-customer lists come from the index and add up to the account total", async () => {
    const customers = sim.control.customers();
    const sample = customers.filter((_, i) => i % 50 === 0);
    let fromApi = 0;
    let expected = 0;
    const perCustomer = new Map<string, number>();
    for (const s of sim.control.subscriptions()) perCustomer.set(s.customerId, (perCustomer.get(s.customerId) ?? 0) + 1);
    for (const c of sample) {
      const r = await call(sim, "GET", v3(sim, `/subscriptions?customerId=${c.id}&pagination.limit=1000`), { token });
      for (const s of r.body.items) expect(s.customerId).toBe(c.id);
      fromApi += r.body.items.length;
      expected += perCustomer.get(c.id) ?? 0;
    }
    expect(fromApi).toBe(expected);
    expect([...perCustomer.values()].reduce((a, b) => a + b, 0)).toBe(50_000);
  });
});
