/**
 * Outbound, Work 365 → Ion. For each subscription row with a requested quantity, status or auto-renew
 * (or an order still being tracked):
 * 1. read the subscription from Ion and apply the conflict policy (./policy.ts);
 * 2. claim the row: write the order's referenceId, what the order carries (w365_orderedchange) and "Sent
 *    to Ion" with If-Match on the ETag read, so of several actors on one row (deliveries, workers,
 *    schedule, CLI) only one may post, and whoever tracks the order later finds it by what it carries;
 * 3. look the order up in Ion before any (re)send, then place one UPDATE order; after an unclear answer
 *    look again for longer than the client's timeout and take the claim again before re-posting;
 * 4. track the order (bounded polling with backoff); on COMPLETED re-read the subscription, store the
 *    synced values and clear what the order satisfied (If-Match; a newer request is kept and sent next);
 *    on ERROR/CANCELED (or a refusal at POST) state Error with Ion's message, unless the admin saved a
 *    different request meanwhile: that one is marked Change Requested and sent next; still pending →
 *    stays "Sent to Ion" and the next outbound run resumes tracking. Every outcome is written on the row
 *    as re-read, with If-Match, and only while the row still carries this order's referenceId.
 * Rows in Conflict or Error wait for the admin: scheduled runs skip them; the webhook path (an admin
 * edited the row) evaluates them again. Clears are idempotent so the connector's own writes never
 * cause a second order.
 */
import { DataverseConcurrencyError } from "../../dataverse/errors";
import {
  buildSubscriptionUpdateOrder,
  IonApiError,
  IonConflictError,
  IonNetworkError,
  IonNotFoundError,
  IonOrder,
  IonRateLimitError,
  IonServerError,
  IonSubscription,
  IonValidationError,
  TERMINAL_ORDER_STATUSES,
} from "../../ion";
import { DEFAULT_TIMEOUT_MS } from "../../ion/transport";
import { ensureError, errorCode } from "../../shared/errors";
import { backoffMs, DEFAULT_RETRY } from "../../shared/retry";
import type { SyncContext } from "../context";
import type { RunReport } from "../report";
import { toProviderSubscriptionRow } from "../rows/toProviderSubscriptionRow";
import { MappingStatus, OUTBOUND_COLUMNS, SETS, SyncState } from "../schema";
import type { WriteSink } from "../sink";
import {
  carriedChange,
  decodeOrderedClaim,
  encodeOrderedClaim,
  isOrderOfClaim,
  itemFor,
  orderedClaimOf,
  remainingIntent,
  requestDiffersFromOrder,
  settleDelays,
} from "./intent";
import { normalizeRequestedStatus, pendingAutoRenew, planOutbound, SubscriptionChange } from "./policy";
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
  /** What the order of the claim under w365_orderreference carries (JSON, see encodeOrderedClaim). */
  w365_orderedchange?: string | null;
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
  /** Where the row's writes go (a dry run's sink records them, and the order it would place). */
  sink: WriteSink;
  /** true on the webhook path: an admin just edited the row, so Conflict/Error rows are evaluated again. */
  adminEdit: boolean;
  maxPolls?: number;
}

/** Said on a row whose newer request waits for the pending order of an earlier one. */
const NEWER_WAITS = "Your newer request is sent when this order ends.";

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

/** A row as read by id: its ETag makes every claim and clear conditional on nothing having changed since. */
export type EtaggedRow = OutboundRow & { "@odata.etag"?: string };

/** Rounds per row: a round ends early when the row changed under it (412) or a newer request waits after an order. */
const MAX_ROUNDS = 6;
/** Order placements per claim: each re-POST after an unclear answer needs the claim again (If-Match). */
const MAX_ORDER_ATTEMPTS = 4;

type Round = { done: true; result: OutboundResult } | { done: false; result?: OutboundResult };

