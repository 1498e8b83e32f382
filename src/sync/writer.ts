import type { BatchOperation, BatchResult, DataverseClient } from "../dataverse";

/** Dataverse's $batch maximum; one request per 1000 changed rows is the floor issue 8 measures against. */
export const WRITE_BATCH_SIZE = 1000;
/** $batch requests in flight at once: enough to overlap server work, far below the 52-request limit. */
export const WRITE_CONCURRENCY = 3;

export interface PendingWrite {
  op: BatchOperation;
  onResult: (result: BatchResult) => void;
}

/**
 * Collects upserts and sends them as continue-on-error $batch requests of up to 1000 operations, a few
 * requests in parallel. One bad record fails only its own operation; its callback records it.
 *
 * Writes are packed across Ion pages and across phases of one run: `flush({ onlyFull: true })` sends only
 * complete batches and keeps the remainder, so a run writing N changed rows makes ceil(N / 1000)
 * requests (issue 8's floor). Every write has a sequence number; `whenWritten(seq)` resolves once it and
 * all writes before it are done, which is when a checkpoint may count its page as done.
 */
export class BatchWriter {
  private buffer: PendingWrite[] = [];
  private added = 0;
  private written = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private waiters: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private failure?: unknown;
  /** Operations sent (ok / failed) and $batch requests, for the report. */
  readonly totals = { ok: 0, failed: 0, requests: 0 };

  constructor(
    private readonly dv: DataverseClient,
    private readonly o: { batchSize?: number; concurrency?: number } = {},
  ) {}

  private get batchSize(): number {
    // Dataverse refuses more than 1,000 operations in one $batch.
    const size = this.o.batchSize ?? WRITE_BATCH_SIZE;
    return Number.isInteger(size) && size >= 1 ? Math.min(size, WRITE_BATCH_SIZE) : WRITE_BATCH_SIZE;
  }

  get pending(): number {
    return this.buffer.length;
  }

  /** Sequence number of the last write added (0 = none yet). */
  get lastSeq(): number {
    return this.added;
  }

  /** True when at least one complete batch waits. */
  get hasFullBatch(): boolean {
    return this.buffer.length >= this.batchSize;
  }

  /** True when enough writes wait to fill every parallel batch. */
  get full(): boolean {
    return this.buffer.length >= this.batchSize * (this.o.concurrency ?? WRITE_CONCURRENCY);
  }

  /**
   * Adds a write; returns its sequence number. The body is serialized now: thousands of writes wait here
   * for their batch, and one JSON string each is a fraction of the object graph (issue 8: peak RSS).
   */
  add(op: BatchOperation, onResult: (result: BatchResult) => void): number {
    this.buffer.push({ op: compactOperation(op), onResult });
    return ++this.added;
  }

  /** Resolves when write `seq` and every earlier one are done (rejects if a flush failed). */
  whenWritten(seq: number): Promise<void> {
    if (seq <= this.written) return Promise.resolve();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  /**
   * Starts sending what is buffered (only complete batches with `onlyFull`) after the previous flush;
   * resolves when this flush is done. Flushes run one after another, so writes complete in order.
   */
  flush(o: { onlyFull?: boolean } = {}): Promise<void> {
    const count = o.onlyFull ? Math.floor(this.buffer.length / this.batchSize) * this.batchSize : this.buffer.length;
    const items = this.buffer.splice(0, count);
    const through = this.added - this.buffer.length;
    const run = this.inFlight.then(async () => {
      if (items.length > 0) {
        this.totals.requests += Math.ceil(items.length / this.batchSize);
        const results = await this.dv.batch(
          items.map((i) => i.op),
          { continueOnError: true, batchSize: this.batchSize, concurrency: this.o.concurrency ?? WRITE_CONCURRENCY },
        );
        results.forEach((result, index) => {
          if (result.ok) this.totals.ok++;
          else this.totals.failed++;
          items[index]!.onResult(result);
        });
      }
      this.written = Math.max(this.written, through);
      const ready = this.waiters.filter((w) => w.seq <= this.written);
      this.waiters = this.waiters.filter((w) => w.seq > this.written);
      ready.forEach((w) => w.resolve());
    });
    this.inFlight = run.catch((error) => {
      this.failure = error;
      const all = this.waiters;
      this.waiters = [];
      all.forEach((w) => w.reject(error));
    });
    return run;
  }

  /** Sends everything and waits for all flushes (the end of a run, or its error path). */
  async drain(): Promise<void> {
    await this.flush();
    await this.inFlight;
    if (this.failure !== undefined) throw this.failure;
  }
}

/** The operation with its body as JSON text (what the $batch part carries anyway). */
export function compactOperation(op: BatchOperation): BatchOperation {
  if (op.body === undefined || op.bodyJson !== undefined) return op;
  const { body, ...rest } = op;
  return { ...rest, bodyJson: JSON.stringify(body) };
}
