/** Small HTTP helpers for the Ion simulator tests (plain fetch, no product client). */
import type { IonSimulator } from "../../sandbox/ion";
import { DEFAULT_START_TIME } from "../../sandbox/ion/dataset";
import { IonStore, SimClock } from "../../sandbox/ion/store";

export interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

export async function call(
  sim: IonSimulator,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(sim.url + path, { method, headers, body: payload });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* XML or text bodies stay strings */
  }
  return { status: res.status, body, headers: res.headers };
}

export async function exchange(sim: IonSimulator, refreshToken: string): Promise<Reply> {
  return call(sim, "POST", "/oauth/token", {
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, redirect_uri: "http://localhost/" }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
}

/** Exchanges the simulator's portal refresh token once and returns the access token. */
export async function accessToken(sim: IonSimulator): Promise<string> {
  const r = await exchange(sim, sim.credentials.refreshToken);
  if (r.status !== 200) throw new Error(`token exchange failed: ${r.status}`);
  return r.body.access_token as string;
}

export function v3(sim: IonSimulator, rest: string): string {
  return `/api/v3/accounts/${sim.accountId}${rest}`;
}

/** An in-memory simulator store (no server) with a frozen clock: seeded customers and subscriptions. */
export function frozenIonStore(o: { seed: number; customers: number; subscriptionsPerCustomer: number }): IonStore {
  return new IonStore(
    {
      ...o,
      accountId: "1000123",
      country: "US",
      currency: "USD",
      orderProcessing: { mode: "manual" },
      rejectDuplicateReferenceId: false,
      enforceSeatDecreaseWindow: false,
    },
    new SimClock(DEFAULT_START_TIME, "frozen"),
  );
}
