/**
 * Outbound, Work 365 → Ion (issue 5 item 5). For each subscription row with a requested quantity,
 * status or auto-renew (or an order still being tracked):
 * 1. read the subscription from Ion and apply the conflict policy (./policy.ts);
 * 2. write the order's referenceId and state "Sent to Ion" on the row FIRST;
 * 3. look the referenceId up in Ion before any (re)send, then place one UPDATE order;
 * 4. track the order (bounded polling with backoff); on COMPLETED re-read the subscription, store the
 *    synced values, clear the request, state In sync; on ERROR state Error with Ion's message; still
 *    pending → stays "Sent to Ion" and the next outbound run resumes tracking.
 * Rows in Conflict or Error wait for the admin: scheduled runs skip them; the webhook path (an admin
 * edited the row) evaluates them again. Clears are idempotent so the connector's own writes never
 * cause a second order.
 */
import {
  buildSubscriptionUpdateOrder,
  IonNetworkError,
  IonNotFoundError,
  IonOrder,
  IonRateLimitError,
  IonServerError,
  IonSubscription,
  TERMINAL_ORDER_STATUSES,
} from "../../ion";
import { ensureError, errorCode } from "../../shared/errors";
import { backoffMs, DEFAULT_RETRY } from "../../shared/retry";
import type { SyncContext } from "../context";
import type { RunReport } from "../report";
import { toProviderSubscriptionRow } from "../rows/toProviderSubscriptionRow";
import { SETS, SyncState } from "../schema";
import { pendingAutoRenew, planOutbound, SubscriptionChange } from "./policy";
import { orderReferenceId } from "./referenceId";

export interface OutboundRow {
  w365_providersubscriptionid: string;
  w365_name?: string | null;
  w365_ionsubscriptionid: string;
  w365_ioncustomerid?: string | null;
  _w365_connection_value?: string | null;
  _w365_provideraccount_value?: string | null;
  _w365_account_value?: string | null;
  w365_quantity?: number | null;
  w365_status?: string | null;
  w365_autorenew?: boolean | null;
  w365_lastsyncedquantity?: number | null;
  w365_lastsyncedstatus?: string | null;
  w365_lastsyncedautorenew?: boolean | null;
  w365_requestedquantity?: number | null;
  w365_requestedstatus?: string | null;
  w365_requestedautorenew?: boolean | null;
  w365_syncstate?: number | null;
  w365_orderreference?: string | null;
  w365_lastorderid?: string | null;
}

export type OutboundOutcome =
  "none" | "applied" | "already-applied" | "pending" | "conflict" | "refused" | "failed" | "skipped" | "would-send";

export interface OutboundResult {
  subscriptionId: string;
  outcome: OutboundOutcome;
  orderId?: string;
  referenceId?: string;
  message: string;
  runId?: string;
}

/** Order polls before leaving an order to the next run (about a minute with the default backoff). */
export const DEFAULT_ORDER_POLLS = 8;

export interface OutboundOptions {
  dryRun: boolean;
  /** true on the webhook path: an admin just edited the row, so Conflict/Error rows are evaluated again. */
  adminEdit: boolean;
  maxPolls?: number;
}

/** Requested auto-renew is "cleared" by the synced body (requested = synced), see pendingAutoRenew. */
const CLEAR_REQUEST = { w365_requestedquantity: null, w365_requestedstatus: null };

function lastSyncedOf(row: OutboundRow) {
  if (row.w365_lastsyncedquantity === null || row.w365_lastsyncedquantity === undefined) return null;
  return {
    quantity: row.w365_lastsyncedquantity,
    status: row.w365_lastsyncedstatus ?? undefined,
    autoRenew: row.w365_lastsyncedautorenew ?? undefined,
  };
}

