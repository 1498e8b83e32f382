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
 */
export class BatchWriter {
  private buffer: PendingWrite[] = [];
  /** Rows written (ok results) and failed, for the bench and the report. */
  readonly totals = { ok: 0, failed: 0, requests: 0 };

  constructor(
    private readonly dv: DataverseClient,
    private readonly o: { batchSize?: number; concurrency?: number; dryRun?: boolean } = {},
  ) {}

  get pending(): number {
    return this.buffer.length;
  }

  add(op: BatchOperation, onResult: (result: BatchResult) => void): void {
    this.buffer.push({ op, onResult });
  }

  /** True when enough writes wait to fill every parallel batch. */
  get full(): boolean {
    return this.buffer.length >= (this.o.batchSize ?? WRITE_BATCH_SIZE) * (this.o.concurrency ?? WRITE_CONCURRENCY);
  }

  /** Sends everything buffered; resolves when every callback has run. */
  async flush(): Promise<void> {
    const items = this.buffer;
    this.buffer = [];
    if (items.length === 0) return;
    if (this.o.dryRun) throw new Error("BatchWriter.flush called in a dry run");
    const batchSize = this.o.batchSize ?? WRITE_BATCH_SIZE;
    this.totals.requests += Math.ceil(items.length / batchSize);
    const results = await this.dv.batch(
      items.map((i) => i.op),
      { continueOnError: true, batchSize, concurrency: this.o.concurrency ?? WRITE_CONCURRENCY },
    );
    results.forEach((result, index) => {
      if (result.ok) this.totals.ok++;
      else this.totals.failed++;
      items[index]!.onResult(result);
    });
  }
}
