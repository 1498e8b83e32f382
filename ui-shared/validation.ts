// Connector form validation shared by the PCF control and the classic-form web resource, so an admin meets the
// same rules wherever a connector is edited. Pure functions: no DOM, no Xrm, no React.

import { type CodeOption, ISO_COUNTRY_CODES } from "./isoCountries";
import { ISO_CURRENCY_CODES } from "./isoCurrencies";

export type ConnectorField = "name" | "refreshToken" | "apiKey" | "apiSecret" | "accountId" | "country" | "currencyCode";

/** Field order as the user guide lists them (also the order errors are reported and focus moves). */
export const CONNECTOR_FIELDS: readonly ConnectorField[] = [
  "name",
  "refreshToken",
  "apiKey",
  "apiSecret",
  "accountId",
  "country",
  "currencyCode",
];

/** The Dataverse column behind each form field (the schema contract, src/solution/contract.ts). */
export const CONNECTOR_COLUMNS: Readonly<Record<ConnectorField, string>> = {
  name: "w365_name",
  refreshToken: "w365_refreshtoken",
  apiKey: "w365_apikey",
  apiSecret: "w365_apisecret",
  accountId: "w365_ionaccountid",
  country: "w365_country",
  currencyCode: "w365_currencycode",
};

/** The labels the user guide uses: what the admin sees. */
export const FIELD_LABELS: Readonly<Record<ConnectorField, string>> = {
  name: "Name",
  refreshToken: "Refresh Token",
  apiKey: "API Key",
  apiSecret: "API Secret",
  accountId: "Account ID",
  country: "Country",
  currencyCode: "Currency Code",
};

export const DEFAULT_CONNECTOR_NAME = "StreamOne Ion";
export const MAX_NAME_LENGTH = 100;
/** Ion tokens and keys are opaque strings; the columns hold up to 4,000 characters. */
export const MAX_SECRET_LENGTH = 4000;

export type ValidationErrorCode = "required" | "tooLong" | "containsWhitespace" | "digitsOnly" | "unknownCountry" | "unknownCurrency";

export interface FieldError {
  readonly field: ConnectorField;
  readonly code: ValidationErrorCode;
}

/** Raw values as typed or pasted. Secrets may be undefined when they are already stored and not being replaced. */
export interface ConnectorInput {
  name?: string | null;
  refreshToken?: string | null;
  apiKey?: string | null;
  apiSecret?: string | null;
  accountId?: string | null;
  country?: string | null;
  currencyCode?: string | null;
}

export interface ValidationOptions {
  /** False when the secret is already stored and the admin did not choose Replace: a blank value keeps the stored one. */
  readonly requireRefreshToken: boolean;
  readonly requireApiSecret: boolean;
}

export interface NormalizedConnector {
  readonly name: string;
  readonly refreshToken?: string;
  readonly apiKey: string;
  readonly apiSecret?: string;
  readonly accountId: string;
  readonly country: string;
  readonly currencyCode: string;
}

export type ValidationResult =
  | { readonly ok: true; readonly value: NormalizedConnector; readonly errors: readonly [] }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

/** Resource keys (resx) for each error code; `{0}` is the field label. */
export const ERROR_MESSAGE_KEYS: Readonly<Record<ValidationErrorCode, string>> = {
  required: "Validation_Required",
  tooLong: "Validation_TooLong",
  containsWhitespace: "Validation_ContainsWhitespace",
  digitsOnly: "Validation_DigitsOnly",
  unknownCountry: "Validation_UnknownCountry",
  unknownCurrency: "Validation_UnknownCurrency",
};

/** English texts, identical to the resx defaults; web resources (no resx) use these directly. */
export const DEFAULT_ERROR_MESSAGES: Readonly<Record<ValidationErrorCode, string>> = {
  required: "{0} is required.",
  tooLong: "{0} is too long.",
  containsWhitespace: "{0} must not contain spaces or line breaks. Paste the value exactly as Ion shows it.",
  digitsOnly: "{0} must contain digits only, as shown on the Account Information page in StreamOne Ion.",
  unknownCountry: "Choose a country from the list (ISO 3166-1 two-letter code, for example US).",
  unknownCurrency: "Choose a currency from the list (ISO 4217 three-letter code, for example USD).",
};

export function formatMessage(template: string, ...args: readonly string[]): string {
  return template.replace(/\{(\d+)\}/g, (whole, index: string) => args[Number(index)] ?? whole);
}

/** The message for one error, through an optional resource lookup (PCF resx) with the English default as fallback. */
export function describeFieldError(error: FieldError, getString?: (key: string) => string | undefined, labels = FIELD_LABELS): string {
  const key = ERROR_MESSAGE_KEYS[error.code];
  const fromResources = getString?.(key);
  const template = fromResources && fromResources !== key ? fromResources : DEFAULT_ERROR_MESSAGES[error.code];
  return formatMessage(template, labels[error.field]);
}

const COUNTRY_CODES = new Set(ISO_COUNTRY_CODES);
const CURRENCY_CODES = new Set(ISO_CURRENCY_CODES);

/**
 * Options whose code, name or alias matches the query (case-, accent- and punctuation-insensitive). Exact codes come
 * first, then exact names and aliases ("uk" → United Kingdom, "america" → United States before American Samoa),
 * then names and aliases starting with the query, then the rest.
 */
