import { asArray, asObject, bool, idFromName, lastSegment, lower, num, str, upper } from "../../../../src/ion/parse/common";

describe("asObject / asArray", () => {
  it("keeps a plain object and gives {} for anything else", () => {
    const o = { a: 1 };
    expect(asObject(o)).toBe(o);
    for (const v of [undefined, null, 0, 5, "text", true, [1, 2]]) expect(asObject(v)).toStrictEqual({});
  });

  it("keeps an array and gives [] for anything else", () => {
    const a = [1];
    expect(asArray(a)).toBe(a);
    expect(asArray({ length: 1 })).toStrictEqual([]);
  });
});

describe("str", () => {
  it("keeps non-empty text, untrimmed", () => {
    expect(str(" a ")).toBe(" a ");
    expect(str("")).toBeUndefined();
  });

  it("writes finite numbers and bigints as text", () => {
    expect(str(0)).toBe("0");
    expect(str(12.5)).toBe("12.5");
    expect(str(12345678901234567890n)).toBe("12345678901234567890");
  });

  it("gives undefined for non-finite numbers and other types", () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, true, {}, [], null, undefined]) expect(str(v)).toBeUndefined();
  });
});

describe("num", () => {
  it("reads signed, decimal and exponent forms", () => {
    expect(num("-3")).toBe(-3);
    expect(num("+3")).toBe(3);
    expect(num("3.")).toBe(3);
    expect(num(".5")).toBe(0.5);
    expect(num(".25")).toBe(0.25);
    expect(num("1e3")).toBe(1000);
    expect(num("1E+3")).toBe(1000);
    expect(num("25e-2")).toBe(0.25);
    expect(num("1e12")).toBe(1e12);
  });

  it("refuses text around the number, a sign alone, a bare exponent and overflow", () => {
    for (const v of ["x3", "3x", "1-", "--3", "1e", "1ex", "1e+", ".", ".x", "e3", "1 2", "0x10", "1e99999", "Infinity"]) {
      expect(num(v)).toBeUndefined();
    }
    expect(num(Number.NEGATIVE_INFINITY)).toBeUndefined();
    expect(num(true)).toBeUndefined();
  });
});

describe("bool", () => {
  it("reads every spelling Ion uses, in any case and padding", () => {
    for (const v of ["true", "YES", "1", "enabled", " On ", "auto-on"]) expect(bool(v)).toBe(true);
    for (const v of ["false", "No", "0", "disabled", "OFF", "auto-off"]) expect(bool(v)).toBe(false);
  });

  it("keeps booleans, reads numbers as non-zero, and gives undefined otherwise", () => {
    expect(bool(true)).toBe(true);
    expect(bool(false)).toBe(false);
    expect(bool(0)).toBe(false);
    expect(bool(2)).toBe(true);
    expect(bool(-1)).toBe(true);
    for (const v of ["", "maybe", null, undefined, {}]) expect(bool(v)).toBeUndefined();
  });
});

describe("lower / upper", () => {
  it("trims and changes case, and passes undefined through", () => {
    expect(lower(" AcTive ")).toBe("active");
    expect(upper(" completed ")).toBe("COMPLETED");
    expect(lower("")).toBeUndefined();
    expect(upper(undefined)).toBeUndefined();
    expect(upper(7)).toBe("7");
  });
});

describe("idFromName / lastSegment", () => {
  it("finds the collection at the start of a name, and nothing after a trailing collection", () => {
    expect(idFromName("customers/7", "customers")).toBe("7");
    expect(idFromName("accounts/1/customers", "customers")).toBeUndefined();
    expect(idFromName("accounts/1/customers/", "customers")).toBeUndefined();
    expect(idFromName(undefined, "customers")).toBeUndefined();
    expect(idFromName("", "customers")).toBeUndefined();
  });

  it("takes the last segment, ignoring trailing slashes", () => {
    expect(lastSegment("accounts/1/widgets/9")).toBe("9");
    expect(lastSegment("accounts/1/widgets/9/")).toBe("9");
    expect(lastSegment("plain")).toBe("plain");
    expect(lastSegment("///")).toBeUndefined();
    expect(lastSegment("")).toBeUndefined();
    expect(lastSegment(undefined)).toBeUndefined();
  });
});
