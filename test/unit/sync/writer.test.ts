import type { BatchOperation, BatchResult, DataverseClient } from "../../../src/dataverse";
import { readAhead, readAheadUntil } from "../../../src/shared/pool";
import { BatchWriter, EARLY_BATCH_ROWS, EARLY_ROWS_LIMIT, MIN_EARLY_BATCH, MIN_SPLIT_BATCH } from "../../../src/sync/writer";

/** Records the $batch calls the writer makes (the Dataverse client itself is tested in test/dataverse). */
function recordingClient() {
  const calls: number[] = [];
  const client = {
    batch: async (ops: BatchOperation[]): Promise<BatchResult[]> => {
      calls.push(ops.length);
      return ops.map((op) =>
        op.entitySet === "bad"
          ? { ok: false as const, status: 400, error: Object.assign(new Error("bad row"), { code: "X" }) as never }
          : { ok: true as const, status: 204 },
      );
    },
  } as unknown as DataverseClient;
  return { client, calls };
}

const op = (entitySet = "rows"): BatchOperation => ({ method: "PATCH", entitySet, key: "00000000-0000-0000-0000-000000000001", body: {} });

describe("BatchWriter", () => {
  it("sends only complete batches during a phase and the rest at the end", async () => {
    const { client, calls } = recordingClient();
    const w = new BatchWriter(client, { batchSize: 10, concurrency: 2 });
    for (let i = 0; i < 25; i++) w.add(op(), () => undefined);
    await w.flush({ onlyFull: true });
    expect(calls).toStrictEqual([10, 10]);
    expect(w.pending).toBe(5);
    await w.drain();
    expect(calls).toStrictEqual([10, 10, 5]);
    expect(w.totals.requests).toBe(3);
  });

  it("queues each write with its body serialized once (bodyJson), leaving the caller's operation untouched", async () => {
    const sent: BatchOperation[] = [];
    const client = {
      batch: async (ops: BatchOperation[]) => (sent.push(...ops), ops.map(() => ({ ok: true as const, status: 204 }))),
    } as unknown as DataverseClient;
    const w = new BatchWriter(client, { batchSize: 10 });
    const original: BatchOperation = { method: "PATCH", entitySet: "rows", key: { a: "1" }, body: { b: 2, c: null } };
    w.add(original, () => undefined);
    w.add({ method: "PATCH", entitySet: "rows", key: "k", bodyJson: '{"d":1}' }, () => undefined);
    await w.drain();
    expect(sent).toStrictEqual([
      { method: "PATCH", entitySet: "rows", key: { a: "1" }, bodyJson: '{"b":2,"c":null}' },
      { method: "PATCH", entitySet: "rows", key: "k", bodyJson: '{"d":1}' },
    ]);
    expect(original.body).toStrictEqual({ b: 2, c: null });
  });

  it("resolves whenWritten in order, and reports each failed row to its own callback", async () => {
    const { client } = recordingClient();
    const w = new BatchWriter(client, { batchSize: 10 });
    const outcomes: boolean[] = [];
    const a = w.add(op(), (r) => outcomes.push(r.ok));
    const b = w.add(op("bad"), (r) => outcomes.push(r.ok));
    let aDone = false;
    void w.whenWritten(a).then(() => (aDone = true));
    await Promise.resolve();
    expect(aDone).toBe(false);
    await w.drain();
    await w.whenWritten(b);
    expect(aDone).toBe(true);
    expect(outcomes).toStrictEqual([true, false]);
    expect(w.totals).toStrictEqual({ ok: 1, failed: 1, requests: 1 });
  });

  it("rejects waiters when a flush fails at request level", async () => {
    const client = { batch: async () => Promise.reject(new Error("401")) } as unknown as DataverseClient;
    const w = new BatchWriter(client);
    const seq = w.add(op(), () => undefined);
    const waiting = w.whenWritten(seq);
    await expect(w.drain()).rejects.toThrow("401");
    await expect(waiting).rejects.toThrow("401");
  });
});

