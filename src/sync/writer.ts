import { type BatchOperation, type BatchResult, cutRuns, type DataverseClient } from "../dataverse";
import { ValidationError } from "../shared/errors";
import { type TogetherWrite, updateIfUnchanged, type WritePlan, type WriteSink } from "./sink";

/** Dataverse's $batch maximum; one request per 1000 changed rows is the floor the bench measures against. */
export const WRITE_BATCH_SIZE = 1000;
/** $batch requests in flight at once: enough to overlap server work, far below the 52-request limit. */
export const WRITE_CONCURRENCY = 3;
/** At most this many in flight when Dataverse's `x-ms-dop-hint` asks for more (the client's own cap is 8 by default). */
export const MAX_WRITE_CONCURRENCY = 16;
/**
 * Smallest $batch a last flush is split into while Dataverse hints at parallel requests. A request's own cost
 * (round trip, Web API pipeline: tens of milliseconds) is about that of ten row writes (a few milliseconds each),
 * so a smaller piece gains little; above it, each piece more, up to the hint, shortens the flush that the run's
 * end waits for (the last customers' digests after their rows: 90 stamps as 8 requests rather than 3).
 */
export const MIN_SPLIT_BATCH = 10;
/**
 * Smallest early batch `sendBuffered` sends while the reads go on: nothing waits on those rows yet, so they go
 * as fewer, fuller requests.
 */
export const MIN_EARLY_BATCH = 25;
/**
 * Under a dop hint (a real environment), rows need not wait for a full batch while Dataverse has workers to
 * spare: once this many are buffered they go out as one smaller batch, so a run with few changes writes them
 * during its Ion reads instead of all after them.
 */
export const EARLY_BATCH_ROWS = 100;
/**
 * Rows a run may send in such early batches, in all: at most EARLY_ROWS_LIMIT / EARLY_BATCH_ROWS requests
 * above the floor (a large first sync fills its batches anyway and gains nothing from them).
 */
export const EARLY_ROWS_LIMIT = 2000;

export interface PendingWrite {
  op: BatchOperation;
  onResult: (result: BatchResult) => void;
  /** In a change set that failed: sent again on its own (the others of the set are not). */
  alone?: boolean;
}

/** A run of consecutive writes sent as one $batch request. */
interface Chunk {
  items: PendingWrite[];
  /** Sequence number of its last write. */
  through: number;
  done: boolean;
  /** The request failed as a whole: its writes are not written, and nothing after them counts as written. */
  failed: boolean;
}

/**
 * Collects upserts and sends them as continue-on-error $batch requests of up to 1000 operations, up to
 * `concurrency` requests in flight. One bad record fails only its own operation; its callback records it.
 *
 * Writes are packed across Ion pages and across phases of one run: `flush({ onlyFull: true })` sends only
 * complete batches and keeps the remainder, so a run writing N changed rows makes ceil(N / 1000)
 * requests (the bench's floor). Batches go out as soon as they are complete and may finish in any order
 * (no write of a run depends on another one in flight: a subscription is linked to a new provider account
 * only after that account's write came back, src/sync/links.ts). Every write has a sequence number;
 * `whenWritten(seq)` resolves once it and all writes before it are done, which is when a checkpoint may
 * count its page as done.
 */
export class BatchWriter implements WriteSink {
  readonly applies = true;
  private buffer: PendingWrite[] = [];
  private added = 0;
  private written = 0;
  /** Chunks not yet finished, in sequence order (the first ones may be done while an earlier one is not). */
  private chunks: Chunk[] = [];
  private sendQueue: Chunk[] = [];
  private sending = 0;
  private waiters: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private failure?: unknown;
  /** Change sets queued so far (their keys). */
  private changeSets = 0;
  /** Rows sent in early batches so far (EARLY_ROWS_LIMIT). */
  private earlyRows = 0;
  /** No early batch any more: the run's reads are over (`readsDone`). */
  private reading = true;
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

  /**
   * The configured concurrency, else Dataverse's recommended degree of parallelism (`x-ms-dop-hint`) once
   * a response carried it, else WRITE_CONCURRENCY.
   */
  private get concurrency(): number {
    if (this.o.concurrency !== undefined) return Math.max(1, this.o.concurrency);
    const hint = this.dv.dopHint;
    return hint === undefined ? WRITE_CONCURRENCY : Math.min(MAX_WRITE_CONCURRENCY, Math.max(WRITE_CONCURRENCY, hint));
  }

