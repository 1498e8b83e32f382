/**
 * Outbound conflict policy (pure). An admin's request is compared with Ion's current value and with
 * the last values both sides agreed on (w365_lastsynced*):
 * - Ion unchanged since the last sync → the request is sent;
 * - Ion changed AND the admin asks for something else → Conflict, nothing is sent;
 * - the request already equals Ion's value → nothing to send, the request is cleared.
 * A cancellation after Ion's cancellationAllowedUntil date is refused (state Error) before any order.
 */
export type RequestedStatus = "active" | "suspended" | "deleted";

export interface SubscriptionValues {
  quantity: number;
  status: string;
  autoRenew: boolean;
}

export interface OutboundRequest {
  quantity?: number | null;
  status?: string | null;
  autoRenew?: boolean | null;
}

export interface SubscriptionChange {
  quantity?: number;
  autoRenew?: boolean;
  status?: RequestedStatus;
}

export interface FieldConflict {
  field: "quantity" | "status" | "autoRenew";
  lastSynced: unknown;
  ion: unknown;
  requested: unknown;
}

export type OutboundPlan =
  | { kind: "none" }
  | { kind: "already-applied"; message: string }
  | { kind: "conflict"; conflicts: FieldConflict[]; message: string }
  | { kind: "refused"; message: string }
  | { kind: "send"; change: SubscriptionChange; message: string };

const CANCELLED = new Set(["cancelled", "canceled", "deleted", "expired", "disabled"]);

/** Ion statuses folded onto the three values an admin can request. */
export function statusBucket(status: string | null | undefined): string {
  const s = (status ?? "").toLowerCase();
  if (CANCELLED.has(s)) return "deleted";
  if (s === "suspended" || s === "paused" || s === "stopped") return "suspended";
  if (s === "active" || s === "enabled" || s === "running") return "active";
  return s;
}

export function normalizeRequestedStatus(value: string | null | undefined): RequestedStatus | undefined | "invalid" {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  const s = value.trim().toLowerCase();
  if (s === "active" || s === "reactivate" || s === "enabled") return "active";
  if (s === "suspended" || s === "suspend") return "suspended";
  if (s === "deleted" || s === "cancelled" || s === "canceled" || s === "cancel") return "deleted";
  return "invalid";
}

/**
 * The auto-renew request of a row, or undefined when none: a yes/no column is never empty, so only a
 * requested value that differs from the last synced one (or, never synced, from the current one) asks
 * for a change.
 */
export function pendingAutoRenew(row: {
  w365_requestedautorenew?: boolean | null;
  w365_lastsyncedautorenew?: boolean | null;
  w365_autorenew?: boolean | null;
}): boolean | undefined {
  const requested = row.w365_requestedautorenew;
  if (typeof requested !== "boolean") return undefined;
  const baseline = typeof row.w365_lastsyncedautorenew === "boolean" ? row.w365_lastsyncedautorenew : row.w365_autorenew;
  return typeof baseline === "boolean" && requested === baseline ? undefined : requested;
}

export function hasRequest(r: OutboundRequest): boolean {
  return (
    (r.quantity !== null && r.quantity !== undefined) ||
    (r.status !== null && r.status !== undefined && r.status !== "") ||
    (r.autoRenew !== null && r.autoRenew !== undefined)
  );
}

export function planOutbound(o: {
  requested: OutboundRequest;
  ion: SubscriptionValues & { cancellationAllowedUntil?: string | null };
  /** Undefined when the row was never synced: Ion's current values are then the baseline. */
  lastSynced?: Partial<SubscriptionValues> | null;
  now: number;
}): OutboundPlan {
  const { requested, ion } = o;
  if (!hasRequest(requested)) return { kind: "none" };
  const last = {
    quantity: o.lastSynced?.quantity ?? ion.quantity,
    status: o.lastSynced?.status ?? ion.status,
    autoRenew: o.lastSynced?.autoRenew ?? ion.autoRenew,
  };
  const status = normalizeRequestedStatus(requested.status);
  if (status === "invalid")
    return { kind: "refused", message: `Requested status "${requested.status}" is not one of active, suspended, deleted.` };
  if (
    requested.quantity !== null &&
    requested.quantity !== undefined &&
    (!Number.isInteger(requested.quantity) || requested.quantity < 1)
  ) {
    return {
      kind: "refused",
      message: `Requested quantity ${requested.quantity} is not valid: use a whole number of at least 1 (to cancel, request status "deleted").`,
    };
  }

  const change: SubscriptionChange = {};
  const conflicts: FieldConflict[] = [];
  const consider = <T>(field: FieldConflict["field"], want: T | undefined, ionValue: T, lastValue: T, same: (a: T, b: T) => boolean) => {
    if (want === undefined) return;
    if (same(want, ionValue)) return; // already what the admin wants
    if (!same(ionValue, lastValue)) {
      conflicts.push({ field, lastSynced: lastValue, ion: ionValue, requested: want });
      return;
    }
    (change as Record<string, unknown>)[field] = want;
  };
  const eq = <T>(a: T, b: T) => a === b;
  consider("quantity", requested.quantity ?? undefined, ion.quantity, last.quantity, eq);
  consider("status", status, statusBucket(ion.status) as RequestedStatus, statusBucket(last.status) as RequestedStatus, eq);
  consider("autoRenew", requested.autoRenew ?? undefined, ion.autoRenew, last.autoRenew, eq);

  if (conflicts.length > 0) {
    const parts = conflicts.map(
      (c) =>
        `${c.field}: Ion now has ${String(c.ion)} (was ${String(c.lastSynced)} at the last sync), you requested ${String(c.requested)}`,
    );
    return {
      kind: "conflict",
      conflicts,
      message: `Conflict, nothing was sent to Ion: ${parts.join("; ")}. Save the request again to apply it over Ion's value, or clear it to keep Ion's.`,
    };
  }
  if (Object.keys(change).length === 0)
    return { kind: "already-applied", message: "Ion already has the requested values; nothing to send." };

  if (statusBucket(ion.status) === "deleted") {
    return { kind: "refused", message: "The subscription is cancelled in Ion; it cannot be changed any more." };
  }
  if (change.status === "deleted" && ion.cancellationAllowedUntil) {
    const until = Date.parse(ion.cancellationAllowedUntil);
    if (!Number.isNaN(until) && o.now > until) {
      return {
        kind: "refused",
        message: `Cancellation refused: the cancellation window ended on ${new Date(until).toISOString().slice(0, 10)}. Turn off auto-renew so it ends at the term end, or suspend it instead.`,
      };
    }
  }
  const parts = Object.entries(change).map(([k, v]) => `${k} → ${String(v)}`);
  return { kind: "send", change, message: `Sending to Ion: ${parts.join(", ")}.` };
}