/** A client whose $batch calls finish only when the test says so (in any order). */
function controlledClient() {
  const calls: { size: number; finish: () => void; fail: (e: Error) => void }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const client = {
    batch: (ops: BatchOperation[]): Promise<BatchResult[]> =>
      new Promise((resolve, reject) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        calls.push({
          size: ops.length,
          finish: () => (inFlight--, resolve(ops.map(() => ({ ok: true as const, status: 204 })))),
          fail: (e) => (inFlight--, reject(e)),
        });
      }),
  } as unknown as DataverseClient;
  return { client, calls, maxInFlight: () => maxInFlight };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("BatchWriter with batches in flight", () => {
  it("sends complete batches at once up to its concurrency, the next one as soon as one comes back", async () => {
    const c = controlledClient();
    const w = new BatchWriter(c.client, { batchSize: 2, concurrency: 2 });
    for (let i = 0; i < 8; i++) w.add(op(), () => undefined);
    const flushed = w.flush({ onlyFull: true });
    await tick();
    expect(c.calls.map((x) => x.size)).toStrictEqual([2, 2]);
    let roomAfter = false;
    const room = w.whenSendQueueEmpty().then(() => (roomAfter = true));
    await tick();
    expect(roomAfter).toBe(false); // two batches still queue behind the two in flight
    c.calls[1]!.finish();
    await tick();
    expect(c.calls).toHaveLength(3);
    c.calls[0]!.finish();
    await room;
    expect(c.calls).toHaveLength(4);
    c.calls[2]!.finish();
    c.calls[3]!.finish();
    await flushed;
    expect(c.maxInFlight()).toBe(2);
    expect(w.totals).toStrictEqual({ ok: 8, failed: 0, requests: 4 });
  });

  it("counts writes as written only up to the first batch still out, whatever order batches come back in", async () => {
    const c = controlledClient();
    const w = new BatchWriter(c.client, { batchSize: 2, concurrency: 3 });
    const seqs = Array.from({ length: 6 }, () => w.add(op(), () => undefined));
    void w.flush({ onlyFull: true });
    await tick();
    const done: number[] = [];
    seqs.forEach((seq) => void w.whenWritten(seq).then(() => done.push(seq)));
    c.calls[2]!.finish();
    c.calls[1]!.finish();
    await tick();
    expect(done).toStrictEqual([]); // the first batch is still out
    c.calls[0]!.finish();
    await tick();
    expect(done).toStrictEqual([1, 2, 3, 4, 5, 6]);
  });

  it("a failed batch fails the waits on it and after it; earlier writes stay written; drain reports the failure", async () => {
    const c = controlledClient();
    const w = new BatchWriter(c.client, { batchSize: 2, concurrency: 3 });
    const seqs = Array.from({ length: 6 }, () => w.add(op(), () => undefined));
    void w.flush({ onlyFull: true }).catch(() => undefined);
    await tick();
    const first = w.whenWritten(seqs[1]!);
    const middle = w.whenWritten(seqs[2]!);
    const last = w.whenWritten(seqs[5]!);
    c.calls[0]!.finish();
    c.calls[1]!.fail(new Error("503 after retries"));
    c.calls[2]!.finish();
    await expect(first).resolves.toBeUndefined();
    await expect(middle).rejects.toThrow("503 after retries");
    await expect(last).rejects.toThrow("503 after retries");
    await expect(w.drain()).rejects.toThrow("503 after retries");
  });
});

describe("readAhead", () => {
  it("fetches the next page while the current one is processed", async () => {
    const log: string[] = [];
    async function* pages() {
      for (let i = 1; i <= 3; i++) {
        log.push(`fetch ${i}`);
        yield i;
      }
    }
    const seen: number[] = [];
    for await (const p of readAhead(pages())) {
      log.push(`process ${p}`);
      seen.push(p);
    }
    expect(seen).toStrictEqual([1, 2, 3]);
    expect(log.indexOf("fetch 2")).toBeLessThan(log.indexOf("process 1"));
  });
});

