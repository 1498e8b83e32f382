import { checkConnectorLocale, withLocaleWarning } from "../../../src/sync/verifyLocale";

describe("checkConnectorLocale", () => {
  const ion = { customerCountries: ["US", "us", "US"], subscriptionCurrencies: ["USD", "usd"] };

  it("passes a connector whose Currency Code and Country are what Ion reports (any case)", () => {
    expect(checkConnectorLocale({ country: "us", currencyCode: "USD" }, ion)).toStrictEqual({
      ok: true,
      message: "Currency Code USD matches the subscriptions' billing currency; Country US fits the customers' countries.",
    });
  });

  it("warns when no subscription is billed in the connector's currency, naming the one to set", () => {
    const check = checkConnectorLocale({ country: "US", currencyCode: "EUR" }, ion);
    expect(check).toStrictEqual({
      ok: false,
      message:
        "Warning: StreamOne Ion bills this account's subscriptions in USD, but the connector's Currency Code is EUR: set the Currency Code to USD.",
    });
  });

  it("questions the Country only when every customer read is in one other country", () => {
    expect(checkConnectorLocale({ country: "GB" }, { customerCountries: ["US", "US"], subscriptionCurrencies: [] })?.message).toBe(
      "Warning: Every customer StreamOne Ion returned is in US, but the connector's Country is GB: check that the Country is that of your Ion account.",
    );
    // Customers abroad are normal: several countries say nothing against the connector's.
    expect(checkConnectorLocale({ country: "GB" }, { customerCountries: ["US", "GB", "IE"], subscriptionCurrencies: [] })?.ok).toBe(true);
    expect(checkConnectorLocale({ country: "GB" }, { customerCountries: ["US", "DE"], subscriptionCurrencies: [] })?.ok).toBe(true);
  });

  it("names every currency Ion bills in when there are several, and reports both problems at once", () => {
    const check = checkConnectorLocale(
      { country: "FR", currencyCode: "GBP" },
      { customerCountries: ["DE"], subscriptionCurrencies: ["EUR", "USD"] },
    );
    expect(check?.ok).toBe(false);
    expect(check?.message).toContain("bills this account's subscriptions in EUR, USD, but the connector's Currency Code is GBP");
    expect(check?.message).toContain("Every customer StreamOne Ion returned is in DE");
  });

  it("compares nothing when Ion reported nothing usable or the connector has no value", () => {
    expect(
      checkConnectorLocale({ country: "US", currencyCode: "USD" }, { customerCountries: [], subscriptionCurrencies: [] }),
    ).toBeUndefined();
    expect(
      checkConnectorLocale(
        { country: "US", currencyCode: "USD" },
        { customerCountries: ["United States", ""], subscriptionCurrencies: ["$"] },
      ),
    ).toBeUndefined();
    expect(checkConnectorLocale({}, ion)).toBeUndefined();
  });
});

describe("withLocaleWarning", () => {
  it("appends a warning to the verify message and keeps the status", () => {
    const outcome = { status: 1, message: "Connected." };
    expect(withLocaleWarning(outcome, { ok: false, message: "Warning: x." })).toStrictEqual({
      status: 1,
      message: "Connected. Warning: x.",
    });
    expect(withLocaleWarning(outcome, { ok: true, message: "fine." })).toBe(outcome);
    expect(withLocaleWarning(outcome, undefined)).toBe(outcome);
  });
});
