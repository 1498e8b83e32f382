/**
 * Pure rules that keep one Ion order per admin intent when several actors (webhook deliveries, queue
 * workers on several instances, the schedule, the CLI) and the admin act on one subscription row:
 * - how the order this row placed is recognised in Ion (by its referenceId, else by what it carries);
 * - how long to look for an order whose POST got no clear answer before anything may post again;
 * - what is still requested once an order completed (a request newer than the order is kept).
 */
import type { IonOrder, IonOrderItem, IonSubscription } from "../../ion";
import { normalizeRequestedStatus, pendingAutoRenew, type RequestedStatus, statusBucket, type SubscriptionChange } from "./policy";

/** What an UPDATE order item carries (Microsoft attribute vocabulary: renewalSetting, statusUpdate). */
export function carriedChange(item: IonOrderItem): SubscriptionChange {
  const attr = (name: string) => item.attributes.find((a) => a.name.toLowerCase() === name.toLowerCase())?.value?.toLowerCase();
  const change: SubscriptionChange = {};
  if (typeof item.quantity === "number") change.quantity = item.quantity;
  const renewal = attr("renewalSetting");
  if (renewal === "auto-on" || renewal === "auto-off") change.autoRenew = renewal === "auto-on";
  const status = attr("statusUpdate");
  if (status === "active" || status === "suspended" || status === "deleted") change.status = status;
  return change;
}

/** The item of `order` that changes `subscriptionId` (the provider subscription id), if any. */
export function itemFor(order: IonOrder, subscriptionId: string | undefined): IonOrderItem | undefined {
  if (!subscriptionId) return undefined;
  return order.items.find((i) => (i.action ?? "").toUpperCase() === "UPDATE" && i.resourceId === subscriptionId);
}