/** An order POST Ion answered with a clear refusal (validation, not found, conflict): it placed nothing. */
class OrderRefusedError extends Error {
  constructor(readonly refusal: Error) {
    super(refusal.message);
  }
}

/** The claim moved to someone else before a re-POST: they now own the order. */
class ClaimLostError extends Error {}

export async function readOutboundRow(ctx: SyncContext, id: string): Promise<EtaggedRow | undefined> {
  return ctx.dv.tryRetrieve<EtaggedRow>(SETS.providerSubscription, id, { select: [...OUTBOUND_COLUMNS] });
}

/**
 * Outbound work for one row. Never throws for a record-level problem: the row and the result say what
 * happened. Safe with any number of actors on the same row at once: only the actor whose conditional
 * write (If-Match on the ETag it read) claimed the row posts an order; the others find that order in
 * Ion and track it, or re-read the row and decide again.
 */
export async function processOutboundRow(
  ctx: SyncContext,
  row: OutboundRow,
  report: RunReport,
  o: OutboundOptions,
): Promise<OutboundResult> {
  const id = row.w365_providersubscriptionid;
  let current: EtaggedRow | undefined = (row as EtaggedRow)["@odata.etag"] ? row : await readOutboundRow(ctx, id);
  let last: OutboundResult | undefined;
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    if (!current) return { subscriptionId: id, outcome: "none", message: "The subscription row no longer exists." };
    const step = await processRound(ctx, current, report, o);
    if (step.done) return step.result;
    last = step.result ?? last;
    current = await readOutboundRow(ctx, id);
  }
  return (
    last ?? {
      subscriptionId: id,
      outcome: "pending",
      message: "The row kept changing while its order was placed; the next outbound sync continues.",
    }
  );
}

