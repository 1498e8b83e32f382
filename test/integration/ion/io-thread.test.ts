import { execFile } from "node:child_process";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import path from "node:path";
import { Worker } from "node:worker_threads";

import { IonNetworkError } from "../../../src/ion/errors";
import { IonIoThread } from "../../../src/ion/ioThread";
import { IonTransport, type RawResponse } from "../../../src/ion/transport";
import { bundleChildScript } from "../../support/childScript";
import { FakeIon, IonRequest, startFakeIon } from "../../support/httpStubs";

/**
 * A server on a thread of its own (so a test can keep the Jest thread busy while it answers): `/hold?ms=N&tag=T`
 * records T's arrival (epoch ms) and answers after N ms; it reports the most requests it held at once.
 */
const SERVER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const http = require("node:http");
const arrivals = [];
let active = 0, peak = 0;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  arrivals.push({ tag: url.searchParams.get("tag"), at: performance.timeOrigin + performance.now() });
  active++; peak = Math.max(peak, active);
  setTimeout(() => { active--; res.writeHead(200, { "content-type": "application/json" }); res.end(JSON.stringify({ tag: url.searchParams.get("tag") })); },
    Number(url.searchParams.get("ms") || 0));
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port }));
parentPort.on("message", (m) => {
  if (m === "report") parentPort.postMessage({ arrivals, peak });
  if (m === "close") server.close(() => parentPort.postMessage({ closed: true }));
});
`;

interface Arrival {
  tag: string;
  at: number;
}

class ThreadServer {
  private constructor(
    private readonly worker: Worker,
    readonly url: string,
  ) {}

  static async start(): Promise<ThreadServer> {
    const worker = new Worker(SERVER_SOURCE, { eval: true });
    const { port } = await new Promise<{ port: number }>((resolve) => worker.once("message", resolve));
    return new ThreadServer(worker, `http://127.0.0.1:${port}`);
  }

  report(): Promise<{ arrivals: Arrival[]; peak: number }> {
    const answer = new Promise<{ arrivals: Arrival[]; peak: number }>((resolve) => this.worker.once("message", resolve));
    this.worker.postMessage("report");
    return answer;
  }

  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.worker.once("message", resolve));
    this.worker.postMessage("close");
    await closed;
    await this.worker.terminate();
  }
}

const noSleep = async (): Promise<void> => undefined;

function get(t: IonTransport, url: string, o: { urgent?: boolean } = {}): Promise<RawResponse> {
  return t.send({ method: "GET", url, endpoint: "GET /hold", headers: { Accept: "application/json" }, kind: "v3", urgent: o.urgent }, 1);
}

/** Keeps this thread busy (no timer, no I/O callback runs) for `ms`. */
function busyFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

