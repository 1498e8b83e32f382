import * as http from "node:http";
import { Socket } from "node:net";

import axios, { AxiosInstance } from "axios";

import { createIonAxios, IonTransport, RawRequest, RawResponse, sendRaw } from "../../../src/ion/transport";
import { FakeIon, IonRequest, startFakeIon } from "../../support/httpStubs";

/** What reached the server, without the parts that differ between two connections. */
function seen(r: IonRequest): Record<string, unknown> {
  return { method: r.method, path: r.path, query: [...r.query.entries()], headers: r.headers, body: r.body };
}

describe("sendRaw", () => {
  let ion: FakeIon;
  beforeEach(async () => {
    ion = await startFakeIon();
    ion.routes.push((r) => {
      if (r.path === "/echo") return { status: 200, body: { ok: true }, headers: { "X-Request-Id": "abc", "Retry-After": "3" } };
      if (r.path === "/text") return { status: 502, body: "\uFEFF<html>bad gateway</html>" };
      if (r.path === "/empty") return { status: 204 };
      return undefined;
    });
  });
  afterEach(async () => {
    await ion.close();
  });

  const requests = (): RawRequest[] => [
    {
      method: "GET",
      url: `${ion.url}/echo`,
      endpoint: "GET /echo",
      headers: { Authorization: "Bearer ABCDEFGHIJKL", Accept: "application/json" },
    },
    {
      method: "GET",
      url: `${ion.url}/echo`,
      endpoint: "GET /echo",
      headers: { Accept: "application/json" },
      params: {
        pageSize: 1000,
        pageToken: "a+b/c=d e",
        "filter.customerStatus": "CUSTOMER_STATUS_UNSPECIFIED",
        "filter.customerName": undefined,
        flag: true,
      },
    },
    {
      method: "POST",
      url: `${ion.url}/echo`,
      endpoint: "POST /echo",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      data: JSON.stringify({ a: 1, b: "é" }),
    },
    {
      method: "PUT",
      url: `${ion.url}/echo`,
      endpoint: "PUT /echo",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      data: JSON.stringify({ name: "x" }),
      timeoutMs: 5000,
    },
    {
      method: "POST",
      url: `${ion.url}/oauth/token`,
      endpoint: "POST /oauth/token",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      data: "grant_type=refresh_token&refresh_token=nope",
    },
    { method: "GET", url: `${ion.url}/text`, endpoint: "GET /text" },
    { method: "GET", url: `${ion.url}/empty`, endpoint: "GET /empty" },
  ];

  async function sendAll(client: AxiosInstance): Promise<{ sent: Record<string, unknown>[]; answers: RawResponse[] }> {
    ion.requests.length = 0;
    const answers: RawResponse[] = [];
    for (const request of requests()) answers.push(await sendRaw(client, request));
    // The date header is the only part of an answer that changes between two sends.
    for (const a of answers) delete a.headers.date;
    return { sent: ion.requests.map(seen), answers };
  }

  it("sends and answers exactly as through an injected plain axios instance", async () => {
    const prepared = await sendAll(createIonAxios());
    const injected = await sendAll(axios.create());
    expect(prepared).toStrictEqual(injected);
    expect(prepared.answers[0]).toMatchObject({ status: 200, body: '{"ok":true}', headers: { "x-request-id": "abc", "retry-after": "3" } });
    expect(prepared.answers[5]).toMatchObject({ status: 502, body: "<html>bad gateway</html>" });
    expect(prepared.answers[6]).toMatchObject({ status: 204, body: "" });
  });

  it("keeps a pooled socket's TCP keep-alive settings instead of resetting them on every request", async () => {
    const client = createIonAxios();
    const request = requests()[0]!;
    await sendRaw(client, request);
    const agent = client.defaults.httpAgent as http.Agent;
    const [socket] = Object.values(agent.freeSockets).flat() as Socket[];
    // The native handle is where a keep-alive change becomes setsockopt calls.
    const handle = (socket as unknown as { _handle: { setKeepAlive(enable: boolean, delayS: number): number } })._handle;
    const setKeepAlive = jest.spyOn(handle, "setKeepAlive");
    for (let i = 0; i < 3; i++) await sendRaw(client, request);
    expect(Object.values(agent.freeSockets).flat()).toStrictEqual([socket]);
    expect(setKeepAlive).not.toHaveBeenCalled();
  });
});

describe("IonTransport Retry-After pause", () => {
  let ion: FakeIon;
  beforeEach(async () => {
    ion = await startFakeIon();
    let first = true;
    ion.routes.push((r) => {
      if (r.path !== "/busy") return undefined;
      if (first) {
        first = false;
        return { status: 429, body: { code: 429, message: "RESOURCE_EXHAUSTED" }, headers: { "Retry-After": "7" } };
      }
      return { status: 200, body: { ok: true } };
    });
  });
  afterEach(async () => {
    await ion.close();
  });

  it("holds this transport's next requests until its Retry-After has passed, and no other transport's", async () => {
    const now = 5_000_000;
    const sleeps: string[] = [];
    const waits: number[] = [];
    const make = (name: string) =>
      new IonTransport({
        clock: { now: () => now },
        sleep: async (ms) => void sleeps.push(`${name}:${ms}`),
        random: () => 0,
        onThrottleWait: (w) => waits.push(w.delayMs),
      });
    const a = make("a");
    const b = make("b");
    const get = (t: IonTransport) =>
      t.request({ method: "GET", url: `${ion.url}/busy`, endpoint: "GET /busy", headers: {}, kind: "v3", idempotent: true });
    await expect(get(a)).resolves.toStrictEqual({ ok: true }); // 429, retried after 7 s
    expect(sleeps).toStrictEqual(["a:7000"]);
    await get(b); // another account's transport: not paused
    expect(sleeps).toStrictEqual(["a:7000"]);
    await get(a); // the clock has not moved: a waits out its Retry-After before sending
    expect(sleeps).toStrictEqual(["a:7000", "a:7000"]);
    expect(waits).toStrictEqual([7000]);
    expect([a.throttled, b.throttled]).toStrictEqual([1, 0]);
  });
});