async function processRound(ctx: SyncContext, row: EtaggedRow, report: RunReport, o: OutboundOptions): Promise<Round> {
  const id = row.w365_providersubscriptionid;
  const name = row.w365_name ?? row.w365_ionsubscriptionid;
  const customerId = row.w365_ioncustomerid ?? "";
  const done = (outcome: OutboundOutcome, message: string, extra: Partial<OutboundResult> = {}): Round => ({
    done: true,
    result: { subscriptionId: id, outcome, message, ...extra },
  });
  const again: Round = { done: false };
  /** Writes only when the row is still as read; false when someone (admin, handler, other actor) changed it first. */
  const writeIfUnchanged = async (body: Record<string, unknown>, etag = row["@odata.etag"]): Promise<boolean> => {
    return o.sink.update(SETS.providerSubscription, id, body, { ifMatch: etag ?? "*" });
  };
  /**
   * As writeIfUnchanged, answering the row's new ETag from the write's own answer (return=representation),
   * so a later conditional write under the same claim needs no read in between; undefined when someone
   * changed the row first.
   */
  const claimIfUnchanged = async (body: Record<string, unknown>, etag = row["@odata.etag"]): Promise<string | undefined> => {
    try {
      const written = await ctx.dv.updateReturning<EtaggedRow>(SETS.providerSubscription, id, body, {
        ifMatch: etag ?? "*",
        select: ["w365_providersubscriptionid"],
      });
      const next = written["@odata.etag"];
      if (!next) throw new Error("Dataverse answered the claim without the row's ETag");
      return next;
    } catch (caught) {
      if (caught instanceof DataverseConcurrencyError) return undefined;
      throw caught;
    }
  };
  const finishIfUnchanged = async (body: Record<string, unknown>, ok: () => Round): Promise<Round> =>
    (await writeIfUnchanged(body)) ? ok() : again;
  try {
    if (!customerId) throw new Error("the row has no Ion customer id; run Sync Subscriptions first");
    const state = row.w365_syncstate ?? SyncState.InSync;
    const claimedRef = state === SyncState.SentToIon ? row.w365_orderreference : undefined;
    if (!claimedRef && (state === SyncState.Conflict || state === SyncState.Error) && !o.adminEdit) {
      report.add({
        entity: "providersubscription",
        key: id,
        name,
        action: "skipped",
        message: "waiting for the admin (Conflict or Error)",
      });
      return done("skipped", "Waiting for the admin to resolve the Conflict or Error.");
    }
    if (!ctx.connection.active && !claimedRef) {
      const message = `Not sent: the connector "${ctx.connection.name}" is deactivated. Activate it to send this change to StreamOne Ion.`;
      report.add({ entity: "providersubscription", key: id, name, action: "skipped", message });
      return done("skipped", message);
    }
    let sub: IonSubscription;
    try {
      sub = await ctx.ion.subscriptions.get(customerId, row.w365_ionsubscriptionid);
    } catch (caught) {
      if (!(caught instanceof IonNotFoundError)) throw caught;
      // Removed in Ion (or its customer was): there is nothing to change; say so instead of failing.
      const message =
        "Not sent: this subscription is no longer in StreamOne Ion. Clear the request; the next Sync Subscriptions marks the row as missing from Ion.";
      return finishIfUnchanged({ w365_syncstate: SyncState.Error, w365_syncmessage: message }, () => {
        report.add({ entity: "providersubscription", key: id, name, action: "refused", message });
        return done("refused", message);
      });
    }
    let takeOverRef: string | undefined;
    if (claimedRef) {
      // Someone claimed this row for an order: find that order (it may be recorded late, or have completed
      // already) and track it. By what the claim ordered, stored with it: the admin may have saved a newer
      // request since, which waits until this order ends; and an order placed by hand in the Ion portal
      // with other content is not ours. A claim written before that column existed has only the row's
      // request to go by.
      const stored = decodeOrderedClaim(row.w365_orderedchange);
      const found = await waitForOrder(ctx, customerId, {
        referenceId: claimedRef,
        sub,
        previousOrderId: row.w365_lastorderid,
        change: stored?.carries ?? requestedChange(row),
        ...(stored?.subscriptionUpdated ? { claimedAfter: stored.subscriptionUpdated } : {}),
      });
      if (found) return await track(found, claimedRef, sub);
      // No order in Ion for longer than any POST can take. The claim is void only if its holder stayed
      // silent all that time (same ETag); otherwise decide again on the fresh row.
      const now = await readOutboundRow(ctx, id);
      if (!now || now["@odata.etag"] !== row["@odata.etag"]) return again;
      takeOverRef = claimedRef;
      sub = await ctx.ion.subscriptions.get(customerId, row.w365_ionsubscriptionid);
    }
    const requested = { quantity: row.w365_requestedquantity, status: row.w365_requestedstatus, autoRenew: pendingAutoRenew(row) };
    const plan = planOutbound({ requested, ion: sub, lastSynced: lastSyncedOf(row), now: ctx.clock.now() });
    switch (plan.kind) {
      case "none":
        // Includes an auto-renew request toggled back before anything was sent: the row must not stay "Change requested".
        if (state === SyncState.InSync) return done("none", "Nothing requested.");
        if (state === SyncState.Conflict || state === SyncState.Error) {
          return finishIfUnchanged(
            { ...syncedBody(sub), w365_syncstate: SyncState.InSync, w365_syncmessage: "Request cleared; the row shows Ion's values." },
            () => done("none", "Request cleared."),
          );
        }
        return finishIfUnchanged({ w365_syncstate: SyncState.InSync, w365_syncmessage: "No request pending." }, () =>
          done("none", "Nothing requested."),
        );
      case "already-applied":
        return finishIfUnchanged(
          { ...syncedBody(sub), ...CLEAR_REQUEST, w365_syncstate: SyncState.InSync, w365_syncmessage: plan.message },
          () => {
            report.add({ entity: "providersubscription", key: id, name, action: "cleared", message: plan.message });
            return done("already-applied", plan.message);
          },
        );
      case "conflict":
        // The baseline moves to Ion's value, so saving the request again means "apply mine anyway".
        return finishIfUnchanged(
          {
            w365_syncstate: SyncState.Conflict,
            w365_syncmessage: plan.message.slice(0, 2000),
            w365_lastsyncedquantity: sub.quantity,
            w365_lastsyncedstatus: sub.status,
            w365_lastsyncedautorenew: sub.autoRenew,
          },
          () => {
            report.add({
              entity: "providersubscription",
              key: id,
              name,
              action: "conflict",
              before: { ...plan.conflicts.reduce((a, c) => ({ ...a, [c.field]: c.lastSynced }), {}) },
              after: { ...plan.conflicts.reduce((a, c) => ({ ...a, [c.field]: c.ion }), {}) },
              message: plan.message,
            });
            return done("conflict", plan.message);
          },
        );
      case "refused":
        return finishIfUnchanged({ w365_syncstate: SyncState.Error, w365_syncmessage: plan.message.slice(0, 2000) }, () => {
          report.add({ entity: "providersubscription", key: id, name, action: "refused", message: plan.message });
          return done("refused", plan.message);
        });
      case "send": {
        const blocked = await customerBlocksOrders();
        if (blocked) {
          return finishIfUnchanged({ w365_syncstate: SyncState.Error, w365_syncmessage: blocked }, () => {
            report.add({ entity: "providersubscription", key: id, name, action: "refused", message: blocked });
            return done("refused", blocked);
          });
        }
        return await send(sub, plan.change, plan.message, takeOverRef);
      }
    }
  } catch (error) {
    const e = ensureError(error);
    report.add({ entity: "providersubscription", key: id, name, action: "failed", error: { code: errorCode(error), message: e.message } });
    await o.sink
      .update(SETS.providerSubscription, id, { w365_syncmessage: `Outbound failed: ${e.message}`.slice(0, 2000) })
      .catch(() => undefined);
    return done("failed", e.message);
  }

  /** Why this row's customer may not order now (unmapped or ignored), or undefined when it may. */
  async function customerBlocksOrders(): Promise<string | undefined> {
    const providerAccountId = row._w365_provideraccount_value;
    if (!providerAccountId) return undefined;
    const account = await ctx.dv.tryRetrieve<{ w365_mappingstatus?: number | null; w365_name?: string | null }>(
      SETS.providerAccount,
      providerAccountId,
      { select: ["w365_mappingstatus", "w365_name"] },
    );
    if (!account) return undefined;
    const customer = account.w365_name ? `customer "${account.w365_name}"` : "this customer";
    if (account.w365_mappingstatus === MappingStatus.Ignored)
      return `Not sent: ${customer} is ignored, so its subscriptions place no orders. Map the customer, then save the request again.`;
    if (account.w365_mappingstatus !== MappingStatus.Mapped)
      return `Not sent: ${customer} is not mapped to a Work 365 account, so its subscriptions place no orders. Map it on the mapping page, then save the request again.`;
    return undefined;
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

  async function send(sub: IonSubscription, change: SubscriptionChange, message: string, takeOverRef?: string): Promise<Round> {
    // The key of this intent: stable for every actor and retry until the intent is done (the previous
    // claim's reference, not an order id recorded on the way, tells it apart from an earlier identical one).
    const referenceId =
      takeOverRef ??
      orderReferenceId({ connectionId: ctx.connection.id, subscriptionRowId: id, change, previousOrderId: row.w365_orderreference });
    if (o.sink.plansOnly({ report, entry: { entity: "order", key: id, name, action: "would-send", after: { ...change }, message } }))
      return done("would-send", message, { referenceId });
    // The claim: only the actor whose conditional write lands may post; the rest re-read and find its order.
    // What the order carries goes with the claim in the same write: whoever tracks the order later finds
    // it by this, not by the row's request, which the admin may change while the order is pending.
    const claimEtag = await claimIfUnchanged({
      w365_orderreference: referenceId,
      w365_orderedchange: encodeOrderedClaim(orderedClaimOf(sub, change)),
      w365_syncstate: SyncState.SentToIon,
      w365_syncmessage: `${message} Order reference ${referenceId}.`.slice(0, 2000),
    });
    if (!claimEtag) return again;
    let order: IonOrder;
    try {
      order = await placeOnce(sub, change, referenceId, claimEtag);
    } catch (caught) {
      if (caught instanceof ClaimLostError) {
        const pending = `Order ${referenceId}: Ion gave no clear answer and another run now tracks it.`;
        return done("pending", pending, { referenceId });
      }
      if (!(caught instanceof OrderRefusedError)) throw caught;
      const refusal = `Ion refused the order: ${caught.message}. Change the request and save it to try again.`.slice(0, 2000);
      const newer = `Ion refused the order (${caught.message}); your newer request is sent next.`;
      const outcome = await recordFailure(referenceId, sub, change, refusal, newer, {});
      report.add({ entity: "order", key: id, name, action: "refused", after: { ...change }, message: refusal });
      report.count("failed");
      return outcome === "newer"
        ? { done: false, result: { subscriptionId: id, outcome: "refused", message: refusal, referenceId } }
        : done("refused", refusal, { referenceId });
    }
    // w365_lastorderid is written only when the order ends: until then it names the previous intent's
    // order, which a look-up by content must not take for this claim's (isOrderOfClaim).
    return track(order, referenceId, sub);
  }

  /**
   * Check-then-send under the claim. An order POST that fails ambiguously (no answer, 5xx, 429) may have
   * been placed, and Ion may record it late: Ion is asked again for longer than the client's timeout,
   * and a re-POST first takes the claim again (If-Match), so no one else posts meanwhile. Never two orders.
   */
  async function placeOnce(sub: IonSubscription, change: SubscriptionChange, referenceId: string, claimed: string): Promise<IonOrder> {
    const ours = { referenceId, sub, previousOrderId: row.w365_lastorderid, change };
    let claimEtag = claimed;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) {
        const late = await waitForOrder(ctx, customerId, ours);
        if (late) return late;
        const reclaimed = await claimIfUnchanged(
          { w365_syncmessage: `Placing order ${referenceId} again (attempt ${attempt}): Ion has no record of the earlier attempt.` },
          claimEtag,
        );
        if (!reclaimed) throw new ClaimLostError();
        claimEtag = reclaimed;
      } else {
        const found = await findOrder(ctx, customerId, ours);
        if (found) return found;
      }
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
        if (!ambiguous) {
          if (isRefusal(error)) throw new OrderRefusedError(ensureError(error));
          throw error;
        }
        if (attempt >= MAX_ORDER_ATTEMPTS) throw error;
        ctx.logger.warn(
          `order placement got no clear answer, attempt ${attempt} of ${MAX_ORDER_ATTEMPTS}; looking for reference ${referenceId} in Ion`,
          { subscription: id },
        );
      }
    }
  }

  async function track(initial: IonOrder, referenceId: string, sub: IonSubscription): Promise<Round> {
    let order = initial;
    const maxPolls = o.maxPolls ?? DEFAULT_ORDER_POLLS;
    for (let poll = 1; !TERMINAL_ORDER_STATUSES.has(String(order.status).toUpperCase()) && poll <= maxPolls; poll++) {
      await ctx.sleep(backoffMs(poll, { ...DEFAULT_RETRY, baseDelayMs: 500, maxDelayMs: 15_000 }));
      order = await ctx.ion.orders.get(customerId, order.orderId);
    }
    const status = String(order.status).toUpperCase();
    if (status === "COMPLETED") return completed(order, referenceId, sub);
    const failed = status === "ERROR" || status === "CANCELED";
    const detail =
      order.errors
        .map((e) => [e.code, e.detail].filter(Boolean).join(": "))
        .filter(Boolean)
        .join("; ") || `order ${status.toLowerCase()}`;
    const message = failed
      ? `Ion did not apply order ${order.orderId}: ${detail}. Change the request and save it to try again.`
      : `Order ${order.orderId} is ${status} in Ion; the next outbound sync keeps tracking it.`;
    const item = itemFor(order, sub.subscriptionId) ?? order.items[0];
    const carried = item ? carriedChange(item) : {};
    if (!failed) {
      // Only while the row is still this claim's: another actor may have finished the order meanwhile.
      for (let attempt = 1; attempt <= 4; attempt++) {
        const now = await readOutboundRow(ctx, id);
        if (!now || now.w365_orderreference !== referenceId) break;
        // A request saved while the order is pending waits for it (one order at a time per subscription).
        const waiting = requestDiffersFromOrder(now, sub, carried) ? ` ${NEWER_WAITS}` : "";
        const body = { w365_syncstate: SyncState.SentToIon, w365_syncmessage: `${message}${waiting}` };
        if (await writeIfUnchanged(body, now["@odata.etag"])) break;
      }
      report.add({ entity: "order", key: id, name, action: "order-pending", message });
      return done("pending", message, { orderId: order.orderId, referenceId });
    }
    const newer = `Ion did not apply order ${order.orderId} (${detail}); your newer request is sent next.`;
    const outcome = await recordFailure(referenceId, sub, carried, message, newer, { w365_lastorderid: order.orderId });
    report.add({ entity: "order", key: id, name, action: "order-failed", message });
    report.count("failed");
    return outcome === "newer"
      ? { done: false, result: { subscriptionId: id, outcome: "failed", message, orderId: order.orderId, referenceId } }
      : done("failed", message, { orderId: order.orderId, referenceId });
  }

  /**
   * An order of this claim was refused or failed. Written on the row as read now, like completed(): the
   * admin may have saved a newer request while the order was pending, and a plain write would bury it in
   * Error; that request is marked Change Requested and sent next instead. "moved-on": the row is gone or
   * another actor already finished this order.
   */
  async function recordFailure(
    referenceId: string,
    sub: IonSubscription,
    carried: SubscriptionChange,
    failure: string,
    newerMessage: string,
    extra: Record<string, unknown>,
  ): Promise<"error" | "newer" | "moved-on"> {
    for (let attempt = 1; attempt <= 4; attempt++) {
      const now = await readOutboundRow(ctx, id);
      if (!now || now.w365_orderreference !== referenceId) return "moved-on";
      const newer = requestDiffersFromOrder(now, sub, carried);
      const body = newer
        ? { ...extra, w365_syncstate: SyncState.ChangeRequested, w365_syncmessage: newerMessage.slice(0, 2000) }
        : { ...extra, w365_syncstate: SyncState.Error, w365_syncmessage: failure.slice(0, 2000) };
      if (await writeIfUnchanged(body, now["@odata.etag"])) return newer ? "newer" : "error";
    }
    return "moved-on";
  }

  /**
   * The order completed: store Ion's values and clear what it satisfied, conditionally on the row as
   * read now. A request the admin made while the order was pending (another value, or a revert) is
   * newer than the order: it stays, and the next round sends it.
   */
  async function completed(order: IonOrder, referenceId: string, before: IonSubscription): Promise<Round> {
    // refresh=true: without it Ion may answer the details it held before the order (src/ion/subscriptions.ts).
    const fresh = await ctx.ion.subscriptions.get(customerId, row.w365_ionsubscriptionid, { refresh: true });
    const item = itemFor(order, before.subscriptionId) ?? order.items[0];
    const carried = item ? carriedChange(item) : {};
    const applied = `Applied in Ion by order ${order.orderId}.`;
    for (let attempt = 1; attempt <= 4; attempt++) {
      const now = await readOutboundRow(ctx, id);
      // Gone, or another actor already finished this order and moved on.
      if (!now || now.w365_orderreference !== referenceId) break;
      const remaining = remainingIntent(now, fresh, carried);
      const body: Record<string, unknown> = { ...syncedBody(fresh), w365_lastorderid: order.orderId };
      if (remaining) {
        const newer = Object.entries(remaining)
          .map(([k, v]) => `${k} → ${String(v)}`)
          .join(", ");
        body.w365_requestedautorenew = remaining.autoRenew ?? fresh.autoRenew;
        body.w365_syncstate = SyncState.ChangeRequested;
        body.w365_syncmessage = `${applied} Your newer request (${newer}) is sent next.`;
      } else {
        Object.assign(body, CLEAR_REQUEST, { w365_syncstate: SyncState.InSync, w365_syncmessage: applied });
      }
      if (await writeIfUnchanged(body, now["@odata.etag"])) {
        reportCompleted(order, fresh, applied);
        return remaining
          ? { done: false, result: { subscriptionId: id, outcome: "applied", message: applied } }
          : done("applied", applied, { orderId: order.orderId, referenceId });
      }
    }
    reportCompleted(order, fresh, applied);
    return done("applied", applied, { orderId: order.orderId, referenceId });
  }

  function reportCompleted(order: IonOrder, fresh: IonSubscription, message: string): void {
    report.add({
      entity: "order",
      key: id,
      name,
      action: "order-completed",
      before: { quantity: row.w365_quantity, status: row.w365_status, autoRenew: row.w365_autorenew },
      after: { quantity: fresh.quantity, status: fresh.status, autoRenew: fresh.autoRenew, orderId: order.orderId },
      message,
    });
  }
}

