/** The subscriptions digest's pure parts (src/sync/digest.ts). */
import {
  customerFilters,
  CUSTOMERS_PER_READ,
  DIGEST_PREFIX,
  formatDigest,
  FULL_READ_EVERY_MS,
  marksUsable,
  MAX_FILTER_URL_CHARS,
  MIN_CUSTOMERS_PER_PARALLEL_READ,
  parseDigest,
  readMarks,
  splitForParallelReads,
  subscriptionToken,
} from "../../../src/sync/digest";

const marks = { since: "10", until: "20", user: "00000000-0000-0000-0000-000000000001", fullReadAt: "2026-01-01T00:00:00.000Z" };

describe("subscriptions digest", () => {
  it("a token changes with the id and with the content hash", () => {
    const t = subscriptionToken("S-1", "h1");
    expect(t).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(subscriptionToken("S-1", "h1")).toBe(t);
    expect(subscriptionToken("S-2", "h1")).not.toBe(t);
    expect(subscriptionToken("S-1", "h2")).not.toBe(t);
  });

  it("the same tokens in any order are the same text; the text reads back as the set", () => {
    expect(formatDigest(["b", "a", "c"])).toBe(formatDigest(["c", "b", "a"]));
    expect(parseDigest(formatDigest(["b", "a"]))).toStrictEqual(new Set(["a", "b"]));
    expect(parseDigest(DIGEST_PREFIX)).toStrictEqual(new Set());
  });

  it("no digest, or one of another format, reads as none", () => {
    expect(parseDigest(undefined)).toBeUndefined();
    expect(parseDigest(null)).toBeUndefined();
    expect(parseDigest("d0:abc")).toBeUndefined();
  });

  it("marks are read only when complete", () => {
    expect(readMarks(marks)).toStrictEqual(marks);
    expect(readMarks({ ...marks, since: "x" })).toBeUndefined();
    expect(readMarks({ ...marks, user: undefined })).toBeUndefined();
    expect(readMarks("text")).toBeUndefined();
  });

  it("marks are trusted for a day after the last full read, and not from the future", () => {
    const at = Date.parse(marks.fullReadAt);
    expect(marksUsable(marks, at + FULL_READ_EVERY_MS - 1)).toBe(true);
    expect(marksUsable(marks, at + FULL_READ_EVERY_MS)).toBe(false);
    expect(marksUsable(marks, at - 1)).toBe(false);
    expect(marksUsable(undefined, at)).toBe(false);
  });
});

describe("stored-row queries of changed customers", () => {
  const connection = "11111111-2222-3333-4444-555555555555";
  const idsIn = (filter: string) => [...filter.matchAll(/w365_ioncustomerid eq '((?:[^']|'')*)'/g)].map((m) => m[1]!.replace(/''/g, "'"));

  it("asks for every customer exactly once, in order, at most CUSTOMERS_PER_READ per query", () => {
    const ids = Array.from({ length: 2 * CUSTOMERS_PER_READ + 7 }, (_, i) => String(100000 + i));
    const filters = customerFilters(connection, ids);
    expect(filters.map((f) => idsIn(f).length)).toEqual([CUSTOMERS_PER_READ, CUSTOMERS_PER_READ, 7]);
    expect(filters.flatMap(idsIn)).toEqual(ids);
    for (const f of filters) expect(f.startsWith(`_w365_connection_value eq ${connection} and (`)).toBe(true);
  });

  it("cuts a query earlier when long ids would pass the URL budget, and quotes them", () => {
    const ids = Array.from({ length: 200 }, (_, i) => `customer-with-a-rather-long-id-from-another-system-o'brien-${i}-${"x".repeat(40)}`);
    const filters = customerFilters(connection, ids);
    expect(filters.length).toBeGreaterThan(1);
    for (const f of filters) expect(encodeURIComponent(f).length).toBeLessThanOrEqual(MAX_FILTER_URL_CHARS);
    expect(filters.flatMap(idsIn)).toEqual(ids);
  });

  it("no customers, no query", () => {
    expect(customerFilters(connection, [])).toEqual([]);
  });
});

describe("a read the run waits on, cut for Dataverse's parallelism", () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `C${i}`);

  it("goes as up to dop-hint pieces of at least MIN_CUSTOMERS_PER_PARALLEL_READ, every customer once, in order", () => {
    const pieces = splitForParallelReads(ids(100), 8);
    expect(pieces.map((p) => p.length)).toEqual([20, 20, 20, 20, 20]);
    expect(pieces.flat()).toEqual(ids(100));
    const many = splitForParallelReads(ids(1000), 8);
    expect(many).toHaveLength(8);
    expect(many.flat()).toEqual(ids(1000));
    for (const p of many) expect(p.length).toBeGreaterThanOrEqual(MIN_CUSTOMERS_PER_PARALLEL_READ);
  });

  it("stays one query when it is small or no parallelism is hinted", () => {
    expect(splitForParallelReads(ids(2 * MIN_CUSTOMERS_PER_PARALLEL_READ - 1), 8)).toEqual([ids(2 * MIN_CUSTOMERS_PER_PARALLEL_READ - 1)]);
    expect(splitForParallelReads(ids(500), undefined)).toEqual([ids(500)]);
    expect(splitForParallelReads([], 8)).toEqual([]);
  });
});