function epoch(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * True when `order` is the one this row placed for its current claim. First by referenceId (on the
 * order or an item). Ion does not promise to echo a caller's referenceId on every order type, so
 * second by content: an UPDATE of the same provider subscription, created after the subscription was
 * last changed before the claim (`claimedAfter`, stored with the claim; else the subscription's
 * current `lastUpdatedDate`; both are Ion's own clock: an earlier order that completed changed the
 * subscription after it was created), not the row's previous order, and (when known) carrying the
 * same quantity, renewal and status. The claim on the row (see runner.ts) ensures no other actor of
 * this connector places an order for the subscription meanwhile.
 */
export function isOrderOfClaim(
  order: IonOrder,
  o: {
    referenceId: string;
    sub: IonSubscription;
    previousOrderId?: string | null;
    change?: SubscriptionChange;
    claimedAfter?: string;
  },
): boolean {
  if (order.referenceId === o.referenceId || order.items.some((i) => i.referenceId === o.referenceId)) return true;
  if (o.previousOrderId && order.orderId === o.previousOrderId) return false;
  const item = itemFor(order, o.sub.subscriptionId);
  if (!item) return false;
  // An order carrying another caller's reference is not ours, whatever it changes.
  if (item.referenceId || order.referenceId) return false;
  const created = epoch(order.createTime);
  const subChanged = epoch(o.claimedAfter ?? o.sub.lastUpdatedDate);
  if (created === undefined || subChanged === undefined || created <= subChanged) return false;
  if (o.change) {
    const carried = carriedChange(item);
    if ((o.change.quantity ?? o.sub.quantity) !== carried.quantity) return false;
    if (o.change.autoRenew !== undefined && carried.autoRenew !== o.change.autoRenew) return false;
    if (o.change.status !== undefined && carried.status !== o.change.status) return false;
  }
  return true;
}

/**
 * A claim's order as stored on the row (`w365_orderedchange`, written in the claim's own If-Match write):
 * what the order carries and the point in Ion's time after which it was created. Whoever tracks the claim
 * later (another actor, the next run) finds the order by this when Ion does not echo the reference, even
 * after the admin saved a newer request on the row, and even once the order completed (and so changed the
 * subscription after its own creation).
 */
export interface OrderedClaim {
  /** What the order's item carries: the quantity always (Ion's current one when the request left it), renewal and status when changed. */
  carries: SubscriptionChange;
  /** Ion's `lastUpdatedDate` of the subscription as read for the claim: the order is created after it. */
  subscriptionUpdated?: string;
}

export function orderedClaimOf(sub: IonSubscription, change: SubscriptionChange): OrderedClaim {
  const carries: SubscriptionChange = { quantity: change.quantity ?? sub.quantity };
  if (change.autoRenew !== undefined) carries.autoRenew = change.autoRenew;
  if (change.status !== undefined) carries.status = change.status;
  return sub.lastUpdatedDate ? { carries, subscriptionUpdated: sub.lastUpdatedDate } : { carries };
}

/** JSON of at most about 110 characters (the column holds 200). */
export function encodeOrderedClaim(claim: OrderedClaim): string {
  const { quantity, autoRenew, status } = claim.carries;
  return JSON.stringify({ quantity, autoRenew, status, subscriptionUpdated: claim.subscriptionUpdated });
}

/** The stored claim; undefined when absent or unreadable (a claim written before the column existed). */
export function decodeOrderedClaim(text: string | null | undefined): OrderedClaim | undefined {
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const v = parsed as Record<string, unknown>;
  if (typeof v.quantity !== "number" || !Number.isInteger(v.quantity)) return undefined;
  const carries: SubscriptionChange = { quantity: v.quantity };
  if (v.autoRenew !== undefined) {
    if (typeof v.autoRenew !== "boolean") return undefined;
    carries.autoRenew = v.autoRenew;
  }
  if (v.status !== undefined) {
    if (v.status !== "active" && v.status !== "suspended" && v.status !== "deleted") return undefined;
    carries.status = v.status;
  }
  if (v.subscriptionUpdated !== undefined && typeof v.subscriptionUpdated !== "string") return undefined;
  return typeof v.subscriptionUpdated === "string" ? { carries, subscriptionUpdated: v.subscriptionUpdated } : { carries };
}

/**
 * Pauses between look-ups for an order whose POST got no clear answer (or whose claimer is silent):
 * they add up to more than 2.5 × the client's per-request timeout, longer than a claimer's look-up and
 * POST can take together, so an order Ion records as late as the POST could still be running is seen
 * before anyone posts again.
 */
export function settleDelays(timeoutMs: number): number[] {
  const target = Math.ceil(timeoutMs * 2.5);
  const delays: number[] = [];
  let total = 0;
  for (let next = Math.max(50, Math.min(1000, Math.ceil(timeoutMs / 8))); total <= target; next = Math.min(next * 2, 15_000)) {
    delays.push(next);
    total += next;
  }
  return delays;
}

export interface RowRequest {
  w365_requestedquantity?: number | null;
  w365_requestedstatus?: string | null;
  w365_requestedautorenew?: boolean | null;
  w365_lastsyncedautorenew?: boolean | null;
}

export interface RemainingIntent {
  quantity?: number;
  status?: RequestedStatus | "invalid";
  /** Set when the admin's auto-renew request still differs from Ion after the order. */
  autoRenew?: boolean;
}

/**
 * What the row still asks for once `carried` was applied and Ion shows `ion`: a request equal to Ion's
 * value is done; one that differs is newer than the order (the admin changed it while the order was
 * pending) and wins. Auto-renew has no empty value, so its request counts when it differs from both
 * Ion and either the last synced value or what the order carried (the admin toggled it back).
 */
export function remainingIntent(
  row: RowRequest,
  ion: { quantity: number; status: string; autoRenew: boolean },
  carried: SubscriptionChange,
): RemainingIntent | undefined {
  const remaining: RemainingIntent = {};
  const q = row.w365_requestedquantity;
  if (q !== null && q !== undefined && q !== ion.quantity) remaining.quantity = q;
  const s = normalizeRequestedStatus(row.w365_requestedstatus);
  if (s !== undefined && s !== statusBucket(ion.status)) remaining.status = s;
  const r = row.w365_requestedautorenew;
  if (typeof r === "boolean" && r !== ion.autoRenew) {
    const askedBefore = r !== row.w365_lastsyncedautorenew;
    const changedSinceOrder = carried.autoRenew !== undefined && r !== carried.autoRenew;
    if (askedBefore || changedSinceOrder) remaining.autoRenew = r;
  }
  return Object.keys(remaining).length > 0 ? remaining : undefined;
}

/**
 * True when the row asks for something other than what a failed (or canceled) order carried: the admin
 * saved a newer request while the order was pending, so that request is sent next instead of the row
 * waiting in Error. Each field is compared as an effective value (`ion`, Ion's value the order did not
 * change, fills what neither side names), so a request equal to the failed order never re-sends it.
 */
export function requestDiffersFromOrder(
  row: RowRequest & { w365_autorenew?: boolean | null },
  ion: { quantity: number; status: string; autoRenew: boolean },
  carried: SubscriptionChange,
): boolean {
  const q = row.w365_requestedquantity;
  if ((q ?? ion.quantity) !== (carried.quantity ?? ion.quantity)) return true;
  const current = statusBucket(ion.status);
  const s = normalizeRequestedStatus(row.w365_requestedstatus);
  if ((s ?? current) !== (carried.status ?? current)) return true;
  return (pendingAutoRenew(row) ?? ion.autoRenew) !== (carried.autoRenew ?? ion.autoRenew);
}