/** Looks for the claim's order now and again over the settle pauses (longer than the client's timeout in total). */
async function waitForOrder(ctx: SyncContext, customerId: string, o: Parameters<typeof isOrderOfClaim>[1]): Promise<IonOrder | undefined> {
  const first = await findOrder(ctx, customerId, o);
  if (first) return first;
  for (const delay of settleDelays(ctx.deps.ion?.timeoutMs ?? DEFAULT_TIMEOUT_MS)) {
    await ctx.sleep(delay);
    const found = await findOrder(ctx, customerId, o);
    if (found) return found;
  }
  return undefined;
}

/** One look through the customer's orders for the one this claim placed (see isOrderOfClaim). */
async function findOrder(ctx: SyncContext, customerId: string, o: Parameters<typeof isOrderOfClaim>[1]): Promise<IonOrder | undefined> {
  for await (const order of ctx.ion.orders.list({ customerId })) if (isOrderOfClaim(order, o)) return order;
  return undefined;
}

/** What the row asks Ion for, field by field: what a claim carries when it was written without w365_orderedchange. */
function requestedChange(row: OutboundRow): SubscriptionChange {
  const change: SubscriptionChange = {};
  if (typeof row.w365_requestedquantity === "number") change.quantity = row.w365_requestedquantity;
  const status = normalizeRequestedStatus(row.w365_requestedstatus);
  if (status !== undefined && status !== "invalid") change.status = status;
  const autoRenew = pendingAutoRenew(row);
  if (autoRenew !== undefined) change.autoRenew = autoRenew;
  return change;
}

/** A clear "no" from Ion at POST: nothing was placed, and sending the same again would be refused again. */
function isRefusal(error: unknown): boolean {
  if (error instanceof IonValidationError || error instanceof IonNotFoundError || error instanceof IonConflictError) return true;
  if (!(error instanceof IonApiError)) return false;
  const status = error.statusCode ?? 0;
  return status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 408 && status !== 429;
}

/** Rows with work: a request, or an order being tracked. */
export function outboundFilter(connectionId: string): string {
  return `_w365_connection_value eq ${connectionId} and (w365_requestedquantity ne null or w365_requestedstatus ne null or w365_requestedautorenew ne w365_lastsyncedautorenew or w365_syncstate eq ${SyncState.SentToIon})`;
}
