/**
 * The emulator's automatic query tuning (sandbox/dataverse/store.ts `tuneFor`, after Dataverse's "Automatic query
 * optimization"): a query pinning two columns by equality on a large table gets an index on them, and its answer
 * is the one the table gives without it.
 */
import { AUTO_INDEX_MIN_ROWS } from "../../../../sandbox/dataverse/store";
import { DataverseClient } from "../../../../src/dataverse";
import { silentLogger } from "../../../../src/shared/logger";
import { type Api, startWithFixture } from "../../../support/dataverseFixture";

let api: Api;
let dv: DataverseClient;
let conn: string;

const QUANTITIES = 40;

async function addSubscriptions(from: number, count: number): Promise<void> {
  const ops = Array.from({ length: count }, (_, k) => ({
    method: "POST" as const,
    entitySet: "w365_providersubscriptions",
    body: {
      w365_ionsubscriptionid: `S-${from + k}`,
      w365_quantity: (from + k) % QUANTITIES,
      "w365_connection@odata.bind": `/w365_providerconnections(${conn})`,
    },
  }));
  const results = await dv.batch(ops, { continueOnError: true });
  expect(results.every((r) => r.ok)).toBe(true);
}

type Row = { w365_providersubscriptionid: string; w365_quantity: number };

async function rows(filter: string): Promise<Row[]> {
  const out: Row[] = [];
  for await (const page of dv.queryPages<Row>("w365_providersubscriptions", {
    select: ["w365_providersubscriptionid", "w365_quantity"],
    filter,
    pageSize: 5000,
  }))
    out.push(...page.map((r) => ({ w365_providersubscriptionid: r.w365_providersubscriptionid, w365_quantity: r.w365_quantity })));
  return out;
}

beforeAll(async () => {
  api = await startWithFixture();
  dv = new DataverseClient({ url: api.emu.url, auth: { kind: "static", token: api.emu.integrationToken }, logger: silentLogger });
  const c = await api.call("POST", "w365_providerconnections", { body: { w365_name: "Tuning conn" } });
  conn = /\(([0-9a-f-]{36})\)$/.exec(c.headers.get("odata-entityid")!)![1]!;
}, 60_000);
afterAll(async () => {
  await api.emu.close();
});

describe("Dataverse emulator: automatic query tuning", () => {
  const wanted = [3, 7, 11, 19];
  const pinned = () => `_w365_connection_value eq ${conn} and (${wanted.map((q) => `w365_quantity eq ${q}`).join(" or ")})`;

  it("leaves a small table alone, then indexes the pinned columns of a large one; the answer is the unindexed one", async () => {
    await addSubscriptions(0, AUTO_INDEX_MIN_ROWS - 1000);
    const small = await rows(pinned());
    expect(api.emu.stats().autoIndexes).toEqual([]);

    await addSubscriptions(AUTO_INDEX_MIN_ROWS - 1000, 1500);
    // The expected answer, from a read that pins one column only (never tuned): every row of the connection.
    const all = await rows(`_w365_connection_value eq ${conn}`);
    expect(all).toHaveLength(AUTO_INDEX_MIN_ROWS + 500);
    const expected = all.filter((r) => wanted.includes(r.w365_quantity));

    const tuned = await rows(pinned());
    expect(api.emu.stats().autoIndexes).toEqual(["auto_w365_providersubscription_w365_connection_w365_quantity"]);
    // Same rows, in the same (primary key) order the query pages in.
    expect(tuned).toEqual(expected);
    expect(tuned.length).toBeGreaterThan(small.length);
    expect(await rows(pinned())).toEqual(expected);
  }, 120_000);

  it("adds no index where one already leads with the pinned columns (an alternate key)", async () => {
    const before = api.emu.stats().autoIndexes;
    const r = await api.call(
      "GET",
      `w365_providersubscriptions?$select=w365_quantity&$filter=${encodeURIComponent(`_w365_connection_value eq ${conn} and w365_ionsubscriptionid eq 'S-42'`)}`,
    );
    expect(r.status).toBe(200);
    expect(r.json.value).toEqual([expect.objectContaining({ w365_quantity: 42 % QUANTITIES })]);
    expect(api.emu.stats().autoIndexes).toEqual(before);
  });
});
