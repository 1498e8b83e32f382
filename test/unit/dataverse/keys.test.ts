import {
  bindRef,
  formatKey,
  idFromEntityIdHeader,
  normalizeGuid,
  odataLiteral,
  odataString,
  recordPath,
} from "../../../src/dataverse/keys";
import { ValidationError } from "../../../src/shared/errors";

const ID = "0D5A1F3C-1234-4ABC-9DEF-00112233AABB";

describe("record keys", () => {
  it("writes a GUID key lower-cased and without braces", () => {
    expect(formatKey(`{${ID}}`)).toBe("(0d5a1f3c-1234-4abc-9def-00112233aabb)");
  });

  it("rejects a non-GUID string key instead of building a broken URL", () => {
    expect(() => formatKey("123")).toThrow(ValidationError);
  });

  it("writes an alternate key with quoted strings, bare numbers and booleans, in the given order", () => {
    expect(formatKey({ accountnumber: "ABC123", numberofemployees: 5, donotemail: false })).toBe(
      "(accountnumber='ABC123',numberofemployees=5,donotemail=false)",
    );
  });

  it("doubles single quotes and percent-encodes URL-breaking characters in key strings", () => {
    expect(formatKey({ name: "O'Brien & Sons/#1?" })).toBe("(name='O''Brien%20%26%20Sons%2F%231%3F')");
  });

  it("writes a lookup part (_x_value) with an unquoted GUID, as Microsoft documents", () => {
    expect(formatKey({ _w365_connection_value: ID, w365_ioncustomerid: "123" })).toBe(
      "(_w365_connection_value=0d5a1f3c-1234-4abc-9def-00112233aabb,w365_ioncustomerid='123')",
    );
  });

  it("refuses a lookup part whose value is not a GUID", () => {
    expect(() => formatKey({ _w365_connection_value: "abc" })).toThrow(/GUID/);
  });

  it("refuses empty keys and odd column names", () => {
    expect(() => formatKey({})).toThrow(ValidationError);
    expect(() => formatKey({ "a)b": "x" })).toThrow(ValidationError);
  });

  it("builds @odata.bind values and record paths", () => {
    expect(bindRef("w365_providerconnections", ID)).toBe("/w365_providerconnections(0d5a1f3c-1234-4abc-9def-00112233aabb)");
    expect(recordPath("accounts")).toBe("accounts");
    expect(recordPath("accounts", { accountnumber: "A" })).toBe("accounts(accountnumber='A')");
  });

  it("reads the id from OData-EntityId headers in GUID and named forms, not from alternate-key forms", () => {
    expect(idFromEntityIdHeader(`https://org.crm.dynamics.com/api/data/v9.2/accounts(${ID})`)).toBe(ID.toLowerCase());
    expect(idFromEntityIdHeader(`https://org/api/data/v9.2/accounts(accountid=${ID})`)).toBe(ID.toLowerCase());
    expect(idFromEntityIdHeader("https://org/api/data/v9.2/accounts(accountnumber='A')")).toBeUndefined();
    expect(idFromEntityIdHeader(undefined)).toBeUndefined();
  });

  it("writes OData literals for $filter", () => {
    expect(odataString("it's")).toBe("'it''s'");
    expect(odataLiteral(3)).toBe("3");
    expect(odataLiteral(true)).toBe("true");
    expect(odataLiteral(null)).toBe("null");
    expect(odataLiteral(new Date(Date.UTC(2026, 0, 2)))).toBe("2026-01-02T00:00:00.000Z");
    expect(() => odataLiteral(Number.NaN)).toThrow(ValidationError);
    expect(normalizeGuid(ID)).toBe(ID.toLowerCase());
  });
});
