/**
 * The connector's own sync state (JSON in `w365_checkpoint` on the connector row): the highest account row
 * version the last accounts phase matched against, and the subscriptions digests' row-version marks.
 *
 * Several runs of one connector may overlap (a webhook's run and the schedule's, an accounts run and a
 * subscriptions run), each having read the checkpoint at its start. A run writes it onto the row version it
 * read (If-Match); when another writer came first (412) it reads the row again, merges its own marks into
 * what is stored now and tries again, so no run reverts another's marks. Digest marks two runs both moved
 * are forgotten instead (see `mergeConnectorCheckpoint`).
 */
import type { DataverseClient } from "../dataverse";
import { type DigestMarks, readMarks } from "./digest";
import type { ListShape } from "./ionPages";
import { SETS } from "./schema";

export interface ConnectorCheckpoint {
  /** Highest account row version seen by the last accounts phase. */
  accountsVersion?: string;
  /** Row-version marks of the subscriptions' digests (./digest.ts). */
  subscriptionDigest?: DigestMarks;
  /**
   * Ion's subscription list as the last full read found it (page step and total): the next read asks for the
   * pages after the first beside it (./ionPages.ts). A hint only: the first page checks it.
   */
  ionSubscriptions?: ListShape;
}

/** What a run changes in the checkpoint: only the keys present; undefined = forget the mark. */
export type CheckpointChanges = {
  accountsVersion?: string | undefined;
  subscriptionDigest?: DigestMarks | undefined;
  ionSubscriptions?: ListShape;
};

/** A stored list shape, if it is one (a hint read back from JSON). */
export function readListShape(value: unknown): ListShape | undefined {
  if (!value || typeof value !== "object") return undefined;
  const { step, total } = value as Record<string, unknown>;
  return Number.isSafeInteger(step) && Number.isSafeInteger(total) && (step as number) > 0 && (total as number) >= 0
    ? { step: step as number, total: total as number }
    : undefined;
}

/** Write attempts of the checkpoint (the first rides with the run's last $batch). */
export const CHECKPOINT_WRITE_ATTEMPTS = 3;

export function parseConnectorCheckpoint(text: string | null | undefined): ConnectorCheckpoint {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as ConnectorCheckpoint;
    return v && typeof v === "object" ? v : {};
  } catch {
    return {};
  }
}

const digits = (v: unknown): v is string => typeof v === "string" && /^\d+$/.test(v);

function sameMarks(a: DigestMarks | undefined, b: DigestMarks | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The higher of two row versions; an unknown one counts lowest. */
function higherVersion(a: string | undefined, b: string | undefined): string | undefined {
  if (!digits(a)) return digits(b) ? b : a;
  if (!digits(b)) return a;
  return BigInt(a) >= BigInt(b) ? a : b;
}

/**
 * Pure: the checkpoint to write, given what the run read at its start (`base`), what it changes, and what
 * the row holds now (`stored`). A key nobody else changed since the start takes the run's value. The account
 * version both changed keeps the higher one. Digest marks another run changed meanwhile are forgotten, even
 * when both runs arrived at the same marks: both wrote customers' digests without If-Match, each over the
 * other's, so the digest stored for a customer may hold one run's view of rows the other run wrote last, and
 * rows written by the sync's own user before `until` are not looked at again. Forgetting the marks makes the
 * next run read every stored row (one full read, never a digest trusted wrongly). The same holds when this
 * run forgot them: a run that could not record its marks wrote digests the stored marks do not cover.
 */
export function mergeConnectorCheckpoint(
  base: ConnectorCheckpoint,
  changes: CheckpointChanges,
  stored: ConnectorCheckpoint,
): ConnectorCheckpoint {
  const out: ConnectorCheckpoint = { ...stored };
  const put = <K extends keyof ConnectorCheckpoint>(key: K, value: ConnectorCheckpoint[K]) => {
    if (value === undefined) delete out[key];
    else out[key] = value;
  };
  if ("accountsVersion" in changes) {
    const storedChanged = (stored.accountsVersion ?? null) !== (base.accountsVersion ?? null);
    put("accountsVersion", storedChanged ? higherVersion(changes.accountsVersion, stored.accountsVersion) : changes.accountsVersion);
  }
  // A hint: the latest read's shape stands, whoever wrote before.
  if (changes.ionSubscriptions) put("ionSubscriptions", changes.ionSubscriptions);
  if ("subscriptionDigest" in changes) {
    const storedChanged = !sameMarks(readMarks(base.subscriptionDigest), readMarks(stored.subscriptionDigest));
    put("subscriptionDigest", storedChanged ? undefined : readMarks(changes.subscriptionDigest));
  }
  return out;
}

/** The connector row's checkpoint and ETag now. */
export async function readConnectorCheckpoint(
  dv: DataverseClient,
  connectionId: string,
): Promise<{ checkpoint: ConnectorCheckpoint; etag?: string }> {
  const row = await dv.tryRetrieve<{ w365_checkpoint?: string | null; "@odata.etag"?: string }>(SETS.connection, connectionId, {
    select: ["w365_checkpoint"],
  });
  return { checkpoint: parseConnectorCheckpoint(row?.w365_checkpoint), etag: row?.["@odata.etag"] };
}
