/**
 * Verify's check of the connector's Country and Currency Code against what StreamOne Ion reports. Ion has no
 * "my account" endpoint (the reseller's own country and currency are not readable), but it reports each customer's
 * address country (`customerAddress.country`, an ISO 3166-1 alpha-2 code) and each subscription's billing
 * currency (`currency` / `billingCurrency`, ISO 4217). A reseller's Ion account bills in one currency, so a
 * Currency Code that none of its subscriptions use is wrong; customers may be abroad, so the Country is only
 * questioned when every customer read is in one other country. Both are warnings: the credentials are fine.
 */
import type { IonCustomer, IonSubscription } from "../ion";
import { ensureError } from "../shared/errors";

/** What Ion reported on a first page of customers and of subscriptions (codes as Ion sent them). */
export interface IonLocaleEvidence {
  customerCountries: readonly string[];
  subscriptionCurrencies: readonly string[];
}

export interface LocaleCheck {
  ok: boolean;
  /** What was compared and, when it disagrees, what to change. */
  message: string;
}

/** How many customers and subscriptions Verify reads for the check: one small page of each. */
export const LOCALE_SAMPLE_SIZE = 20;

const COUNTRY_CODE = /^[A-Z]{2}$/;
const CURRENCY_CODE = /^[A-Z]{3}$/;

function codes(values: readonly string[], pattern: RegExp): string[] {
  const found = new Set<string>();
  for (const value of values) {
    const code = value.trim().toUpperCase();
    if (pattern.test(code)) found.add(code);
  }
  return [...found].sort();
}

/**
 * Pure: the connector's Country and Currency Code against Ion's evidence. Undefined when Ion reported neither (a
 * new account with no customers yet): nothing to compare.
 */
export function checkConnectorLocale(
  connector: { country?: string | null; currencyCode?: string | null },
  ion: IonLocaleEvidence,
): LocaleCheck | undefined {
  const currencies = codes(ion.subscriptionCurrencies, CURRENCY_CODE);
  const countries = codes(ion.customerCountries, COUNTRY_CODE);
  const currency = connector.currencyCode?.trim().toUpperCase() || undefined;
  const country = connector.country?.trim().toUpperCase() || undefined;
  const compared: string[] = [];
  const problems: string[] = [];
  if (currency && currencies.length > 0) {
    if (currencies.includes(currency)) compared.push(`Currency Code ${currency} matches the subscriptions' billing currency`);
    else {
      problems.push(
        `StreamOne Ion bills this account's subscriptions in ${currencies.join(", ")}, but the connector's Currency Code is ${currency}: ` +
          `set the Currency Code to ${currencies.length === 1 ? currencies[0] : "the currency of your Ion account"}.`,
      );
    }
  }
  if (country && countries.length > 0) {
    if (countries.length > 1 || countries[0] === country) compared.push(`Country ${country} fits the customers' countries`);
    else {
      problems.push(
        `Every customer StreamOne Ion returned is in ${countries[0]}, but the connector's Country is ${country}: ` +
          `check that the Country is that of your Ion account.`,
      );
    }
  }
  if (problems.length > 0) return { ok: false, message: `Warning: ${problems.join(" ")}` };
  if (compared.length > 0) return { ok: true, message: `${compared.join("; ")}.` };
  return undefined;
}

/** The status message with the locale warning after it; the status itself is left as the credential checks set it. */
export function withLocaleWarning<T extends { message: string }>(outcome: T, check: LocaleCheck | undefined): T {
  return check && !check.ok ? { ...outcome, message: `${outcome.message} ${check.message}` } : outcome;
}

interface IonLocaleSource {
  customers: { listPages(options: { pageSize?: number }): AsyncIterable<IonCustomer[]> };
  subscriptions: { listPages(options: { limit?: number }): AsyncIterable<IonSubscription[]> };
}

/**
 * Reads the first page of customers and of subscriptions for `checkConnectorLocale`. A read that fails gives no
 * evidence (the credential checks already report Ion's errors); `onError` hears why.
 */
export async function readIonLocaleEvidence(ion: IonLocaleSource, onError?: (error: Error) => void): Promise<IonLocaleEvidence> {
  const first = async <T>(pages: AsyncIterable<T[]>): Promise<T[]> => {
    try {
      for await (const page of pages) return page;
    } catch (error) {
      onError?.(ensureError(error));
    }
    return [];
  };
  const customers = await first(ion.customers.listPages({ pageSize: LOCALE_SAMPLE_SIZE }));
  const subscriptions = await first(ion.subscriptions.listPages({ limit: LOCALE_SAMPLE_SIZE }));
  return {
    customerCountries: customers.flatMap((c) => (c.address?.country ? [c.address.country] : [])),
    subscriptionCurrencies: subscriptions.flatMap((s) => (s.currency ? [s.currency] : [])),
  };
}