describe("readAheadUntil", () => {
  function source(n: number) {
    const log: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    async function* pages() {
      for (let i = 1; i <= n; i++) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        log.push(`fetch ${i}`);
        yield i;
      }
    }
    return { pages: pages(), log, maxInFlight: () => maxInFlight };
  }
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it("reads up to `early` items ahead while the caller waits, one after another, then one ahead", async () => {
    const src = source(8);
    let release!: () => void;
    const ready = new Promise<void>((resolve) => (release = resolve));
    const pages = readAheadUntil(src.pages, ready, 3);
    await settle();
    expect(src.log).toStrictEqual(["fetch 1", "fetch 2", "fetch 3"]);
    release();
    const seen: number[] = [];
    for await (const p of pages) {
      seen.push(p);
      src.log.push(`process ${p}`);
    }
    expect(seen).toStrictEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(src.maxInFlight()).toBe(1);
    // After the wait: never more than one item fetched ahead of the one being processed.
    expect(src.log.indexOf("fetch 6")).toBeGreaterThan(src.log.indexOf("process 4"));
  });

  it("passes a failed read to the consumer when it reaches it", async () => {
    async function* failing() {
      yield 1;
      throw new Error("Ion page 2 failed");
    }
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const p of readAheadUntil(failing(), Promise.resolve(), 4)) seen.push(p);
      })(),
    ).rejects.toThrow("Ion page 2 failed");
    expect(seen).toStrictEqual([1]);
  });
});

