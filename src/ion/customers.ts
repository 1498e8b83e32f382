/** Customers: /api/v3/accounts/{A}/customers (docs/platform/ion-api.md §4.1). */
import { CallOptions, IonHttp } from "./http";
import { flatten, tokenPages } from "./paging";
import { fromIonCloudProfiles, pickMicrosoftProfile } from "./parse/cloudProfile";
import { fromIonCustomer, fromIonCustomerPage, toIonCustomerBody } from "./parse/customer";
import { IonCloudProfile, IonCustomer, IonCustomerInput } from "./types";

/** Community clients use 1000 (docs/platform/ion-api.md §5); the server may return fewer. */
export const DEFAULT_CUSTOMER_PAGE_SIZE = 1000;

export interface CustomerListOptions {
  pageSize?: number;
  status?: "ACTIVE" | "INACTIVE";
  name?: string;
  email?: string;
}

const LIST_ENDPOINT = "GET /customers";

/** The request of one page of the customer list. */
function pageCall(options: CustomerListOptions, pageToken: string | undefined): CallOptions {
  return {
    method: "GET",
    path: "/customers",
    endpoint: LIST_ENDPOINT,
    idempotent: true,
    // Each page can only be asked for once the one before answered: the chain does not queue behind other calls.
    urgent: true,
    query: {
      pageSize: options.pageSize ?? DEFAULT_CUSTOMER_PAGE_SIZE,
      pageToken,
      // Ion wants a valid status whenever a filter is used (docs/platform/ion-api.md §8 quirk 8); UNSPECIFIED means all.
      "filter.customerStatus": options.status ?? "CUSTOMER_STATUS_UNSPECIFIED",
      "filter.customerName": options.name,
      "filter.customerEmail": options.email,
    },
  };
}

export class CustomersResource {
  constructor(private readonly http: IonHttp) {}

  /** Every customer, page by page (pageSize/pageToken). */
  listPages(options: CustomerListOptions = {}): AsyncIterable<IonCustomer[]> {
    return tokenPages(async (pageToken) => fromIonCustomerPage(await this.http.call(pageCall(options, pageToken))), LIST_ENDPOINT);
  }

  /** Asks for the first page `listPages(options)` will read now, before it is read (`IonHttp.speculate`). */
  speculateFirstPage(options: CustomerListOptions = {}): void {
    this.http.speculate(pageCall(options, undefined));
  }

  list(options: CustomerListOptions = {}): AsyncIterable<IonCustomer> {
    return flatten(this.listPages(options));
  }

  async get(id: string): Promise<IonCustomer> {
    const body = await this.http.call({
      method: "GET",
      path: `/customers/${encodeURIComponent(id)}`,
      endpoint: "GET /customers/{id}",
      idempotent: true,
    });
    return fromIonCustomer(body);
  }

  /** Create: not idempotent on Ion's side (a repeat gives 412 CUS-CR-001), so never blindly retried. */
  async create(input: IonCustomerInput): Promise<IonCustomer> {
    const body = await this.http.call({
      method: "POST",
      path: "/customers",
      endpoint: "POST /customers",
      idempotent: false,
      body: toIonCustomerBody(input),
    });
    return fromIonCustomer(body);
  }

  /** Full replacement (PUT): every field of `input` is sent; omitted optional fields are cleared by Ion. */
  async update(id: string, input: IonCustomerInput): Promise<IonCustomer> {
    const name = `accounts/${this.http.accountId}/customers/${id}`;
    const body = await this.http.call({
      method: "PUT",
      path: `/customers/${encodeURIComponent(id)}`,
      endpoint: "PUT /customers/{id}",
      idempotent: true,
      body: toIonCustomerBody(input, name),
    });
    return fromIonCustomer(body);
  }

  async cloudProfiles(id: string): Promise<IonCloudProfile[]> {
    const body = await this.http.call({
      method: "GET",
      path: `/customers/${encodeURIComponent(id)}/cloudProfiles`,
      endpoint: "GET /customers/{id}/cloudProfiles",
      idempotent: true,
    });
    return fromIonCloudProfiles(body);
  }

  /** The customer's Microsoft tenant id and domain from its cloud profiles, if Ion has them. */
  async microsoftProfile(id: string): Promise<{ tenantId?: string; domain?: string } | undefined> {
    return pickMicrosoftProfile(await this.cloudProfiles(id));
  }
}
