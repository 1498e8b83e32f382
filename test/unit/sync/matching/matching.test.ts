import {
  AccountIndex,
  AUTO_MAP_THRESHOLD,
  businessEmailDomain,
  damerauLevenshtein,
  decideMatch,
  jaroWinkler,
  latinNameTokens,
  matchCustomer,
  nameSimilarity,
  nameTokens,
  normalizeCountry,
  normalizeName,
  rankCandidates,
  TRANSLITERATED_NAME_CAP,
} from "../../../../src/sync/matching";

const TENANT_A = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
const TENANT_B = "11111111-2222-3333-4444-555555555555";

function indexOf(records: Parameters<AccountIndex["add"]>[0][]): AccountIndex {
  const index = new AccountIndex();
  records.forEach((r) => index.add(r));
  return index;
}

describe("normalise organisation names", () => {
  it.each([
    ["Contoso Ltd.", "contoso"],
    ["CONTOSO LIMITED", "contoso"],
    ["Contoso, Inc", "contoso"],
    ["Müller & Söhne GmbH", "muller and sohne"],
    ["Muller and Sohne", "muller and sohne"],
    ["Fabrikam B.V.", "fabrikam"],
    ["Northwind Traders Pty Ltd", "northwind traders"],
    ["The Phone Company", "phone"],
    ["A.C.M.E. Corp", "a c m e"],
    ["Maersk A/S", "maersk"],
    ["Müller GmbH & Co. KG", "muller"],
    ["Cemex S.A.B. de C.V.", "cemex"],
    ["Bimbo S.A. de C.V.", "bimbo"],
    ["Tienda Azul S. de R.L. de C.V.", "tienda azul"],
    ["Łódź Logistics Sp. z o.o.", "lodz logistics"],
    ["Işık Yazılım Ltd. Şti.", "isik yazilim"],
    ["İSTANBUL Holding A.Ş.", "istanbul holding"],
    ["Smith & Co.", "smith"],
    ["ＡＢＣ Ｌｔｄ", "abc"],
    ["ООО «Ромашка»", "ромашка"],
    ["ПАО Газпром", "газпром"],
    ["Ёлка", "елка"],
    ["Αθήνα Α.Ε.", "αθηνα"],
    ["ΟΔΟΣ Ε.Π.Ε.", "οδοσ"],
    ['אל על בע"מ', "אל על"],
    ["أَرَامْكُو السعودية ش.م.م", "ارامكو السعوديه"],
    ["شركة الاتصالات", "الاتصالات"],
    ["小米科技有限责任公司", "小米科技"],
    ["トヨタ 自動車 株式会社", "トヨタ自動車"],
    ["㈱トヨタ自動車", "トヨタ自動車"],
  ])("%s → %s", (input, expected) => {
    expect(normalizeName(input)).toBe(expected);
  });

  it.each([
    ["בַּנְק הַפּוֹעֲלִים", "בנק הפועלים"],
    ["أَرَامْكُو", "ارامكو"],
    ["パナソニック", "パナソニツク"],
    ["ｿﾆｰｸﾞﾙｰﾌﾟ", "ソニーグループ"],
    ["ΚΩΤΣΟΒΟΛΟΣ", "Κωτσόβολος"],
  ])("%s and %s normalise alike (vowel points, small kana, half-width, case and accents)", (a, b) => {
    expect(normalizeName(a)).toBe(normalizeName(b));
  });

  it("compares Hangul letter by letter and ignores (주) and 주식회사", () => {
    expect(normalizeName("(주)삼성전자")).toBe(normalizeName("삼성전자 주식회사"));
    expect(normalizeName("삼성전자주식회사")).toBe(normalizeName("삼성전자"));
    // One syllable with another vowel is one edit among the letters, not a whole different character.
    expect(nameSimilarity(nameTokens("현대자동차"), nameTokens("현대자동치"))).toBeGreaterThan(0.85);
  });

  it("spells a non-Latin name in Latin letters, and leaves a Latin name alone", () => {
    expect(latinNameTokens(nameTokens("ООО Ромашка"))).toStrictEqual(["romashka"]);
    expect(latinNameTokens(nameTokens("Αθήνα Α.Ε."))).toStrictEqual(["athina"]);
    expect(latinNameTokens(nameTokens("Contoso Ltd"))).toBeUndefined();
  });

  it("keeps a legal word that is the whole name", () => {
    expect(nameTokens("Company")).toStrictEqual(["company"]);
  });
});

describe("similarity", () => {
  it("counts an adjacent swap as one edit", () => {
    expect(damerauLevenshtein("contoso", "cnotoso")).toBe(1);
    expect(damerauLevenshtein("kitten", "sitting")).toBe(3);
  });
  it("rates small typos high and different names low", () => {
    expect(jaroWinkler("martha", "marhta")).toBeCloseTo(0.961, 3);
    expect(nameSimilarity(["contosso"], ["contoso"])).toBeGreaterThan(0.85);
    expect(nameSimilarity(["contoso", "logistics"], ["contoso", "labs"])).toBeLessThan(0.85);
    expect(nameSimilarity(["jones", "and", "smith"], ["smith", "and", "jones"])).toBeGreaterThan(0.95);
  });
});

describe("public mail domains and countries", () => {
  it("ignores free mail providers as organisation signals", () => {
    expect(businessEmailDomain("jane@gmail.com")).toBeUndefined();
    expect(businessEmailDomain("jane@Outlook.com")).toBeUndefined();
    expect(businessEmailDomain("jane@contoso.com")).toBe("contoso.com");
  });
  it("understands country names and codes", () => {
    expect(normalizeCountry("United States")).toBe("US");
    expect(normalizeCountry("uk")).toBe("GB");
    expect(normalizeCountry("de")).toBe("DE");
  });
});

