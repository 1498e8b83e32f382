/** Subscriptions (read only; changes are orders): /api/v3/accounts/{A}/subscriptions (docs/platform/ion-api.md §4.2). */
import { CallOptions, IonHttp } from "./http";
import { flatten, type OffsetPage, offsetPages } from "./paging";
import {
  fromIonSubscription,
  fromIonSubscriptionPage,
  fromIonSubscriptionRecordPage,
  type IonSubscriptionRecord,
} from "./parse/subscription";
import { IonSubscription } from "./types";

export const DEFAULT_SUBSCRIPTION_PAGE_LIMIT = 100;

export interface SubscriptionListOptions {
  customerId?: string;
  /** pagination.limit; Ion's default is 100. */
  limit?: number;
  /** Any case; sent upper case as Ion's filter enum wants. */
  status?: string;
}

/** The request of one page of the subscription list. */
function pageCall(offset: number, pageLimit: number, options: SubscriptionListOptions): CallOptions {
  return {
    method: "GET",
    path: "/subscriptions",
    endpoint: "GET /subscriptions",
    idempotent: true,
    query: {
      customerId: options.customerId,
      subscriptionStatus: options.status?.toUpperCase(),
      "pagination.limit": pageLimit,
      // No sortBy: sortable field names are undocumented (§5); Ion's default order is stable.
      "pagination.offset": offset,
    },
  };
}

export class SubscriptionsResource {
  constructor(private readonly http: IonHttp) {}

  listPages(options: SubscriptionListOptions = {}): AsyncIterable<IonSubscription[]> {
    const limit = options.limit ?? DEFAULT_SUBSCRIPTION_PAGE_LIMIT;
    return offsetPages((offset, pageLimit) => this.page(offset, pageLimit, options), limit);
  }

  /** One page at `offset` (callers that read pages in parallel; `listPages` reads them one after another). */
  async page(offset: number, pageLimit: number, options: SubscriptionListOptions = {}): Promise<OffsetPage<IonSubscription>> {
    return fromIonSubscriptionPage(await this.pageBody(offset, pageLimit, options));
  }

  /**
   * One page at `offset` as the records a sync maps (no wire object kept): a sync holds several pages of
   * 1,000 at once, and the parsed wire objects were most of their memory.
   */
  async recordPage(offset: number, pageLimit: number, options: SubscriptionListOptions = {}): Promise<OffsetPage<IonSubscriptionRecord>> {
    return fromIonSubscriptionRecordPage(await this.pageBody(offset, pageLimit, options));
  }

  /** Asks for the page `recordPage(offset, pageLimit, options)` will read now, before it is read (`IonHttp.speculate`). */
  speculatePage(offset: number, pageLimit: number, options: SubscriptionListOptions = {}): void {
    this.http.speculate(pageCall(offset, pageLimit, options));
  }

  private pageBody(offset: number, pageLimit: number, options: SubscriptionListOptions): Promise<unknown> {
    return this.http.call(pageCall(offset, pageLimit, options));
  }

  list(options: SubscriptionListOptions = {}): AsyncIterable<IonSubscription> {
    return flatten(this.listPages(options));
  }

  /**
   * One subscription with activity logs; `idOrProviderId` is Ion's internal id or the provider's subscriptionId.
   * `refresh: true` asks Ion to re-read the details from the vendor (the v3 reference's `refresh` query
   * parameter): without it, details read right after an order completes can be stale.
   */
  async get(customerId: string, idOrProviderId: string, o: { refresh?: boolean } = {}): Promise<IonSubscription> {
    const body = await this.http.call({
      method: "GET",
      path: `/customers/${encodeURIComponent(customerId)}/subscriptions/${encodeURIComponent(idOrProviderId)}`,
      endpoint: "GET /customers/{id}/subscriptions/{subscriptionId}",
      query: o.refresh ? { refresh: true } : undefined,
      idempotent: true,
    });
    return fromIonSubscription(body);
  }
}
