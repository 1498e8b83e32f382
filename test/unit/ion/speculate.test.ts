/** `IonHttp.speculate`: a GET sent ahead of its caller, taken once by the first identical call. */
import { IonHttp } from "../../../src/ion/http";
import type { IonTransport } from "../../../src/ion/transport";

function countingHttp() {
  const sent: string[] = [];
  const transport = {
    withPolicy: (_m: string, _e: string, _i: boolean, fn: (attempt: number) => Promise<unknown>) => fn(1),
    send: async (o: { url: string; query?: Record<string, unknown> }) => {
      sent.push(`${o.url.replace(/^.*\/accounts\/[^/]+/, "")} ${JSON.stringify(o.query)}`);
      return { status: 200, headers: {}, body: JSON.stringify({ n: sent.length }) };
    },
    toResult: (r: { body: string }) => JSON.parse(r.body) as unknown,
    logger: { info: () => undefined },
  } as unknown as IonTransport;
  const http = new IonHttp({ baseUrl: "http://ion.test", accountId: "1", transport, tokens: { getAccessToken: async () => "t" } as never });
  return { http, sent };
}

const page = (offset: number, extra: Record<string, unknown> = {}) => ({
  method: "GET" as const,
  path: "/subscriptions",
  endpoint: "GET /subscriptions",
  idempotent: true,
  query: { "pagination.limit": 10, "pagination.offset": offset, ...extra },
});

describe("IonHttp.speculate", () => {
  it("sends at once; the first identical call (query in any order, undefined members aside) takes the answer, once", async () => {
    const { http, sent } = countingHttp();
    http.speculate(page(0));
    http.speculate(page(0));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toHaveLength(1);
    expect(http.speculativeLeft).toBe(1);
    const reordered = { ...page(0), query: { customerId: undefined, "pagination.offset": 0, "pagination.limit": 10 } };
    await expect(http.call(reordered)).resolves.toStrictEqual({ n: 1 });
    expect(http.speculativeLeft).toBe(0);
    await expect(http.call(page(0))).resolves.toStrictEqual({ n: 2 });
    expect(sent).toHaveLength(2);
  });

  it("leaves other calls alone, and refuses anything but a GET", async () => {
    const { http, sent } = countingHttp();
    http.speculate(page(10));
    await expect(http.call(page(0))).resolves.toStrictEqual({ n: 2 });
    await expect(http.call(page(10, { customerId: "C1" }))).resolves.toStrictEqual({ n: 3 });
    expect(sent).toHaveLength(3);
    expect(http.speculativeLeft).toBe(1);
    expect(() => http.speculate({ ...page(0), method: "POST" })).toThrow(/Only a GET/);
  });
});