describe("matchCustomer", () => {
  const accounts = indexOf([
    {
      accountid: "a1",
      name: "Contoso Ltd",
      w365_microsofttenantid: TENANT_A,
      w365_primarydomain: "contoso.com",
      address1_postalcode: "98052",
      address1_country: "US",
    },
    { accountid: "a2", name: "Fabrikam Inc", websiteurl: "https://www.fabrikam.com/about", address1_country: "US" },
    { accountid: "a3", name: "Northwind Traders", address1_postalcode: "SW1A 1AA", address1_country: "United Kingdom" },
    { accountid: "a4", name: "Adventure Works", emailaddress1: "info@adventure-works.com" },
    { accountid: "a5", name: "Tailspin Toys" },
    { accountid: "a6", name: "Tailspin Toys" },
  ]);

  it("auto-maps on a tenant id even when the name differs", () => {
    const d = matchCustomer(accounts, { organization: "CTS Holdings", tenantId: TENANT_A.toUpperCase() });
    expect(d.decision).toBe("map");
    expect(d.best?.accountId).toBe("a1");
    expect(d.reason).toContain("tenant id matches");
  });

  it("auto-maps on the primary domain from a website URL", () => {
    const d = matchCustomer(accounts, { organization: "Fabrikam", domain: "fabrikam.com" });
    expect(d.decision).toBe("map");
    expect(d.best?.accountId).toBe("a2");
    expect(d.reason).toMatch(/domain matches \(fabrikam\.com\); name matches/);
  });

  it("uses a business contact e-mail domain but never a free mail domain", () => {
    const business = matchCustomer(accounts, { organization: "Adventure Works LLC", email: "bob@adventure-works.com" });
    expect(business.decision).toBe("map");
    expect(business.best?.accountId).toBe("a4");
    const free = rankCandidates(accounts, { organization: "Totally Different", email: "bob@gmail.com" });
    expect(free).toStrictEqual([]);
  });

  it("maps a typo'd name only with supporting postal code and country", () => {
    const nameOnly = matchCustomer(accounts, { organization: "Northwind Tradres" });
    expect(nameOnly.decision).toBe("suggest");
    expect(nameOnly.best?.accountId).toBe("a3");
    expect(nameOnly.reason).toMatch(/name similar \(0\.\d\d\)/);
    const withAddress = matchCustomer(accounts, { organization: "Northwind Traders Ltd", postalCode: "sw1a1aa", country: "GB" });
    expect(withAddress.decision).toBe("map");
    expect(withAddress.score).toBeGreaterThanOrEqual(AUTO_MAP_THRESHOLD);
  });

  it("suggests instead of mapping when two accounts are equally good", () => {
    const d = matchCustomer(accounts, { organization: "Tailspin Toys", postalCode: "12345" });
    expect(d.decision).toBe("suggest");
    expect(d.best?.accountId).toBe("a5");
    expect(d.runnerUp?.accountId).toBe("a6");
    expect(d.reason).toContain("too close to auto-map");
  });

  it("a different tenant id vetoes a name match", () => {
    const d = matchCustomer(accounts, { organization: "Contoso", tenantId: TENANT_B, postalCode: "98052", country: "US" });
    expect(d.decision).not.toBe("map");
  });

  it("returns none for an unknown customer", () => {
    const d = matchCustomer(accounts, { organization: "Zzyzx Unknown Company" });
    expect(d).toStrictEqual({ decision: "none", reason: "no likely match", score: 0, best: undefined });
  });

  it("matches identical names in other scripts as it does Latin ones, and offers them as duplicates", () => {
    const index = indexOf([
      { accountid: "ru", name: "ООО «Ромашка»", address1_postalcode: "101000", address1_country: "RU" },
      { accountid: "jp", name: "トヨタ自動車株式会社", address1_postalcode: "471-8571", address1_country: "JP" },
      { accountid: "il", name: 'אל על בע"מ' },
    ]);
    expect(matchCustomer(index, { organization: "Ромашка", postalCode: "101000", country: "RU" })).toMatchObject({
      decision: "map",
      best: { accountId: "ru" },
    });
    expect(matchCustomer(index, { organization: "トヨタ自動車", postalCode: "4718571", country: "Japan" }).best?.accountId).toBe("jp");
    // What "create new account" checks before creating (any candidate at or above the suggestion threshold).
    expect(rankCandidates(index, { organization: "אל על" })).toMatchObject([{ accountId: "il", score: 0.85 }]);
  });

  it("suggests a transliterated name, never maps it on the name alone, and maps it when the tenant agrees", () => {
    const index = indexOf([
      { accountid: "gz", name: "Gazprom", w365_microsofttenantid: TENANT_A, address1_postalcode: "117997", address1_country: "RU" },
    ]);
    const byName = matchCustomer(index, { organization: "ПАО Газпром", postalCode: "117997", country: "RU" });
    expect(byName).toMatchObject({ decision: "suggest", score: TRANSLITERATED_NAME_CAP, best: { accountId: "gz" } });
    expect(byName.reason).toContain("name matches when transliterated");
    const withTenant = matchCustomer(index, { organization: "ПАО Газпром", tenantId: TENANT_A });
    expect(withTenant).toMatchObject({ decision: "map", best: { accountId: "gz" } });
  });

  it("decideMatch with no candidates is none", () => {
    expect(decideMatch([]).decision).toBe("none");
  });
});
