/**
 * The bare loader: sends the rows a sync run wrote as plain $batch upserts, with no reads,
 * no change detection and no matching. Its time is the yardstick for the sync's own time.
 *
 * So that it does the same work as the sync (creates where the sync created, updates where it
 * updated) in the same emulator, the loader writes under its own connector row: every operation
 * becomes an upsert by alternate key on (loader connector, Ion id). On the first run those rows are
 * new, as the sync's were; on later runs they exist (the loader of the first run created them).
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

import type { BatchOperation, DataverseClient } from "../src/dataverse";
import type { RecordedOp } from "./child";

export const LOADER_BATCH_SIZE = 1000;

/** The Ion id column of each data set's alternate key. */
export const ION_ID_COLUMN: Record<string, string> = {
  w365_provideraccounts: "w365_ioncustomerid",
  w365_providersubscriptions: "w365_ionsubscriptionid",
};

/**
 * Pure: the loader's operation for one recorded sync write. `ionIdOf` resolves a row addressed by its
 * GUID (the sync updates existing rows by id) to its Ion id.
 */
export function toLoaderOperation(
  op: RecordedOp,
  loaderConnectionId: string,
  ionIdOf: (entitySet: string, id: string) => string | undefined,
): BatchOperation {
  const column = ION_ID_COLUMN[op.entitySet];
  if (!column) throw new Error(`the loader only writes provider accounts and subscriptions, not ${op.entitySet}`);
  let ionId: string | undefined;
  if (op.key && typeof op.key === "object") ionId = String((op.key as Record<string, unknown>)[column]);
  else if (typeof op.key === "string") ionId = ionIdOf(op.entitySet, op.key);
  const body: Record<string, unknown> = { ...(op.body as Record<string, unknown> | undefined) };
  ionId ??= typeof body[column] === "string" ? (body[column] as string) : undefined;
  if (!ionId) throw new Error(`cannot tell the Ion id of a ${op.entitySet} write (key ${JSON.stringify(op.key)})`);
  if ("w365_connection@odata.bind" in body) body["w365_connection@odata.bind"] = `/w365_providerconnections(${loaderConnectionId})`;
  return { method: "PATCH", entitySet: op.entitySet, key: { _w365_connection_value: loaderConnectionId, [column]: ionId }, body };
}

export async function readRecordedOps(file: string): Promise<RecordedOp[]> {
  const ops: RecordedOp[] = [];
  const lines = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim()) ops.push(JSON.parse(line) as RecordedOp);
  return ops;
}

export interface LoaderResult {
  rows: number;
  requests: number;
  failed: number;
  ms: number;
  firstError?: string;
}

/** Sends the operations in $batch requests of 1,000, `concurrency` at a time, and times it. */
export async function runLoader(dv: DataverseClient, ops: BatchOperation[], concurrency: number): Promise<LoaderResult> {
  if (ops.length === 0) return { rows: 0, requests: 0, failed: 0, ms: 0 };
  const before = dv.stats().requests;
  const started = performance.now();
  const results = await dv.batch(ops, { continueOnError: true, batchSize: LOADER_BATCH_SIZE, concurrency });
  const ms = performance.now() - started;
  const failed = results.filter((r) => !r.ok);
  const first = failed[0];
  return {
    rows: ops.length,
    requests: dv.stats().requests - before,
    failed: failed.length,
    ms: Math.round(ms),
    firstError: first && !first.ok ? first.error.message : undefined,
  };
}