  /**
   * Batch size for the `count` writes of a last flush. A $batch's server time grows with its rows, and
   * Dataverse works on parallel requests side by side, so when the environment recommends parallel requests
   * (`x-ms-dop-hint`) and the tail would leave workers idle, it goes out as up to `concurrency` smaller
   * batches rather than one or two large ones (Microsoft's "Optimize performance for bulk operations":
   * https://learn.microsoft.com/power-apps/developer/data-platform/optimize-performance-create-update).
   * Without a hint (the zero-latency emulator) batches stay full: fewest requests.
   */
  private tailBatchSize(count: number): number {
    if (this.dv.dopHint === undefined) return this.batchSize;
    const slots = Math.max(1, this.concurrency - this.sending);
    if (Math.ceil(count / this.batchSize) >= slots) return this.batchSize;
    const pieces = Math.min(slots, Math.max(1, Math.floor(count / MIN_SPLIT_BATCH)));
    return Math.min(this.batchSize, Math.ceil(count / pieces));
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

  /**
   * Adds a write; returns its sequence number. The body is serialized now: thousands of writes wait here
   * for their batch, and one JSON string each is a fraction of the object graph (peak RSS).
   */
  add(op: BatchOperation, onResult: (result: BatchResult) => void): number {
    this.buffer.push({ op: compactOperation(op), onResult });
    const seq = ++this.added;
    this.sendEarlyWhileSpare();
    return seq;
  }

  readsDone(): void {
    this.reading = false;
  }

  /**
   * Dataverse has workers to spare for this run (fewer than half the hinted parallelism busy with its writes):
   * the rows buffered go out now as one batch (at least `minRows` of them, EARLY_BATCH_ROWS unless the caller
   * says it has nothing more to add for now), beside any early one still out, so that a row decided during the
   * reads is written during them too rather than waiting behind another batch.
   */
  private sendEarlyWhileSpare(minRows = EARLY_BATCH_ROWS): void {
    const spare = this.sending + this.sendQueue.length < Math.max(1, Math.floor(this.concurrency / 2));
    if (!this.reading || this.dv.dopHint === undefined || !spare) return;
    const count = this.buffer.length;
    if (count < minRows || count >= this.batchSize || this.earlyRows + count > EARLY_ROWS_LIMIT) return;
    this.earlyRows += count;
    const chunk: Chunk = { items: this.buffer.splice(0, count), through: this.added, done: false, failed: false };
    this.chunks.push(chunk);
    this.sendQueue.push(chunk);
    this.pump();
  }

  sendBuffered(): void {
    this.sendEarlyWhileSpare(MIN_EARLY_BATCH);
  }

  /** The run's write sink: the plan is for dry runs only. */
  write(op: BatchOperation, _plan: WritePlan | null, onResult: (result: BatchResult) => void): number {
    return this.add(op, onResult);
  }

  /**
   * Writes that land together or not at all: one change set (Dataverse rolls back the others when one fails)
   * inside an ordinary continue-on-error `$batch` request, never split across requests. When the change set
   * fails, the writes marked `alone` go again, each on its own, under the same sequence numbers (`whenWritten`
   * waits for them), and the others get the failure. Each callback runs once, with the write's final result,
   * in the order given. Returns the sequence number of the last.
   */
  writeTogether(writes: TogetherWrite[]): number {
    // A change set larger than the configured batch size keeps its request to itself (`cutRuns`); Dataverse's
    // own limit is the bound.
    if (writes.length === 0 || writes.length > WRITE_BATCH_SIZE)
      throw new ValidationError(`writes sent together must number 1 to ${WRITE_BATCH_SIZE}, got ${writes.length}`);
    const changeSet = `set${++this.changeSets}`;
    for (const w of writes) this.buffer.push({ op: compactOperation({ ...w.op, changeSet }), onResult: w.onResult, alone: w.alone });
    this.added += writes.length;
    this.sendEarlyWhileSpare();
    return this.added;
  }

  update(entitySet: string, id: string, body: Record<string, unknown>, o: { ifMatch?: string } = {}): Promise<boolean> {
    return updateIfUnchanged(this.dv, entitySet, id, body, o);
  }

  plansOnly(): boolean {
    return false;
  }

  /** Resolves when write `seq` and every earlier one are done (rejects if a batch request failed). */
  whenWritten(seq: number): Promise<void> {
    if (seq <= this.written) return Promise.resolve();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  /**
   * Sends what is buffered (only complete batches with `onlyFull`): the batches start at once, up to
   * `concurrency` in flight, the rest as earlier ones finish. Resolves when everything added so far that
   * this flush or an earlier one sent is written.
   */
  flush(o: { onlyFull?: boolean } = {}): Promise<void> {
    let count = this.buffer.length;
    if (o.onlyFull) {
      // The complete batches: every run but a last one shorter than a batch (a run ends early before a change set).
      const runs = cutRuns(this.buffer.length, this.batchSize, joinedIn(this.buffer));
      const last = runs[runs.length - 1];
      const full = last && last[1] - last[0] < this.batchSize ? runs.length - 1 : runs.length;
      count = full > 0 ? runs[full - 1]![1] : 0;
    }
    const items = this.buffer.splice(0, count);
    let through = this.added - this.buffer.length - items.length;
    const size = o.onlyFull ? this.batchSize : this.tailBatchSize(items.length + this.sendQueue.reduce((a, c) => a + c.items.length, 0));
    for (const [start, end] of cutRuns(items.length, size, joinedIn(items))) {
      const part = items.slice(start, end);
      through += part.length;
      const chunk: Chunk = { items: part, through, done: false, failed: false };
      this.chunks.push(chunk);
      this.sendQueue.push(chunk);
    }
    this.pump();
    return this.whenWritten(this.added - this.buffer.length);
  }

  /** Resolves when no flushed batch waits to be sent (the in-flight ones aside): backpressure for producers. */
  whenSendQueueEmpty(): Promise<void> {
    if (this.sendQueue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Sends everything and waits until all of it is written. */
  async drain(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.idle();
    if (this.failure !== undefined) throw this.failure;
  }

  /** Resolves when every batch sent so far has come back (written or failed). */
  private idle(): Promise<void> {
    if (this.chunks.every((c) => c.done)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.sending < this.concurrency && this.sendQueue.length > 0) {
      const chunk = this.sendQueue.shift()!;
      this.sending++;
      void this.send(chunk).finally(() => {
        this.sending--;
        this.pump();
        // Rows added while this batch was out need not wait for the next one to be added.
        this.sendEarlyWhileSpare();
      });
    }
    if (this.sendQueue.length === 0 && this.roomWaiters.length > 0) {
      const ready = this.roomWaiters;
      this.roomWaiters = [];
      ready.forEach((resolve) => resolve());
    }
  }

  private async send(chunk: Chunk): Promise<void> {
    this.totals.requests++;
    try {
      const results = await this.dv.batch(
        chunk.items.map((i) => i.op),
        { continueOnError: true, batchSize: this.batchSize, concurrency: 1 },
      );
      const failedSets = new Set<string>();
      results.forEach((result, index) => {
        const set = chunk.items[index]!.op.changeSet;
        if (!result.ok && set !== undefined) failedSets.add(set);
      });
      const again: PendingWrite[] = [];
      results.forEach((result, index) => {
        const item = chunk.items[index]!;
        if (item.alone && item.op.changeSet !== undefined && failedSets.has(item.op.changeSet)) {
          const { changeSet: _rolledBack, ...op } = item.op;
          again.push({ op, onResult: item.onResult });
          return;
        }
        if (result.ok) this.totals.ok++;
        else this.totals.failed++;
        item.onResult(result);
      });
      if (again.length > 0) this.sendAgainFirst(chunk, again);
    } catch (error) {
      // The whole request failed (after the client's retries): whoever waits on these writes fails.
      this.failure ??= error;
      chunk.failed = true;
    }
    chunk.done = true;
    chunk.items = [];
    this.settle();
  }

  /**
   * Writes of a failed change set that go again alone: a chunk placed before the one they came from, so that
   * `written` does not pass their sequence numbers until they are answered, sent before anything queued.
   */
  private sendAgainFirst(from: Chunk, items: PendingWrite[]): void {
    const at = this.chunks.indexOf(from);
    // `through` of the chunk before: moving `written` there says nothing about these writes.
    const chunk: Chunk = { items, through: at > 0 ? this.chunks[at - 1]!.through : this.written, done: false, failed: false };
    this.chunks.splice(Math.max(0, at), 0, chunk);
    this.sendQueue.unshift(chunk);
  }

  /** Advances `written` over the written chunks at the front and answers the waiters. */
  private settle(): void {
    while (this.chunks.length > 0 && this.chunks[0]!.done && !this.chunks[0]!.failed) this.written = this.chunks.shift()!.through;
    const ready = this.waiters.filter((w) => w.seq <= this.written);
    const failed = this.failure === undefined ? [] : this.waiters.filter((w) => w.seq > this.written);
    this.waiters = this.waiters.filter((w) => !ready.includes(w) && !failed.includes(w));
    ready.forEach((w) => w.resolve());
    failed.forEach((w) => w.reject(this.failure));
    if (this.idleWaiters.length > 0 && this.chunks.every((c) => c.done)) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      idle.forEach((resolve) => resolve());
    }
  }
}

/** Whether write i belongs to the change set of write i - 1 (cuts between requests never separate them). */
function joinedIn(items: PendingWrite[]): (i: number) => boolean {
  return (i) => {
    const key = items[i]!.op.changeSet;
    return key !== undefined && key === items[i - 1]!.op.changeSet;
  };
}

/** The operation with its body as JSON text (what the $batch part carries anyway). */
export function compactOperation(op: BatchOperation): BatchOperation {
  if (op.body === undefined || op.bodyJson !== undefined) return op;
  const { body, ...rest } = op;
  return { ...rest, bodyJson: JSON.stringify(body) };
}