/** Outbound work for one row. Never throws for a record-level problem: the row and the result say what happened. */
export async function processOutboundRow(
  ctx: SyncContext,
  row: OutboundRow,
  report: RunReport,
  o: OutboundOptions,
): Promise<OutboundResult> {
  const id = row.w365_providersubscriptionid;
  const name = row.w365_name ?? row.w365_ionsubscriptionid;
  const customerId = row.w365_ioncustomerid ?? "";
  const result = (outcome: OutboundOutcome, message: string, extra: Partial<OutboundResult> = {}): OutboundResult => ({
    subscriptionId: id,
    outcome,
    message,
    ...extra,
  });
  const update = async (body: Record<string, unknown>) => {
    if (!o.dryRun) await ctx.dv.update(SETS.providerSubscription, id, body);
  };
  try {
    if (!customerId) throw new Error("the row has no Ion customer id; run Sync Subscriptions first");
    const state = row.w365_syncstate ?? SyncState.InSync;
    // An order already placed (or intended): find it by its referenceId before anything else.
    if (state === SyncState.SentToIon && row.w365_orderreference) {
      const existingOrder = await ctx.ion.orders.findByReferenceId(customerId, row.w365_orderreference);
      if (existingOrder) return await track(existingOrder, row.w365_orderreference);
    }
    const requested = { quantity: row.w365_requestedquantity, status: row.w365_requestedstatus, autoRenew: pendingAutoRenew(row) };
    if ((state === SyncState.Conflict || state === SyncState.Error) && !o.adminEdit) {
      report.add({
        entity: "providersubscription",
        key: id,
        name,
        action: "skipped",
        message: "waiting for the admin (Conflict or Error)",
      });
      return result("skipped", "Waiting for the admin to resolve the Conflict or Error.");
    }
    let sub: IonSubscription;
    try {
      sub = await ctx.ion.subscriptions.get(customerId, row.w365_ionsubscriptionid);
    } catch (caught) {
      if (!(caught instanceof IonNotFoundError)) throw caught;
      // Removed in Ion (or its customer was): there is nothing to change; say so instead of failing.
      const message =
        "Not sent: this subscription is no longer in StreamOne Ion. Clear the request; the next Sync Subscriptions marks the row as missing from Ion.";
      await update({ w365_syncstate: SyncState.Error, w365_syncmessage: message });
      report.add({ entity: "providersubscription", key: id, name, action: "refused", message });
      return result("refused", message);
    }
    const plan = planOutbound({ requested, ion: sub, lastSynced: lastSyncedOf(row), now: ctx.clock.now() });
    switch (plan.kind) {
      case "none":
        if (state !== SyncState.InSync && state !== SyncState.SentToIon) return result("none", "Nothing requested.");
        if (state === SyncState.SentToIon) {
          await update({ w365_syncstate: SyncState.InSync, w365_syncmessage: "No request pending." });
        }
        return result("none", "Nothing requested.");
      case "already-applied":
        await update({ ...syncedBody(sub), ...CLEAR_REQUEST, w365_syncstate: SyncState.InSync, w365_syncmessage: plan.message });
        report.add({ entity: "providersubscription", key: id, name, action: "cleared", message: plan.message });
        return result("already-applied", plan.message);
      case "conflict":
        // The baseline moves to Ion's value, so saving the request again means "apply mine anyway".
        await update({
          w365_syncstate: SyncState.Conflict,
          w365_syncmessage: plan.message.slice(0, 2000),
          w365_lastsyncedquantity: sub.quantity,
          w365_lastsyncedstatus: sub.status,
          w365_lastsyncedautorenew: sub.autoRenew,
        });
        report.add({
          entity: "providersubscription",
          key: id,
          name,
          action: "conflict",
          before: { ...plan.conflicts.reduce((a, c) => ({ ...a, [c.field]: c.lastSynced }), {}) },
          after: { ...plan.conflicts.reduce((a, c) => ({ ...a, [c.field]: c.ion }), {}) },
          message: plan.message,
        });
        return result("conflict", plan.message);
      case "refused":
        await update({ w365_syncstate: SyncState.Error, w365_syncmessage: plan.message.slice(0, 2000) });
        report.add({ entity: "providersubscription", key: id, name, action: "refused", message: plan.message });
        return result("refused", plan.message);
      case "send":
        return await send(sub, plan.change, plan.message);
    }
  } catch (error) {
    const e = ensureError(error);
    report.add({ entity: "providersubscription", key: id, name, action: "failed", error: { code: errorCode(error), message: e.message } });
    if (!o.dryRun) {
      await ctx.dv
        .update(SETS.providerSubscription, id, { w365_syncmessage: `Outbound failed: ${e.message}`.slice(0, 2000) })
        .catch(() => undefined);
    }
    return result("failed", e.message);
  }

  function syncedBody(sub: IonSubscription): Record<string, unknown> {
    if (!row._w365_provideraccount_value) {
      return {
        w365_quantity: sub.quantity,
        w365_status: sub.status,
        w365_autorenew: sub.autoRenew,
        w365_lastsyncedquantity: sub.quantity,
        w365_lastsyncedstatus: sub.status,
        w365_lastsyncedautorenew: sub.autoRenew,
        w365_requestedautorenew: sub.autoRenew,
      };
    }
    // Same body and hash as the inbound sync writes, so the next subscriptions sync sees no change.
    const built = toProviderSubscriptionRow(
      ctx.connection.id,
      sub,
      { providerAccountId: row._w365_provideraccount_value, accountId: row._w365_account_value },
      false,
    );
    return built.body;
  }

  async function send(sub: IonSubscription, change: SubscriptionChange, message: string): Promise<OutboundResult> {
    const referenceId = orderReferenceId({
      connectionId: ctx.connection.id,
      subscriptionRowId: id,
      change,
      previousOrderId: row.w365_lastorderid,
    });
    if (o.dryRun) {
      report.add({ entity: "order", key: id, name, action: "would-send", after: { ...change }, message });
      return result("would-send", message, { referenceId });
    }
    // Intent first: if this process dies after Ion accepted the order, the next run finds it by referenceId.
    await update({
      w365_orderreference: referenceId,
      w365_syncstate: SyncState.SentToIon,
      w365_syncmessage: `${message} Order reference ${referenceId}.`.slice(0, 2000),
    });
    const order = await placeOnce(sub, change, referenceId);
    await update({ w365_lastorderid: order.orderId });
    return track(order, referenceId);
  }

  /**
   * Check-then-send, repeated: an order POST that fails ambiguously (no answer, 5xx, 429) may or may not
   * have been placed, so Ion is asked for the referenceId again before any new attempt. Never two orders.
   */
  async function placeOnce(sub: IonSubscription, change: SubscriptionChange, referenceId: string): Promise<IonOrder> {
    const maxAttempts = 4;
    for (let attempt = 1; ; attempt++) {
      const found = await ctx.ion.orders.findByReferenceId(customerId, referenceId);
      if (found) return found;
      try {
        await ctx.deps.hooks?.beforeOrder?.({ subscriptionId: id, referenceId });
        const order = await ctx.ion.orders.create(customerId, buildSubscriptionUpdateOrder(sub, change, referenceId));
        report.add({
          entity: "order",
          key: id,
          name,
          action: "order-placed",
          after: { ...change, orderId: order.orderId },
          message: `order ${order.orderId} (${referenceId})`,
        });
        return order;
      } catch (error) {
        const ambiguous = error instanceof IonNetworkError || error instanceof IonServerError || error instanceof IonRateLimitError;
        if (!ambiguous || attempt >= maxAttempts) throw error;
        ctx.logger.warn(
          `order placement got no clear answer, attempt ${attempt} of ${maxAttempts}; checking Ion for reference ${referenceId}`,
          { subscription: id },
        );
        await ctx.sleep(backoffMs(attempt, { ...DEFAULT_RETRY, baseDelayMs: 500, maxDelayMs: 10_000 }));
      }
    }
  }

  async function track(initial: IonOrder, referenceId: string): Promise<OutboundResult> {
    let order = initial;
    const maxPolls = o.maxPolls ?? DEFAULT_ORDER_POLLS;
    for (let poll = 1; !TERMINAL_ORDER_STATUSES.has(String(order.status).toUpperCase()) && poll <= maxPolls; poll++) {
      await ctx.sleep(backoffMs(poll, { ...DEFAULT_RETRY, baseDelayMs: 500, maxDelayMs: 15_000 }));
      order = await ctx.ion.orders.get(customerId, order.orderId);
    }
    const status = String(order.status).toUpperCase();
    if (status === "COMPLETED") {
      // refresh=true: without it Ion may answer the details it held before the order (src/ion/subscriptions.ts).
      const fresh = await ctx.ion.subscriptions.get(customerId, row.w365_ionsubscriptionid, { refresh: true });
      const message = `Applied in Ion by order ${order.orderId}.`;
      await update({
        ...syncedBody(fresh),
        ...CLEAR_REQUEST,
        w365_syncstate: SyncState.InSync,
        w365_syncmessage: message,
        w365_lastorderid: order.orderId,
      });
      report.add({
        entity: "order",
        key: id,
        name,
        action: "order-completed",
        before: { quantity: row.w365_quantity, status: row.w365_status, autoRenew: row.w365_autorenew },
        after: { quantity: fresh.quantity, status: fresh.status, autoRenew: fresh.autoRenew },
        message,
      });
      return result("applied", message, { orderId: order.orderId, referenceId });
    }
    if (status === "ERROR" || status === "CANCELED") {
      const detail =
        order.errors
          .map((e) => [e.code, e.detail].filter(Boolean).join(": "))
          .filter(Boolean)
          .join("; ") || `order ${status.toLowerCase()}`;
      const message = `Ion did not apply order ${order.orderId}: ${detail}. Change the request and save it to try again.`;
      await update({ w365_syncstate: SyncState.Error, w365_syncmessage: message.slice(0, 2000), w365_lastorderid: order.orderId });
      report.add({ entity: "order", key: id, name, action: "order-failed", message });
      report.count("failed");
      return result("failed", message, { orderId: order.orderId, referenceId });
    }
    const message = `Order ${order.orderId} is ${status} in Ion; the next outbound sync keeps tracking it.`;
    await update({ w365_syncstate: SyncState.SentToIon, w365_syncmessage: message, w365_lastorderid: order.orderId });
    report.add({ entity: "order", key: id, name, action: "order-pending", message });
    return result("pending", message, { orderId: order.orderId, referenceId });
  }
}

/** Rows with work: a request, or an order being tracked. */
export function outboundFilter(connectionId: string): string {
  return `_w365_connection_value eq ${connectionId} and (w365_requestedquantity ne null or w365_requestedstatus ne null or w365_requestedautorenew ne w365_lastsyncedautorenew or w365_syncstate eq ${SyncState.SentToIon})`;
}