describe("BatchWriter under Dataverse's x-ms-dop-hint", () => {
  /** The recording client after a response carried `x-ms-dop-hint`. */
  function hinted(hint: number) {
    const r = recordingClient();
    Object.defineProperty(r.client, "dopHint", { value: hint });
    return r;
  }

  it("sends the last rows as up to the hinted number of smaller batches, never below the minimum size", async () => {
    const { client, calls } = hinted(8);
    const w = new BatchWriter(client);
    for (let i = 0; i < 584; i++) w.add(op(), () => undefined);
    await w.drain();
    // Four hundred went early, as batches of 100 beside one another (half the hinted parallelism); the rest
    // as four batches in the four slots left.
    expect(calls).toStrictEqual([100, 100, 100, 100, 46, 46, 46, 46]);

    const small = hinted(8);
    const w2 = new BatchWriter(small.client);
    for (let i = 0; i < 60; i++) w2.add(op(), () => undefined);
    await w2.drain();
    // Six pieces of the minimum, not eight below it.
    expect(MIN_SPLIT_BATCH).toBe(10);
    expect(small.calls).toStrictEqual([10, 10, 10, 10, 10, 10]);

    // Fewer than two pieces' worth: one batch.
    const tiny = hinted(8);
    const w3 = new BatchWriter(tiny.client);
    for (let i = 0; i < 19; i++) w3.add(op(), () => undefined);
    await w3.drain();
    expect(tiny.calls).toStrictEqual([19]);
  });

  it("sends rows early, a batch per 100, while fewer than half the hinted workers have its writes, up to a limit per run", async () => {
    const { client, calls } = hinted(8);
    const w = new BatchWriter(client);
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < EARLY_BATCH_ROWS - 1; i++) w.add(op(), () => undefined);
    await settle();
    expect(calls).toStrictEqual([]);
    w.add(op(), () => undefined);
    // The hundredth row sends the buffer: the writer was idle.
    expect(calls).toStrictEqual([EARLY_BATCH_ROWS]);
    expect(w.pending).toBe(0);
    // More go out beside it, up to half the hinted parallelism (4 of 8) in flight...
    for (let i = 0; i < 4 * EARLY_BATCH_ROWS; i++) w.add(op(), () => undefined);
    expect(calls).toStrictEqual(new Array(4).fill(EARLY_BATCH_ROWS));
    expect(w.pending).toBe(EARLY_BATCH_ROWS);
    // ...then rows wait for one to come back, and go out together.
    await settle();
    expect(calls).toStrictEqual(new Array(5).fill(EARLY_BATCH_ROWS));
    await settle();
    // Up to EARLY_ROWS_LIMIT rows in all; then rows wait for a full batch or the end, as without a hint.
    for (let i = 0; i < 2 * EARLY_ROWS_LIMIT; i++) {
      w.add(op(), () => undefined);
      await settle();
    }
    const early = calls.reduce((x, y) => x + y, 0);
    expect(early).toBeLessThanOrEqual(EARLY_ROWS_LIMIT);
    expect(early).toBeGreaterThan(EARLY_ROWS_LIMIT - EARLY_BATCH_ROWS);
    expect(calls.every((n) => n >= EARLY_BATCH_ROWS)).toBe(true);
    expect(w.pending).toBe(w.lastSeq - early);
    await w.drain();
    expect(calls.reduce((x, y) => x + y, 0)).toBe(w.lastSeq);
  });

  it("sends what is buffered below the early-batch size when the caller pauses, only under a hint, during the reads", async () => {
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    const { client, calls } = hinted(8);
    const w = new BatchWriter(client);
    for (let i = 0; i < MIN_EARLY_BATCH - 1; i++) w.add(op(), () => undefined);
    w.sendBuffered();
    // Fewer than the smallest batch worth a request: they wait.
    expect(calls).toStrictEqual([]);
    w.add(op(), () => undefined);
    w.sendBuffered();
    expect(calls).toStrictEqual([MIN_EARLY_BATCH]);
    await settle();

    // Without a hint (the zero-latency emulator) batches stay full: nothing goes out early.
    const plain = recordingClient();
    const unhinted = new BatchWriter(plain.client);
    for (let i = 0; i < 2 * MIN_EARLY_BATCH; i++) unhinted.add(op(), () => undefined);
    unhinted.sendBuffered();
    expect(plain.calls).toStrictEqual([]);

    // Once the reads are done, the rest goes out with the last writes.
    const late = hinted(8);
    const done = new BatchWriter(late.client);
    done.readsDone();
    for (let i = 0; i < 2 * MIN_EARLY_BATCH; i++) done.add(op(), () => undefined);
    done.sendBuffered();
    expect(late.calls).toStrictEqual([]);
  });

  it("sends no early batch once the run's reads are done: the last rows go out together, split for the hint", async () => {
    const { client, calls } = hinted(8);
    const w = new BatchWriter(client);
    w.readsDone();
    for (let i = 0; i < 3 * EARLY_BATCH_ROWS; i++) w.add(op(), () => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toStrictEqual([]);
    await w.drain();
    expect(calls).toStrictEqual([38, 38, 38, 38, 38, 38, 38, 34]);
  });

  it("keeps full batches when they already fill the hinted parallelism, and without a hint", async () => {
    const { client, calls } = hinted(2);
    const w = new BatchWriter(client, { batchSize: 10 });
    for (let i = 0; i < 25; i++) w.add(op(), () => undefined);
    await w.drain();
    // Three slots (WRITE_CONCURRENCY is the floor) and three batches' worth: sizes unchanged.
    expect(calls).toStrictEqual([10, 10, 5]);

    const plain = recordingClient();
    const w2 = new BatchWriter(plain.client);
    for (let i = 0; i < 584; i++) w2.add(op(), () => undefined);
    await w2.drain();
    expect(plain.calls).toStrictEqual([584]);
  });
});

/**
 * A client with Dataverse's change-set rule: when one operation of a change set fails (entity set "bad"), the
 * others of that set are rolled back (424); each $batch call waits until the test finishes it.
 */
function changeSetClient() {
  const calls: { ops: BatchOperation[]; finish: () => void }[] = [];
  const failed = (status: number): BatchResult => ({
    ok: false,
    status,
    error: Object.assign(new Error(`status ${status}`), { code: "X" }) as never,
  });
  const client = {
    batch: (ops: BatchOperation[]): Promise<BatchResult[]> =>
      new Promise((resolve) =>
        calls.push({
          ops,
          finish: () => {
            const badSets = new Set(ops.filter((o) => o.entitySet === "bad" && o.changeSet).map((o) => o.changeSet));
            resolve(
              ops.map((o) =>
                o.entitySet === "bad"
                  ? failed(400)
                  : o.changeSet && badSets.has(o.changeSet)
                    ? failed(424)
                    : { ok: true as const, status: 204 },
              ),
            );
          },
        }),
      ),
  } as unknown as DataverseClient;
  return { client, calls };
}

