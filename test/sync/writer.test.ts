import type { BatchOperation, BatchResult, DataverseClient } from "../../src/dataverse";
import { readAhead } from "../../src/sync/pool";
import { BatchWriter } from "../../src/sync/writer";

/** Records the $batch calls the writer makes (the Dataverse client itself is tested in test/dataverse). */
function recordingClient() {
  const calls: number[] = [];
  const client = {
    batch: async (ops: BatchOperation[]): Promise<BatchResult[]> => {
      calls.push(ops.length);
      return ops.map((op) => (op.entitySet === "bad" ? { ok: false as const, status: 400, error: Object.assign(new Error("bad row"), { code: "X" }) as never } : { ok: true as const, status: 204 }));
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
    expect(calls).toStrictEqual([20]);
    expect(w.pending).toBe(5);
    await w.drain();
    expect(calls).toStrictEqual([20, 5]);
  });

  it("queues each write with its body serialized once (bodyJson), leaving the caller's operation untouched", async () => {
    const sent: BatchOperation[] = [];
    const client = { batch: async (ops: BatchOperation[]) => (sent.push(...ops), ops.map(() => ({ ok: true as const, status: 204 }))) } as unknown as DataverseClient;
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
