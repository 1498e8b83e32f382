import { countryOptions, ISO_COUNTRY_CODES } from "../../../ui-shared/isoCountries";
import { currencyOptions, ISO_CURRENCY_CODES } from "../../../ui-shared/isoCurrencies";
import { languageTagOfLcid } from "../../../ui-shared/locale";
import {
  type ConnectorInput,
  describeFieldError,
  resolveCodeOption,
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

const ISO_COUNTRIES = countryOptions("en");
const ISO_CURRENCIES = currencyOptions("en");

describe("ISO lists", () => {
  it("hold the 249 ISO 3166-1 codes and circulating ISO 4217 currencies, unique and well-formed", () => {
    expect(ISO_COUNTRY_CODES).toHaveLength(249);
    expect(ISO_COUNTRIES).toHaveLength(249);
    expect(new Set(ISO_COUNTRIES.map((c) => c.code)).size).toBe(249);
    expect(ISO_COUNTRIES.every((c) => /^[A-Z]{2}$/.test(c.code) && c.name.length > 1)).toBe(true);
    expect(ISO_CURRENCIES).toHaveLength(ISO_CURRENCY_CODES.length);
    expect(ISO_CURRENCIES.every((c) => /^[A-Z]{3}$/.test(c.code))).toBe(true);
    expect(ISO_CURRENCIES.map((c) => c.code)).toEqual(expect.arrayContaining(["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "INR"]));
  });

  it("names countries and currencies in the admin's language, from Intl.DisplayNames, in that language's order", () => {
    const name = (options: ReturnType<typeof countryOptions>, code: string) => options.find((o) => o.code === code)?.name;
    expect(name(ISO_COUNTRIES, "GB")).toBe("United Kingdom");
    expect(name(countryOptions("de"), "GB")).toBe("Vereinigtes Königreich");
    expect(name(countryOptions("ja"), "DE")).toBe("ドイツ");
    expect(name(currencyOptions("fr"), "USD")).toBe("dollar des États-Unis");
    expect(countryOptions("de")[0]?.name).toBe("Afghanistan");
    // A malformed language tag falls back to the runtime's language rather than failing.
    expect(countryOptions("not a language")).toHaveLength(249);
  });

  it("search by code puts the exact code first, by name finds accent-insensitively", () => {
    expect(searchCodeOptions(ISO_COUNTRIES, "us")[0]?.code).toBe("US");
    expect(searchCodeOptions(ISO_COUNTRIES, "germ").map((c) => c.code)).toStrictEqual(["DE"]);
    expect(searchCodeOptions(ISO_COUNTRIES, "curacao").map((c) => c.code)).toStrictEqual(["CW"]);
    expect(searchCodeOptions(ISO_CURRENCIES, "euro")[0]?.code).toBe("EUR");
    expect(searchCodeOptions(ISO_CURRENCIES, "")).toHaveLength(ISO_CURRENCIES.length);
  });

  it("search puts the country a common name or alias means first", () => {
    const first = (q: string, options = ISO_COUNTRIES) => searchCodeOptions(options, q)[0]?.code;
    expect(["UK", "uk", "GB", "Great Britain", "England", "great brit"].map((q) => first(q))).toStrictEqual([
      "GB",
      "GB",
      "GB",
      "GB",
      "GB",
      "GB",
    ]);
    expect(["USA", "America", "u.s.a."].map((q) => first(q))).toStrictEqual(["US", "US", "US"]);
    expect(["Türkiye", "Turkey", "turkiye"].map((q) => first(q))).toStrictEqual(["TR", "TR", "TR"]);
    expect(first("Holland")).toBe("NL");
    // The English name still finds a country for an admin working in German.
    expect(first("Germany", countryOptions("de"))).toBe("DE");
    expect(first("€", ISO_CURRENCIES)).toBe("EUR");
  });
});

describe("resolveCodeOption", () => {
  const code = (typed: string, options = ISO_COUNTRIES) => resolveCodeOption(options, typed)?.code;
  it("takes a whole code, name or alias for the one option it means", () => {
    for (const typed of ["UK", "GB", "gb", "Great Britain", "England", "United Kingdom", " united kingdom "])
      expect([typed, code(typed)]).toStrictEqual([typed, "GB"]);
    for (const typed of ["USA", "U.S.A.", "America", "United States", "US"]) expect([typed, code(typed)]).toStrictEqual([typed, "US"]);
    for (const typed of ["Türkiye", "Turkey", "TR"]) expect([typed, code(typed)]).toStrictEqual([typed, "TR"]);
    expect(code("Holland")).toBe("NL");
    expect(code("Vereinigtes Königreich", countryOptions("de"))).toBe("GB");
    expect(code("£", ISO_CURRENCIES)).toBe("GBP");
    expect(code("usd", ISO_CURRENCIES)).toBe("USD");
  });

  it("never takes a partial, unknown or ambiguous text for a choice", () => {
    for (const typed of ["", "Uni", "United", "Germ", "Atlantis", "Korea", "Congo"])
      expect([typed, code(typed)]).toStrictEqual([typed, undefined]);
    expect(code("dollar", ISO_CURRENCIES)).toBeUndefined();
  });
});

describe("languageTagOfLcid", () => {
  it("maps Dataverse language ids to BCP 47 tags and leaves unknown ones to the browser", () => {
    expect([1033, 1031, 1041, 1055, 2052].map(languageTagOfLcid)).toStrictEqual(["en-US", "de", "ja", "tr", "zh-CN"]);
    expect(languageTagOfLcid(9999)).toBeUndefined();
    expect(languageTagOfLcid(undefined)).toBeUndefined();
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