export function searchCodeOptions(options: readonly CodeOption[], query: string): CodeOption[] {
  const q = fold(query);
  if (!q) return [...options];
  const ranks: CodeOption[][] = [[], [], [], []];
  for (const option of options) {
    const rank = matchRank(option, q);
    if (rank >= 0) ranks[rank]!.push(option);
  }
  return ranks.flat();
}

/** 0 exact code, 1 exact name or alias, 2 name, alias or code starting with the query, 3 containing it; -1 no match. */
function matchRank(option: CodeOption, q: string): number {
  const code = option.code.toLowerCase();
  if (code === q) return 0;
  const names = [fold(option.name), ...(option.aliases ?? []).map(fold)];
  if (names.includes(q)) return 1;
  if (code.startsWith(q) || names.some((n) => n.startsWith(q) || n.split(" ").some((word) => word.startsWith(q)))) return 2;
  if (names.some((n) => n.includes(q))) return 3;
  return -1;
}

/**
 * The one option a typed text stands for: its code, its name or an alias, typed whole ("gb", "United Kingdom",
 * "England", "U.S.A."). Undefined when nothing or more than one option matches exactly: a partial text is never
 * taken for a choice.
 */
export function resolveCodeOption(options: readonly CodeOption[], typed: string): CodeOption | undefined {
  const q = fold(typed);
  if (!q) return undefined;
  const byCode = options.find((o) => o.code.toLowerCase() === q);
  if (byCode) return byCode;
  const byName = options.filter((o) => matchRank(o, q) === 1);
  return byName.length === 1 ? byName[0] : undefined;
}

export function formatCodeOption(option: CodeOption): string {
  return `${option.name} (${option.code})`;
}

/** Lower case without accents or punctuation: "U.S.A." = "usa", "Türkiye" = "turkiye", "Côte d’Ivoire" = "cote divoire". */
function fold(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/ı/g, "i")
    .replace(/[.'’]/g, "")
    .replace(/[^\p{L}\p{N}$€£¥₹]+/gu, " ")
    .trim();
}

/** Trim; a pasted token often carries a trailing newline or spaces. */
export function trimValue(value: string | null | undefined): string {
  return (value ?? "").trim();
}

/**
 * Validates and normalizes the connector form. Every field is checked (not just the first failure) so the admin
 * sees all problems at once; values come back trimmed, codes upper-cased.
 */
export function validateConnectorInput(input: ConnectorInput, options: ValidationOptions): ValidationResult {
  const errors: FieldError[] = [];
  const name = trimValue(input.name);
  const refreshToken = trimValue(input.refreshToken);
  const apiKey = trimValue(input.apiKey);
  const apiSecret = trimValue(input.apiSecret);
  const accountId = trimValue(input.accountId);
  const country = trimValue(input.country).toUpperCase();
  const currencyCode = trimValue(input.currencyCode).toUpperCase();

  if (!name) errors.push({ field: "name", code: "required" });
  else if (name.length > MAX_NAME_LENGTH) errors.push({ field: "name", code: "tooLong" });

  checkToken("refreshToken", refreshToken, options.requireRefreshToken, errors);
  checkToken("apiKey", apiKey, true, errors);
  checkToken("apiSecret", apiSecret, options.requireApiSecret, errors);

  if (!accountId) errors.push({ field: "accountId", code: "required" });
  else if (!/^[0-9]+$/.test(accountId)) errors.push({ field: "accountId", code: "digitsOnly" });
  else if (accountId.length > MAX_NAME_LENGTH) errors.push({ field: "accountId", code: "tooLong" });

  if (!country) errors.push({ field: "country", code: "required" });
  else if (!COUNTRY_CODES.has(country)) errors.push({ field: "country", code: "unknownCountry" });

  if (!currencyCode) errors.push({ field: "currencyCode", code: "required" });
  else if (!CURRENCY_CODES.has(currencyCode)) errors.push({ field: "currencyCode", code: "unknownCurrency" });

  if (errors.length > 0) {
    errors.sort((a, b) => CONNECTOR_FIELDS.indexOf(a.field) - CONNECTOR_FIELDS.indexOf(b.field));
    return { ok: false, errors };
  }
  return {
    ok: true,
    errors: [],
    value: {
      name,
      apiKey,
      accountId,
      country,
      currencyCode,
      ...(refreshToken ? { refreshToken } : {}),
      ...(apiSecret ? { apiSecret } : {}),
    },
  };
}

function checkToken(field: ConnectorField, value: string, required: boolean, errors: FieldError[]): void {
  if (!value) {
    if (required) errors.push({ field, code: "required" });
    return;
  }
  if (/\s/.test(value)) errors.push({ field, code: "containsWhitespace" });
  else if (value.length > MAX_SECRET_LENGTH) errors.push({ field, code: "tooLong" });
}

/**
 * The Dataverse record body for a validated connector. Secrets are included only when typed; writing one also stamps
 * its "saved on" column, which is what the UI shows afterwards (a secured column reads back null for admins).
 */
export function toConnectorRecord(value: NormalizedConnector, now: Date): Record<string, string> {
  const record: Record<string, string> = {
    w365_name: value.name,
    w365_apikey: value.apiKey,
    w365_ionaccountid: value.accountId,
    w365_country: value.country,
    w365_currencycode: value.currencyCode,
  };
  if (value.refreshToken) {
    record.w365_refreshtoken = value.refreshToken;
    record.w365_refreshtokensavedon = now.toISOString();
  }
  if (value.apiSecret) {
    record.w365_apisecret = value.apiSecret;
    record.w365_apisecretsavedon = now.toISOString();
  }
  return record;
}
