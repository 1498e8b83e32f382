import { ISO_COUNTRIES } from "../../../ui-shared/isoCountries";
import { ISO_CURRENCIES } from "../../../ui-shared/isoCurrencies";
import {
  type ConnectorInput,
  describeFieldError,
  searchCodeOptions,
  toConnectorRecord,
  validateConnectorInput,
} from "../../../ui-shared/validation";

const valid: ConnectorInput = {
  name: "StreamOne Ion",
  refreshToken: "rt-abc123",
  apiKey: "key-1",
  apiSecret: "secret-1",
  accountId: "123456",
  country: "US",
  currencyCode: "USD",
};
const create = { requireRefreshToken: true, requireApiSecret: true };

describe("validateConnectorInput", () => {
  it("accepts a complete form and trims pasted values", () => {
    const result = validateConnectorInput(
      {
        ...valid,
        name: "  Main  ",
        refreshToken: " rt-abc123\n",
        apiKey: "\tkey-1 ",
        accountId: " 123456 ",
        country: "us",
        currencyCode: " eur ",
      },
      create,
    );
    expect(result).toStrictEqual({
      ok: true,
      errors: [],
      value: {
        name: "Main",
        refreshToken: "rt-abc123",
        apiKey: "key-1",
        apiSecret: "secret-1",
        accountId: "123456",
        country: "US",
        currencyCode: "EUR",
      },
    });
  });

  it("reports every missing field, in the guide's order", () => {
    const result = validateConnectorInput({}, create);
    expect(result.ok).toBe(false);
    expect(result.errors.map((e) => `${e.field}:${e.code}`)).toStrictEqual([
      "name:required",
      "refreshToken:required",
      "apiKey:required",
      "apiSecret:required",
      "accountId:required",
      "country:required",
      "currencyCode:required",
    ]);
  });

  it.each([
    ["accountId", "12a45", "digitsOnly"],
    ["accountId", "-1", "digitsOnly"],
    ["country", "XX", "unknownCountry"],
    ["country", "USA", "unknownCountry"],
    ["currencyCode", "US", "unknownCurrency"],
    ["currencyCode", "XAU", "unknownCurrency"],
    ["refreshToken", "abc def", "containsWhitespace"],
    ["apiSecret", "a\nb", "containsWhitespace"],
    ["name", "x".repeat(101), "tooLong"],
  ] as const)("rejects %s = %j with %s", (field, value, code) => {
    const result = validateConnectorInput({ ...valid, [field]: value }, create);
    expect(result.errors).toStrictEqual([{ field, code }]);
  });

  it("lets a stored secret stay blank on edit but still checks a typed one", () => {
    const edit = { requireRefreshToken: false, requireApiSecret: false };
    const kept = validateConnectorInput({ ...valid, refreshToken: "", apiSecret: "  " }, edit);
    expect(kept.ok && kept.value).toStrictEqual({
      name: "StreamOne Ion",
      apiKey: "key-1",
      accountId: "123456",
      country: "US",
      currencyCode: "USD",
    });
    expect(validateConnectorInput({ ...valid, refreshToken: "a b" }, edit).errors).toStrictEqual([
      { field: "refreshToken", code: "containsWhitespace" },
    ]);
  });
});

describe("ISO lists", () => {
  it("hold the 249 ISO 3166-1 codes and circulating ISO 4217 currencies, unique and well-formed", () => {
    expect(ISO_COUNTRIES).toHaveLength(249);
    expect(new Set(ISO_COUNTRIES.map((c) => c.code)).size).toBe(249);
    expect(ISO_COUNTRIES.every((c) => /^[A-Z]{2}$/.test(c.code) && c.name.length > 1)).toBe(true);
    expect(ISO_CURRENCIES.every((c) => /^[A-Z]{3}$/.test(c.code) && c.name !== c.code)).toBe(true);
    expect(ISO_CURRENCIES.map((c) => c.code)).toEqual(expect.arrayContaining(["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "INR"]));
  });

  it("search by code puts the exact code first, by name finds accent-insensitively", () => {
    expect(searchCodeOptions(ISO_COUNTRIES, "us")[0]?.code).toBe("US");
    expect(searchCodeOptions(ISO_COUNTRIES, "germ").map((c) => c.code)).toStrictEqual(["DE"]);
    expect(searchCodeOptions(ISO_COUNTRIES, "curacao").map((c) => c.code)).toStrictEqual(["CW"]);
    expect(searchCodeOptions(ISO_CURRENCIES, "euro")[0]?.code).toBe("EUR");
    expect(searchCodeOptions(ISO_CURRENCIES, "")).toHaveLength(ISO_CURRENCIES.length);
  });
});

describe("describeFieldError", () => {
  it("uses the resource text when present and the English default otherwise", () => {
    expect(describeFieldError({ field: "accountId", code: "required" })).toBe("Account ID is required.");
    expect(describeFieldError({ field: "apiKey", code: "required" }, (k) => (k === "Validation_Required" ? "{0} fehlt." : undefined))).toBe(
      "API Key fehlt.",
    );
  });
});

describe("toConnectorRecord", () => {
  const now = new Date("2026-11-27T10:00:00Z");
  it("writes secrets with their saved-on stamps only when typed", () => {
    const withSecrets = validateConnectorInput(valid, create);
    const noSecrets = validateConnectorInput(
      { ...valid, refreshToken: "", apiSecret: "" },
      { requireRefreshToken: false, requireApiSecret: false },
    );
    if (!withSecrets.ok || !noSecrets.ok) throw new Error("expected valid input");
    expect(toConnectorRecord(withSecrets.value, now)).toStrictEqual({
      w365_name: "StreamOne Ion",
      w365_apikey: "key-1",
      w365_ionaccountid: "123456",
      w365_country: "US",
      w365_currencycode: "USD",
      w365_refreshtoken: "rt-abc123",
      w365_refreshtokensavedon: "2026-11-27T10:00:00.000Z",
      w365_apisecret: "secret-1",
      w365_apisecretsavedon: "2026-11-27T10:00:00.000Z",
    });
    expect(Object.keys(toConnectorRecord(noSecrets.value, now))).not.toContain("w365_refreshtoken");
    expect(Object.keys(toConnectorRecord(noSecrets.value, now))).not.toContain("w365_apisecretsavedon");
  });
});