describe("Ion's HTTP exchanges on their own thread", () => {
  let server: ThreadServer;
  beforeEach(async () => {
    server = await ThreadServer.start();
  });
  afterEach(async () => {
    await server.close();
  });

  it("holds a transport's cap on the thread: never more of its requests in flight, all answered", async () => {
    const t = new IonTransport({ maxConcurrency: 3, sleep: noSleep });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => get(t, `${server.url}/hold?ms=30&tag=r${i}`)));
    expect(answers.map((a) => JSON.parse(a.body).tag)).toStrictEqual(Array.from({ length: 12 }, (_, i) => `r${i}`));
    expect((await server.report()).peak).toBe(3);
    expect(t.peakInFlight).toBe(3);
  });

  it("passes a slot on the moment an answer arrives, while the caller's thread is busy", async () => {
    // Cap 1: "second" can only leave once "first" is answered (300 ms after it arrived). Once "first" has arrived,
    // this thread is busy for 800 ms: on the I/O thread "second" still leaves when "first" is answered; a
    // transport on this thread sends it only afterwards.
    const arrivalGap = async (io: "thread" | "inline"): Promise<{ second: number; busyUntil: number }> => {
      const t = new IonTransport({ maxConcurrency: 1, sleep: noSleep, io });
      const tag = `${io}-${Math.random()}`;
      const first = get(t, `${server.url}/hold?ms=300&tag=${tag}-1`);
      const second = get(t, `${server.url}/hold?ms=0&tag=${tag}-2`);
      while (!(await server.report()).arrivals.some((a) => a.tag === `${tag}-1`)) await new Promise((resolve) => setTimeout(resolve, 5));
      busyFor(800);
      const busyUntil = Date.now();
      await Promise.all([first, second]);
      const { arrivals } = await server.report();
      return { second: arrivals.find((a) => a.tag === `${tag}-2`)!.at, busyUntil };
    };
    const onThread = await arrivalGap("thread");
    expect(onThread.second).toBeLessThan(onThread.busyUntil - 200);
    // The same on the caller's thread waits for it: what the I/O thread is for.
    const inline = await arrivalGap("inline");
    expect(inline.second).toBeGreaterThanOrEqual(inline.busyUntil - 5);
  });

  it("sends a transport's urgent request before those already waiting", async () => {
    const t = new IonTransport({ maxConcurrency: 1, sleep: noSleep });
    const calls = [
      get(t, `${server.url}/hold?ms=50&tag=first`),
      get(t, `${server.url}/hold?ms=0&tag=n1`),
      get(t, `${server.url}/hold?ms=0&tag=n2`),
      get(t, `${server.url}/hold?ms=0&tag=u`, { urgent: true }),
    ];
    await Promise.all(calls);
    expect((await server.report()).arrivals.map((a) => a.tag)).toStrictEqual(["first", "u", "n1", "n2"]);
  });

  it("keeps each transport's queue its own: a full lane never holds another", async () => {
    const busy = new IonTransport({ maxConcurrency: 1, sleep: noSleep });
    const other = new IonTransport({ maxConcurrency: 1, sleep: noSleep });
    let slowAnswered = false;
    const slow = [get(busy, `${server.url}/hold?ms=300&tag=slow1`), get(busy, `${server.url}/hold?ms=300&tag=slow2`)];
    void slow[0]!.then(() => (slowAnswered = true));
    await get(other, `${server.url}/hold?ms=0&tag=other`);
    // Answered while the busy lane's first call was still out (its second one still queued).
    const answeredFirst = !slowAnswered;
    await Promise.all(slow);
    const tags = (await server.report()).arrivals.map((a) => a.tag);
    expect([...tags].sort()).toStrictEqual(["other", "slow1", "slow2"]);
    expect(tags.indexOf("other")).toBeLessThan(tags.indexOf("slow2"));
    expect(answeredFirst).toBe(true);
  });
});