describe("BatchWriter: writes together (one change set)", () => {
  it("sends them in one request as one change set, moving a cut that would fall inside it", async () => {
    const c = changeSetClient();
    const w = new BatchWriter(c.client, { batchSize: 4, concurrency: 2 });
    for (let i = 0; i < 3; i++) w.add(op(), () => undefined);
    const results: string[] = [];
    w.writeTogether(
      ["digest", "row1", "row2"].map((name) => ({
        op: op(name),
        plan: null,
        alone: name !== "digest",
        onResult: (r) => results.push(`${name}:${r.ok}`),
      })),
    );
    const flushed = w.flush({ onlyFull: true });
    await tick();
    // Six writes at four per request: the cut after the fourth would split the change set, so it comes before it.
    expect(c.calls.map((x) => x.ops.length)).toStrictEqual([3]);
    expect(w.pending).toBe(3);
    void w.drain();
    await tick();
    expect(c.calls.map((x) => x.ops.length)).toStrictEqual([3, 3]);
    const set = c.calls[1]!.ops.map((o) => o.changeSet);
    expect(set[0]).toBeDefined();
    expect(new Set(set).size).toBe(1);
    expect(c.calls[0]!.ops.every((o) => o.changeSet === undefined)).toBe(true);
    c.calls.forEach((x) => x.finish());
    await flushed;
    await w.drain();
    expect(results).toStrictEqual(["digest:true", "row1:true", "row2:true"]);
  });

  it("when the change set fails, the writes marked alone go again each on its own, and whenWritten waits for them", async () => {
    const c = changeSetClient();
    const w = new BatchWriter(c.client, { batchSize: 10 });
    const results: string[] = [];
    const seq = w.writeTogether(
      ["digest", "rows", "bad"].map((name) => ({
        op: op(name),
        plan: null,
        alone: name !== "digest",
        onResult: (r) => results.push(`${name}:${r.status}`),
      })),
    );
    const after = w.add(op(), (r) => results.push(`later:${r.status}`));
    let written = false;
    void w.whenWritten(seq).then(() => (written = true));
    void w.flush();
    await tick();
    c.calls[0]!.finish();
    await tick();
    // The digest is told at once; the two rows went again, outside any change set, before they are reported.
    expect(results).toStrictEqual(["digest:424", "later:204"]);
    expect(c.calls).toHaveLength(2);
    expect(c.calls[1]!.ops.map((o) => [o.entitySet, o.changeSet])).toStrictEqual([
      ["rows", undefined],
      ["bad", undefined],
    ]);
    expect(written).toBe(false);
    c.calls[1]!.finish();
    await w.whenWritten(after);
    expect(written).toBe(true);
    expect(results).toStrictEqual(["digest:424", "later:204", "rows:204", "bad:400"]);
    expect(w.totals).toStrictEqual({ ok: 2, failed: 2, requests: 2 });
  });

  it("keeps a change set larger than the batch size to one request of its own; refuses an empty one or one past Dataverse's limit", async () => {
    const c = changeSetClient();
    const w = new BatchWriter(c.client, { batchSize: 2 });
    w.add(op(), () => undefined);
    const three = (n: number) => Array.from({ length: n }, () => ({ op: op(), plan: null, alone: true, onResult: () => undefined }));
    w.writeTogether(three(3));
    w.add(op(), () => undefined);
    const drained = w.drain();
    await tick();
    c.calls.forEach((x) => x.finish());
    await tick();
    c.calls.forEach((x) => x.finish());
    await drained;
    expect(c.calls.map((x) => x.ops.length)).toStrictEqual([1, 3, 1]);
    expect(() => w.writeTogether([])).toThrow(/1 to 1000/);
    expect(() => w.writeTogether(three(1001))).toThrow(/got 1001/);
  });
});
