/**
 * IonClient: the one entry point to StreamOne Ion for the rest of the product. Resources share one
 * request pipeline (IonHttp on an IonTransport): bearer tokens from an AccessTokenSource (src/tokens),
 * the shared retry policy, a concurrency limit and typed errors.
 */
import { registerSecret } from "../shared/redact";
import { CustomersResource } from "./customers";
import { IonAuthenticationError, IonResponseError, IonV1AuthError } from "./errors";
import { AccessTokenSource, IonHttp, IonHttpOptions } from "./http";
import { OrdersResource } from "./orders";
import { asObject, num } from "./parse/common";
import { SubscriptionsResource } from "./subscriptions";
import { IonTransport } from "./transport";

/**
 * The v1 call that checks the API Key and Secret. v1 customers is being retired ("Deprecated soon, please
 * migrate to v3") while v1 invoices stay, since v3 has no invoicing: TD SYNNEX's Python SDK,
 * https://github.com/techdata-cloudautomation/StreamOneIonSDKPython (README and
 * StreamOneSDK/v1/billing/billing.py, `get_my_invoices`: GET {v1}/invoices/myinvoices?limit=&offset=).
 */
export const V1_CHECK_PATH = "/api/v1/invoices/myinvoices";
export const V1_CHECK_ENDPOINT = `GET ${V1_CHECK_PATH}`;

/** The request pipeline's options plus the v1 API Key / API Secret (HTTP Basic) that Verify Connectivity checks. */
export interface IonClientOptions extends IonHttpOptions {
  apiKey?: string;
  apiSecret?: string;
}

export class IonClient {
  readonly customers: CustomersResource;
  readonly subscriptions: SubscriptionsResource;
  readonly orders: OrdersResource;
  readonly accountId: string;
  readonly baseUrl: string;
  private readonly http: IonHttp;
  private readonly apiKey?: string;
  private readonly apiSecret?: string;

  constructor(options: IonClientOptions) {
    registerSecret(options.apiSecret);
    this.http = new IonHttp(options);
    this.accountId = this.http.accountId;
    this.baseUrl = this.http.baseUrl;
    this.apiKey = options.apiKey;
    this.apiSecret = options.apiSecret;
    this.customers = new CustomersResource(this.http);
    this.subscriptions = new SubscriptionsResource(this.http);
    this.orders = new OrdersResource(this.http);
  }

  /** Where this client draws access tokens from. */
  get tokens(): AccessTokenSource {
    return this.http.tokens;
  }

  /** The transport this client sends through (shared with the token exchange). */
  get transport(): IonTransport {
    return this.http.transport;
  }

  /**
   * POST /oauth/validateAccess with the current access token: seconds left on the access token and on
   * the refresh token issued with it. A refused token is refreshed once.
   */
  async validateAccess(): Promise<{ accessExpiresInS: number; refreshExpiresInS: number }> {
    const validate = async (token: string) =>
      this.http.callRaw({
        method: "POST",
        url: `${this.baseUrl}/oauth/validateAccess`,
        endpoint: "POST /oauth/validateAccess",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        data: new URLSearchParams({ access_token: token }).toString(),
        kind: "validate",
      });
    const token = await this.tokens.getAccessToken();
    let body: unknown;
    try {
      body = await validate(token);
    } catch (error) {
      if (!(error instanceof IonAuthenticationError)) throw error;
      body = await validate(await this.tokens.forceRefresh(token));
    }
    const obj = asObject(body);
    const accessExpiresInS = num(obj.access_expires_in);
    const refreshExpiresInS = num(obj.refresh_expires_in);
    if (accessExpiresInS === undefined || refreshExpiresInS === undefined) {
      throw new IonResponseError("ION_BAD_RESPONSE", "StreamOne Ion's validateAccess answer lacks access_expires_in/refresh_expires_in.", {
        endpoint: "POST /oauth/validateAccess",
      });
    }
    return { accessExpiresInS, refreshExpiresInS };
  }

  /**
   * Checks the v1 API Key / API Secret (HTTP Basic): GET {baseUrl}/api/v1/invoices/myinvoices?limit=1&offset=0.
   * Throws IonV1AuthError (ION_V1_UNAUTHORIZED) when they are missing or refused.
   */
  async checkV1(apiKey: string | undefined = this.apiKey, apiSecret: string | undefined = this.apiSecret): Promise<void> {
    if (!apiKey || !apiSecret) {
      throw new IonV1AuthError(
        `The connector has no ${!apiKey ? "API Key" : "API Secret"}: copy it from the Ion portal → Settings → Account Information.`,
        { endpoint: V1_CHECK_ENDPOINT },
      );
    }
    registerSecret(apiSecret);
    const basic = Buffer.from(`${apiKey}:${apiSecret}`, "utf8").toString("base64");
    registerSecret(basic);
    await this.http.callRaw({
      method: "GET",
      url: `${this.baseUrl}${V1_CHECK_PATH}`,
      endpoint: V1_CHECK_ENDPOINT,
      headers: { Authorization: `Basic ${basic}`, Accept: "application/json" },
      query: { limit: 1, offset: 0 },
      kind: "v1",
    });
  }

  /** Requests sent, by templated endpoint (every attempt counts). */
  counters(): Record<string, number> {
    return this.http.counters();
  }

  /** Highest number of requests seen in flight at once. */
  peakConcurrency(): number {
    return this.http.peakInFlight;
  }
}
