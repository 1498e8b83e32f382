import { collect, IonResponseError, offsetPages, tokenPages } from "../../../src/ion";

describe("tokenPages", () => {
  it("follows nextPageToken until it is empty or absent", async () => {
    const pages: Record<string, { items: number[]; nextPageToken?: string }> = {
      "": { items: [1, 2], nextPageToken: "b" },
      b: { items: [3], nextPageToken: "c" },
      c: { items: [4], nextPageToken: "" },
    };
    const tokens: (string | undefined)[] = [];
    const out = await collect(tokenPages(async (t) => (tokens.push(t), pages[t ?? ""]!), "GET /x"));
    expect(out).toStrictEqual([[1, 2], [3], [4]]);
    expect(tokens).toStrictEqual([undefined, "b", "c"]);
  });

  it("stops with ION_PAGING_LOOP when the server repeats a token", async () => {
    const it = tokenPages(async (t) => ({ items: [t], nextPageToken: t === undefined ? "a" : t === "a" ? "b" : "a" }), "GET /x");
    await expect(collect(it)).rejects.toMatchObject({ code: "ION_PAGING_LOOP" });
    await expect(collect(tokenPages(async () => ({ items: [], nextPageToken: "same" }), "GET /x"))).rejects.toBeInstanceOf(
      IonResponseError,
    );
  });
});

describe("offsetPages", () => {
  const data = Array.from({ length: 250 }, (_, i) => i);

  it("walks by limit/offset until offset reaches totalSize", async () => {
    const calls: [number, number][] = [];
    const pages = await collect(
      offsetPages(
        async (offset, limit) => (calls.push([offset, limit]), { items: data.slice(offset, offset + limit), totalSize: data.length }),
        100,
      ),
    );
    expect(pages.flat()).toStrictEqual(data);
    expect(calls).toStrictEqual([
      [0, 100],
      [100, 100],
      [200, 100],
    ]);
  });

  it("keeps going when the server caps the page below the limit but totalSize says more exist", async () => {
    const pages = await collect(offsetPages(async (offset) => ({ items: data.slice(offset, offset + 40), totalSize: data.length }), 100));
    expect(pages.flat()).toStrictEqual(data);
    expect(pages).toHaveLength(7);
  });

  it("without totalSize, stops at the first short page", async () => {
    const calls: number[] = [];
    const pages = await collect(
      offsetPages(async (offset, limit) => (calls.push(offset), { items: data.slice(offset, offset + limit) }), 100),
    );
    expect(pages.flat()).toHaveLength(250);
    expect(calls).toStrictEqual([0, 100, 200]);
  });

  it("without totalSize and an exact multiple, stops on the empty page", async () => {
    const exact = data.slice(0, 200);
    const calls: number[] = [];
    await collect(offsetPages(async (offset, limit) => (calls.push(offset), { items: exact.slice(offset, offset + limit) }), 100));
    expect(calls).toStrictEqual([0, 100, 200]);
  });
});
