// The Ion subscription and order shapes the outbound unit suites build their cases from.
import type { IonOrder, IonOrderItem, IonSubscription } from "../../../../src/ion";

export const sub = {
  id: "s1",
  subscriptionId: "p-1",
  quantity: 5,
  status: "active",
  autoRenew: true,
  lastUpdatedDate: "2026-11-01T00:00:00Z",
} as IonSubscription;

/** An UPDATE of the subscription above. */
export const item = (o: Partial<IonOrderItem> = {}): IonOrderItem => ({
  action: "UPDATE",
  resourceId: "p-1",
  attributes: [],
  errors: [],
  ...o,
});

/** A new order placed just after the subscription's last update, of one UPDATE to quantity 5 unless `o` says otherwise. */
export const order = (o: Partial<IonOrder> = {}): IonOrder => ({
  orderId: "7",
  name: "n",
  customerId: "1",
  status: "NEW",
  errors: [],
  createTime: "2026-11-01T00:00:01Z",
  items: [item({ quantity: 5 })],
  raw: {},
  ...o,
});