describe("the I/O thread's answers and failures", () => {
  let ion: FakeIon;
  beforeEach(async () => {
    ion = await startFakeIon();
    ion.routes.push((r) => {
      if (r.path === "/big") return { status: 200, body: { text: "é€😀".repeat(200_000) } };
      if (r.path === "/fail") return { status: 500, body: { code: 500, message: "down" }, headers: { "X-Request-Id": "r-1" } };
      if (r.path === "/echo") return { status: 200, body: { ok: true } };
      if (r.path === "/bom") return { status: 502, body: "\uFEFF<html>bad gateway</html>" };
      return undefined;
    });
  });
  afterEach(async () => {
    await ion.close();
  });

  const seen = (r: IonRequest): Record<string, unknown> => ({
    method: r.method,
    path: r.path,
    query: [...r.query.entries()],
    headers: r.headers,
    body: r.body,
  });

  it("sends what the inline path sends and answers the same status, headers and body", async () => {
    const exchange = async (io: "thread" | "inline") => {
      ion.requests.length = 0;
      const t = new IonTransport({ io, sleep: noSleep });
      const answers: RawResponse[] = [];
      answers.push(
        await t.send(
          {
            method: "GET",
            url: `${ion.url}/echo`,
            endpoint: "GET /echo",
            headers: { Authorization: "Bearer ABCDEFGHIJKL", Accept: "application/json" },
            query: { pageSize: 1000, pageToken: "a+b/c=d e", skipped: undefined, flag: true },
            kind: "v3",
          },
          1,
        ),
      );
      answers.push(
        await t.send(
          {
            method: "POST",
            url: `${ion.url}/echo`,
            endpoint: "POST /echo",
            headers: { "Content-Type": "application/json" },
            data: JSON.stringify({ a: 1, b: "é" }),
            kind: "v3",
          },
          1,
        ),
      );
      answers.push(await t.send({ method: "GET", url: `${ion.url}/fail`, endpoint: "GET /fail", headers: {}, kind: "v3" }, 1));
      answers.push(await t.send({ method: "GET", url: `${ion.url}/big`, endpoint: "GET /big", headers: {}, kind: "v3" }, 1));
      answers.push(await t.send({ method: "GET", url: `${ion.url}/bom`, endpoint: "GET /bom", headers: {}, kind: "v3" }, 1));
      for (const a of answers) delete a.headers.date;
      return { sent: ion.requests.map(seen), answers };
    };
    const onThread = await exchange("thread");
    expect(onThread).toStrictEqual(await exchange("inline"));
    expect(onThread.answers[2]).toMatchObject({ status: 500, headers: { "x-request-id": "r-1" } });
    expect(JSON.parse(onThread.answers[3]!.body).text).toBe("é€😀".repeat(200_000));
    expect(onThread.answers[4]).toMatchObject({ status: 502, body: "<html>bad gateway</html>" });
  });

  it("reports a refused connection and a timeout with the codes the retry policy reads", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const t = new IonTransport({ sleep: noSleep, timeoutMs: 100 });
    const refused = t.send(
      { method: "POST", url: `http://127.0.0.1:${port}/x`, endpoint: "POST /x", headers: {}, data: "{}", kind: "v3" },
      1,
    );
    await expect(refused).rejects.toMatchObject({ name: IonNetworkError.name, networkCode: "ECONNREFUSED" });
    ion.routes.unshift((r) => (r.path === "/never" ? { status: 200, hold: new Promise<void>(() => undefined) } : undefined));
    const late = t.send({ method: "GET", url: `${ion.url}/never`, endpoint: "GET /never", headers: {}, kind: "v3" }, 1);
    await expect(late).rejects.toMatchObject({ name: IonNetworkError.name, networkCode: "ETIMEDOUT" });
  });

  it("fails the calls waiting on a thread that stopped as ambiguous, and starts a new thread for the next", async () => {
    ion.routes.unshift((r) => (r.path === "/never" ? { status: 200, hold: new Promise<void>(() => undefined) } : undefined));
    const t = new IonTransport({ sleep: noSleep });
    const waiting = t.send({ method: "GET", url: `${ion.url}/never`, endpoint: "GET /never", headers: {}, kind: "v3" }, 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await IonIoThread.stopShared();
    await expect(waiting).rejects.toMatchObject({
      name: IonNetworkError.name,
      networkCode: "ERR_IO_THREAD",
      message: "StreamOne Ion GET /never: no response (ERR_IO_THREAD: the Ion I/O thread stopped: stopped).",
    });
    await expect(
      t.send({ method: "GET", url: `${ion.url}/echo`, endpoint: "GET /echo", headers: {}, kind: "v3" }, 1),
    ).resolves.toMatchObject({
      status: 200,
    });
  });

  it("lets the process exit once no answer is awaited", async () => {
    const script = bundleChildScript(path.join(__dirname, "../../support/ioThreadChild.ts"));
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [script],
        {
          timeout: 20_000,
          cwd: path.resolve(__dirname, "../../.."),
          env: { PATH: process.env.PATH ?? "", NODE_PATH: path.resolve(__dirname, "../../../node_modules") },
        },
        () => undefined,
      );
      let out = "";
      child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
      child.on("exit", (code) => resolve({ code, out }));
    });
    expect(result).toStrictEqual({ code: 0, out: "answered 200\n" });
  });
});
