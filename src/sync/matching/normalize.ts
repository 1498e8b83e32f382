import { isGuid, normalizeGuid } from "../../shared/guid";
import { hostOf } from "../rows/text";

/**
 * Legal-form words dropped from organisation names before comparing ("Contoso Ltd" = "Contoso Limited"
 * = "CONTOSO"). Multi-word forms are matched after punctuation is removed ("pty ltd", "b v").
 */
const LEGAL_SUFFIXES = new Set([
  "ltd",
  "limited",
  "llc",
  "llp",
  "lp",
  "inc",
  "incorporated",
  "corp",
  "corporation",
  "co",
  "company",
  "cie",
  "gmbh",
  "mbh",
  "ag",
  "kg",
  "ohg",
  "ug",
  "ev",
  "bv",
  "nv",
  "vof",
  "pty",
  "plc",
  "sa",
  "sas",
  "sarl",
  "sasu",
  "srl",
  "spa",
  "sl",
  "slu",
  "oy",
  "oyj",
  "ab",
  "as",
  "asa",
  "aps",
  "a/s",
  "kft",
  "sro",
  "spzoo",
  "zoo",
  "kk",
  "pte",
  "pvt",
  "private",
  "holdings",
  "group",
  "dac",
  "ltda",
  "sagl",
  "bhd",
  "sdn",
  "pllc",
  "lc",
  "ulc",
  "gbr",
  "eg",
]);
/** Multi-letter forms written with dots or spaces, joined before the suffix check ("b.v." → "bv"). */
const DOTTED_FORMS: [RegExp, string][] = [
  [/\bb\s*v\b/g, "bv"],
  [/\bn\s*v\b/g, "nv"],
  [/\bs\s*a\s*r\s*l\b/g, "sarl"],
  [/\bs\s*a\s*s\b/g, "sas"],
  [/\bs\s*r\s*l\b/g, "srl"],
  [/\bs\s*p\s*a\b/g, "spa"],
  [/\bs\s*a\b/g, "sa"],
  [/\bp\s*l\s*c\b/g, "plc"],
  [/\bl\s*l\s*c\b/g, "llc"],
  [/\bl\s*l\s*p\b/g, "llp"],
  [/\bg\s*m\s*b\s*h\b/g, "gmbh"],
  [/\bs\s*p\s*z\s*o\s*o\b/g, "spzoo"],
];

/** Free mail providers: a contact e-mail there says nothing about the organisation. */
export const PUBLIC_MAIL_DOMAINS = new Set([
  "gmail.com",
  "googlemail.com",
  "outlook.com",
  "hotmail.com",
  "hotmail.co.uk",
  "live.com",
  "live.co.uk",
  "msn.com",
  "yahoo.com",
  "yahoo.co.uk",
  "yahoo.fr",
  "ymail.com",
  "icloud.com",
  "me.com",
  "mac.com",
  "aol.com",
  "proton.me",
  "protonmail.com",
  "gmx.com",
  "gmx.de",
  "gmx.net",
  "web.de",
  "mail.com",
  "zoho.com",
  "yandex.com",
  "yandex.ru",
  "mail.ru",
  "qq.com",
  "163.com",
  "comcast.net",
  "att.net",
  "verizon.net",
  "btinternet.com",
  "orange.fr",
  "free.fr",
  "t-online.de",
  "libero.it",
  "fastmail.com",
  "hey.com",
  "tutanota.com",
]);

export function stripDiacritics(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/ß/g, "ss")
    .replace(/æ/g, "ae")
    .replace(/ø/g, "o")
    .replace(/œ/g, "oe");
}

/** Normalised organisation name tokens: lower case, no diacritics, '&' = 'and', no punctuation, no legal forms. */
export function nameTokens(name: string | undefined | null): string[] {
  if (!name) return [];
  let text = stripDiacritics(name.toLowerCase());
  text = text.replace(/&/g, " and ").replace(/\+/g, " and ");
  text = text.replace(/['’`]/g, "");
  text = text.replace(/[^a-z0-9/]+/g, " ");
  for (const [pattern, joined] of DOTTED_FORMS) text = text.replace(pattern, joined);
  const tokens = text.split(/[\s/]+/).filter((t) => t.length > 0);
  // Drop legal forms only at the end (and "the" at the start), so "Company Store" keeps its words.
  while (tokens.length > 1 && LEGAL_SUFFIXES.has(tokens[tokens.length - 1]!)) tokens.pop();
  if (tokens.length > 1 && tokens[0] === "the") tokens.shift();
  return tokens;
}

export function normalizeName(name: string | undefined | null): string {
  return nameTokens(name).join(" ");
}

/** Domain of a business e-mail, or undefined for free mail providers. */
export function businessEmailDomain(email: string | undefined | null): string | undefined {
  if (!email || !email.includes("@")) return undefined;
  const host = hostOf(email);
  if (!host || PUBLIC_MAIL_DOMAINS.has(host)) return undefined;
  return host;
}

/** A domain usable as an organisation signal (not a free mail provider). */
export function organisationDomain(value: string | undefined | null): string | undefined {
  const host = hostOf(value);
  if (!host || PUBLIC_MAIL_DOMAINS.has(host)) return undefined;
  return host;
}

export function normalizePostalCode(value: string | undefined | null): string | undefined {
  if (!value) return undefined;
  const compact = value.toUpperCase().replace(/[^A-Z0-9]/g, "");
  return compact === "" ? undefined : compact;
}

const COUNTRY_NAMES: Record<string, string> = {
  "united states": "US",
  "united states of america": "US",
  usa: "US",
  "u s a": "US",
  "u s": "US",
  america: "US",
  "united kingdom": "GB",
  uk: "GB",
  "great britain": "GB",
  england: "GB",
  scotland: "GB",
  wales: "GB",
  germany: "DE",
  deutschland: "DE",
  france: "FR",
  netherlands: "NL",
  "the netherlands": "NL",
  holland: "NL",
  nederland: "NL",
  belgium: "BE",
  spain: "ES",
  espana: "ES",
  italy: "IT",
  italia: "IT",
  ireland: "IE",
  canada: "CA",
  australia: "AU",
  "new zealand": "NZ",
  sweden: "SE",
  norway: "NO",
  denmark: "DK",
  finland: "FI",
  austria: "AT",
  switzerland: "CH",
  poland: "PL",
  portugal: "PT",
  mexico: "MX",
  brazil: "BR",
  india: "IN",
  japan: "JP",
  singapore: "SG",
  "south africa": "ZA",
};

/** ISO 3166-1 alpha-2 code from a code or a common English/native name. */
export function normalizeCountry(value: string | undefined | null): string | undefined {
  if (!value) return undefined;
  const text = stripDiacritics(value.trim().toLowerCase())
    .replace(/[^a-z ]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  if (text === "") return undefined;
  if (/^[a-z]{2}$/.test(text)) return text === "uk" ? "GB" : text.toUpperCase();
  return COUNTRY_NAMES[text];
}

/** Lower-case bare GUID of a Microsoft tenant id (braces allowed), else undefined. */
export function normalizeTenantId(value: string | undefined | null): string | undefined {
  return isGuid(value) ? normalizeGuid(value) : undefined;
}
