/**
 * The story every state comparison replays: a first full sync; then changes on both sides (Ion portal
 * edits, a new Ion customer, admin requests in Work 365 that become Ion orders); a second full sync
 * (the run under test); Ion completes the orders; a third full sync. Clean and disturbed worlds with
 * the same seed must end in the same normalised state.
 */
import type { IonSimulator } from "../../../sandbox/ion";
import type { DataverseClient } from "../../../src/dataverse";

type Row = Record<string, unknown>;

export interface StoryChanges {
  /** Admin requests written in Dataverse (each must become exactly one Ion order). */
  requests: number;
}

async function subscriptions(dv: DataverseClient): Promise<Row[]> {
  const out: Row[] = [];
  for await (const r of dv.query<Row>("w365_providersubscriptions", {
    filter: "w365_status eq 'active'",
    select: ["w365_providersubscriptionid", "w365_ionsubscriptionid", "w365_quantity", "w365_autorenew"],
  }))
    out.push(r);
  return out.sort((a, b) => Number(a.w365_ionsubscriptionid) - Number(b.w365_ionsubscriptionid));
}

/** Step 2 of the story: deterministic changes on both sides, chosen from the synced rows. */
export async function applyStoryChanges(dv: DataverseClient, ion: IonSimulator): Promise<StoryChanges> {
  const subs = await subscriptions(dv);
  if (subs.length < 6) throw new Error(`the story needs at least 6 active subscriptions, found ${subs.length}`);
  const pick = (i: number) => subs[i] as Row;
  // Ion side: portal edits and a new customer with a subscription.
  ion.control.updateSubscription(String(pick(0).w365_ionsubscriptionid), { quantity: Number(pick(0).w365_quantity) + 3 });
  ion.control.updateSubscription(String(pick(1).w365_ionsubscriptionid), { status: "suspended" });
  const customer = ion.control.addCustomer({ customerOrganization: "Reliability Test Holdings Ltd" });
  ion.control.addSubscription(customer.id);
  // Work 365 side: an admin's requests (quantity, suspend, auto-renew).
  await dv.update("w365_providersubscriptions", String(pick(2).w365_providersubscriptionid), {
    w365_requestedquantity: Number(pick(2).w365_quantity) + 2,
  });
  await dv.update("w365_providersubscriptions", String(pick(3).w365_providersubscriptionid), { w365_requestedstatus: "suspended" });
  await dv.update("w365_providersubscriptions", String(pick(4).w365_providersubscriptionid), {
    w365_requestedautorenew: !pick(4).w365_autorenew,
  });
  return { requests: 3 };
}

/** Orders in Ion that share a referenceId (there must be none). */
export function duplicateOrders(ion: IonSimulator): string[] {
  const seen = new Map<string, number>();
  for (const o of ion.control.orders()) if (o.referenceId) seen.set(o.referenceId, (seen.get(o.referenceId) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([ref]) => ref);
}
