/**
 * Deterministic seeded data for the Ion simulator: customers (organisations, contacts, addresses,
 * Microsoft tenants), their NCE subscriptions, and the "existing Work 365 accounts" a reseller would
 * already hold in Dataverse for the same customers. Pure: the same arguments give the same output.
 */
import { createHash } from "node:crypto";

import { base, en, Faker } from "@faker-js/faker";

import { seededGuid, seededRandom } from "../../src/shared/random";
import { CATALOG, type CatalogEntry, type CatalogPlan, findCatalogEntry, MICROSOFT_PROVIDER_ID, priceIn } from "./catalog";
import type { SimActivity, SimCloudProfile, SimCustomer, SimSubscription } from "./types";

export const DEFAULT_START_TIME = Date.UTC(2026, 10, 1, 0, 0, 0);
export const DAY_MS = 86_400_000;
/** Microsoft NCE: cancel or reduce within 7 days (168 h) of purchase or renewal. */
export const CANCELLATION_WINDOW_MS = 7 * DAY_MS;

interface CountryProfile {
  code: string;
  tld: string;
  suffixes: string[];
  language: string;
  cities: Array<[city: string, state: string]>;
  postal: (f: Faker) => string;
  phone: (f: Faker) => string;
  currency: string;
}

const digits = (f: Faker, n: number) => f.string.numeric({ length: n, allowLeadingZeros: true });
const upper = (f: Faker, n: number) => f.string.alpha({ length: n, casing: "upper" });

export const COUNTRIES: Record<string, CountryProfile> = {
  US: {
    code: "US",
    tld: "com",
    suffixes: ["Inc.", "LLC", "Corp.", "Inc", "LLC", "Co."],
    language: "EN",
    currency: "USD",
    cities: [
      ["Tampa", "FL"],
      ["Austin", "TX"],
      ["Denver", "CO"],
      ["Seattle", "WA"],
      ["Columbus", "OH"],
      ["Raleigh", "NC"],
      ["Phoenix", "AZ"],
      ["Boston", "MA"],
      ["Chicago", "IL"],
      ["Atlanta", "GA"],
      ["Portland", "OR"],
      ["Nashville", "TN"],
      ["San Diego", "CA"],
      ["Richmond", "VA"],
      ["Minneapolis", "MN"],
    ],
    postal: (f) => digits(f, 5),
    phone: (f) => `+1 ${f.number.int({ min: 201, max: 989 })}-555-${digits(f, 4)}`,
  },
  CA: {
    code: "CA",
    tld: "ca",
    suffixes: ["Inc.", "Ltd.", "Corp."],
    language: "EN",
    currency: "CAD",
    cities: [
      ["Toronto", "ON"],
      ["Vancouver", "BC"],
      ["Calgary", "AB"],
      ["Ottawa", "ON"],
      ["Halifax", "NS"],
    ],
    postal: (f) => `${upper(f, 1)}${digits(f, 1)}${upper(f, 1)} ${digits(f, 1)}${upper(f, 1)}${digits(f, 1)}`,
    phone: (f) => `+1 ${f.helpers.arrayElement(["416", "604", "403", "613", "902"])}-555-${digits(f, 4)}`,
  },
  GB: {
    code: "GB",
    tld: "co.uk",
    suffixes: ["Ltd", "Limited", "PLC", "LLP"],
    language: "EN",
    currency: "GBP",
    cities: [
      ["London", "LND"],
      ["Manchester", "MAN"],
      ["Leeds", "LDS"],
      ["Bristol", "BST"],
      ["Glasgow", "GLG"],
      ["Birmingham", "BIR"],
    ],
    postal: (f) => `${upper(f, 2)}${f.number.int({ min: 1, max: 20 })} ${digits(f, 1)}${upper(f, 2)}`,
    phone: (f) => `+44 20 7946 ${digits(f, 4)}`,
  },
  DE: {
    code: "DE",
    tld: "de",
    suffixes: ["GmbH", "AG", "GmbH & Co. KG", "UG"],
    language: "DE",
    currency: "EUR",
    cities: [
      ["Berlin", "BE"],
      ["München", "BY"],
      ["Hamburg", "HH"],
      ["Köln", "NW"],
      ["Frankfurt am Main", "HE"],
      ["Stuttgart", "BW"],
    ],
    postal: (f) => digits(f, 5),
    phone: (f) => `+49 30 ${digits(f, 7)}`,
  },
  NL: {
    code: "NL",
    tld: "nl",
    suffixes: ["B.V.", "BV", "N.V."],
    language: "NL",
    currency: "EUR",
    cities: [
      ["Amsterdam", "NH"],
      ["Rotterdam", "ZH"],
      ["Utrecht", "UT"],
      ["Eindhoven", "NB"],
      ["Groningen", "GR"],
    ],
    postal: (f) => `${f.number.int({ min: 1000, max: 9999 })} ${upper(f, 2)}`,
    phone: (f) => `+31 20 ${digits(f, 7)}`,
  },
  AU: {
    code: "AU",
    tld: "com.au",
    suffixes: ["Pty Ltd", "Pty. Ltd.", "Pty Limited"],
    language: "EN",
    currency: "AUD",
    cities: [
      ["Sydney", "NSW"],
      ["Melbourne", "VIC"],
      ["Brisbane", "QLD"],
      ["Perth", "WA"],
      ["Adelaide", "SA"],
    ],
    postal: (f) => String(f.number.int({ min: 2000, max: 7999 })),
    phone: (f) => `+61 2 ${digits(f, 4)} ${digits(f, 4)}`,
  },
  IE: {
    code: "IE",
    tld: "ie",
    suffixes: ["Ltd", "Limited", "DAC"],
    language: "EN",
    currency: "EUR",
    cities: [
      ["Dublin", "D"],
      ["Cork", "CO"],
      ["Galway", "G"],
    ],
    postal: (f) => `D${digits(f, 2)} ${upper(f, 1)}${digits(f, 1)}${upper(f, 2)}`,
    phone: (f) => `+353 1 ${digits(f, 7)}`,
  },
  FR: {
    code: "FR",
    tld: "fr",
    suffixes: ["SAS", "SARL", "SA"],
    language: "FR",
    currency: "EUR",
    cities: [
      ["Paris", "IDF"],
      ["Lyon", "ARA"],
      ["Lille", "HDF"],
      ["Nantes", "PDL"],
    ],
    postal: (f) => digits(f, 5),
    phone: (f) => `+33 1 ${digits(f, 2)} ${digits(f, 2)} ${digits(f, 2)} ${digits(f, 2)}`,
  },
};

const PUBLIC_EMAIL_DOMAINS = ["gmail.com", "outlook.com", "hotmail.com", "yahoo.com"];
const INDUSTRY_WORDS = [
  "Dental",
  "Logistics",
  "Accounting",
  "Construction",
  "Legal",
  "Engineering",
  "Consulting",
  "Veterinary",
  "Marketing",
  "Architecture",
  "Insurance",
  "Realty",
  "Manufacturing",
  "Plumbing",
  "Landscaping",
  "Pharmacy",
  "Clinic",
  "Analytics",
  "Design",
  "Freight",
  "Solutions",
  "Systems",
  "Partners",
  "Holdings",
  "Foods",
  "Brewing",
  "Robotics",
  "Health",
  "Travel",
  "Media",
];
const PLACE_WORDS = [
  "Summit",
  "Harbor",
  "Northwind",
  "Bluebird",
  "Cedar",
  "Riverside",
  "Oakridge",
  "Silverline",
  "Granite",
  "Lakeshore",
  "Pioneer",
  "Evergreen",
  "Redwood",
  "Beacon",
  "Keystone",
  "Meridian",
  "Horizon",
  "Ironwood",
  "Westbrook",
  "Fairview",
  "Brightwater",
  "Copperfield",
  "Stonegate",
  "Maple",
  "Falcon",
];
const TITLES = [
  "Owner",
  "Office Manager",
  "IT Manager",
  "Chief Executive Officer",
  "Operations Director",
  "Finance Manager",
  "IT Administrator",
  "Managing Director",
  "Practice Manager",
  "Head of IT",
];
const FRIENDLY_NAMES = ["Sales team", "Head office", "Warehouse", "Finance", "Contractors", "Board", "Support desk", "Field staff"];

/** Options of the pure dataset generator. */
export interface DatasetOptions {
  seed: number;
  customers: number;
  subscriptionsPerCustomer: number;
  accountId: string;
  startTime: number;
  country: string;
  currency: string;
}

export interface Dataset {
  customers: SimCustomer[];
  subscriptions: SimSubscription[];
  /** The reseller's name as Ion shows it in `partnerName`. */
  partnerName: string;
  /** Index in `customers` of the customer each near-duplicate was derived from (near-duplicate index → original index). */
  nearDuplicates: Map<number, number>;
}

function newFaker(seed: number): Faker {
  const f = new Faker({ locale: [en, base] });
  f.seed(seed);
  return f;
}

/** "Bluebird Dental LLC" → "bluebirddental" (domain label). */
export function domainLabel(org: string): string {
  const withoutSuffix = stripLegalSuffix(org);
  return (
    withoutSuffix
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/&/g, "and")
      .replace(/[^a-z0-9]+/g, "")
      .slice(0, 40) || "org"
  );
}

const ALL_SUFFIXES = [...new Set(Object.values(COUNTRIES).flatMap((c) => c.suffixes))].sort((a, b) => b.length - a.length);

export function stripLegalSuffix(org: string): string {
  let out = org.trim();
  for (const s of ALL_SUFFIXES) {
    if (out.toLowerCase().endsWith(" " + s.toLowerCase())) {
      out = out.slice(0, out.length - s.length - 1).replace(/[,\s]+$/, "");
      break;
    }
  }
  return out;
}

function baseOrgName(f: Faker): string {
  switch (f.number.int({ min: 0, max: 5 })) {
    case 0:
      return `${f.person.lastName()} ${f.helpers.arrayElement(INDUSTRY_WORDS)}`;
    case 1:
      return `${f.person.lastName()} & ${f.person.lastName()}`;
    case 2:
      return `${f.helpers.arrayElement(PLACE_WORDS)} ${f.helpers.arrayElement(INDUSTRY_WORDS)}`;
    case 3:
      return `${f.location.city()} ${f.helpers.arrayElement(INDUSTRY_WORDS)}`;
    case 4:
      return f.company.name().replace(/,? and /, " & ");
    default:
      return `${f.helpers.arrayElement(PLACE_WORDS)} ${f.person.lastName()} ${f.helpers.arrayElement(INDUSTRY_WORDS)}`;
  }
}

/** A near-duplicate spelling of an organisation name: typo, "&" vs "and", punctuation, suffix change. */
export function nearDuplicateName(f: Faker, org: string, country: CountryProfile): string {
  const core = stripLegalSuffix(org);
  const suffix = f.helpers.arrayElement(country.suffixes);
  switch (f.number.int({ min: 0, max: 4 })) {
    case 0: {
      // Swap two adjacent letters inside the longest word.
      const words = core.split(" ");
      let longest = 0;
      words.forEach((w, i) => {
        if (w.length > (words[longest] ?? "").length) longest = i;
      });
      const w = words[longest] ?? core;
      if (w.length > 3) {
        const i = f.number.int({ min: 1, max: w.length - 3 });
        words[longest] = w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
      }
      return `${words.join(" ")} ${suffix}`;
    }
    case 1:
      return core.includes("&") ? `${core.replace("&", "and")} ${suffix}` : `${core.replace(/ and /i, " & ")} ${suffix}`;
    case 2:
      return `${core.replace(/ /g, "-")}, ${suffix}`;
    case 3:
      return `${core.toUpperCase()} ${suffix}`;
    default:
      return `The ${core} ${suffix}`;
  }
}

function pickCountry(f: Faker, home: string): CountryProfile {
  const codes = Object.keys(COUNTRIES);
  const code = f.number.float({ min: 0, max: 1 }) < 0.75 ? home : f.helpers.arrayElement(codes);
  return COUNTRIES[code] ?? (COUNTRIES.US as CountryProfile);
}

function weightedEntries(): Array<{ weight: number; value: CatalogEntry }> {
  const out: Array<{ weight: number; value: CatalogEntry }> = [];
  for (const product of CATALOG) {
    for (const sku of product.skus) {
      for (const plan of sku.plans) {
        // Annual terms billed monthly are the most common NCE choice, then monthly, then annual upfront.
        const planWeight = plan.billingTerm === "P1Y" && plan.billingCycle === "monthly" ? 5 : plan.billingTerm === "P1M" ? 3 : 2;
        out.push({ weight: sku.weight * planWeight, value: { product, sku, plan } });
      }
    }
  }
  return out;
}

function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.getTime();
}

function monthsBetween(from: number, to: number): number {
  const a = new Date(from);
  const b = new Date(to);
  return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());
}

/**
 * The term containing `now` for a subscription bought at `purchasedAt`. Terms are anchored on the
 * purchase date (Jan 31 renews Feb 28, then Mar 31), and the search jumps straight to the current one.
 */
export function currentTerm(purchasedAt: number, billingTerm: "P1M" | "P1Y", now: number): { index: number; start: number; end: number } {
  const months = billingTerm === "P1Y" ? 12 : 1;
  let index = Math.max(0, Math.floor(monthsBetween(purchasedAt, now) / months) - 1);
  let start = addMonths(purchasedAt, index * months);
  let end = addMonths(purchasedAt, (index + 1) * months);
  while (end <= now) {
    index++;
    start = end;
    end = addMonths(purchasedAt, (index + 1) * months);
  }
  return { index, start, end };
}

export function termMonths(plan: Pick<CatalogPlan, "billingTerm">): number {
  return plan.billingTerm === "P1Y" ? 12 : 1;
}

/** The end of a term that starts at `start`. */
export function termEnd(start: number, billingTerm: "P1M" | "P1Y"): number {
  return addMonths(start, billingTerm === "P1Y" ? 12 : 1);
}

/**
 * How many subscriptions customer `index` gets: customers are paired, one gets n+d and the other
 * n-d (d in 0..n), so the counts vary (including some customers with none) while the total is
 * exactly customers × n (an odd last customer gets n).
 */
export function subscriptionCountFor(f: Faker, index: number, total: number, n: number, pairDelta: number[]): number {
  if (n <= 0) return 0;
  const pair = Math.floor(index / 2);
  if (index % 2 === 1 || index + 1 < total) {
    if (pairDelta[pair] === undefined) pairDelta[pair] = f.number.int({ min: 0, max: n });
    const d = pairDelta[pair] as number;
    return index % 2 === 0 ? n + d : n - d;
  }
  return n;
}

const PORTAL_USER = { ccpUserId: "677176", ccpUserName: "Reseller Admin", ccpUserEmail: "admin@reseller.example" };

/** A stable GUID-shaped id for a seeded history entry (not stored). */
function historyId(subscriptionId: string, n: number): string {
  const h = createHash("sha1").update(`${subscriptionId}:${n}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The activity log entries of a generated subscription's past (created, last renewals, status change), newest first. */
export function historyActivity(s: SimSubscription): SimActivity[] {
  const h = s.history;
  if (!h) return [];
  const months = s.billingTerm === "P1Y" ? 12 : 1;
  const entry = findCatalogEntry(s.ccpProductId, s.ccpSkuId, s.ccpPlanId);
  const out: SimActivity[] = [
    activity(
      historyId(s.subscriptionId, 0),
      "Subscription Created",
      s.purchasedAt + 5000,
      h.quantity,
      "active",
      `Offer Name: ${entry?.sku.displayName ?? s.subscriptionName}; Quantity: ${h.quantity}; `,
    ),
  ];
  if (!entry?.sku.usageBased) {
    const k = Math.round(monthsBetween(s.purchasedAt, h.termStart) / months);
    for (let j = Math.max(1, k - 2); j <= k; j++)
      out.push(
        activity(
          historyId(s.subscriptionId, j),
          "Subscription Renewed",
          addMonths(s.purchasedAt, j * months),
          h.quantity,
          "active",
          `Renewed; Quantity: ${h.quantity}; `,
        ),
      );
  }
  if (h.statusChange)
    out.push(
      activity(
        historyId(s.subscriptionId, -1),
        "Subscription Updated",
        h.statusChange.at,
        h.quantity,
        h.statusChange.status,
        `New Quantity: ${h.quantity}; Status: ${h.statusChange.status}; `,
      ),
    );
  return out.sort((a, b) => b.actionDate - a.actionDate);
}

/** Runtime entries (newest first) followed by the seeded history: what GET …/subscriptions/{id} shows. */
export function allActivity(s: SimSubscription): SimActivity[] {
  return s.history ? [...s.activity, ...historyActivity(s)] : s.activity;
}

export function activity(id: string, actionType: string, at: number, quantity: number, status: string, details: string): SimActivity {
  return {
    id,
    actionType,
    actionDate: at,
    actionStatus: "succeeded",
    quantity,
    subscriptionStatus: status,
    actionDetails: details,
    ...PORTAL_USER,
  };
}

/** Generates the customers and subscriptions of one Ion account. */
export function generateDataset(options: DatasetOptions): Dataset {
  const f = newFaker(options.seed);
  // Subscriptions draw from their own generator so customers do not depend on subscriptionsPerCustomer.
  const fs = newFaker(options.seed * 31 + 7);
  const customerRandom = seededRandom(options.seed * 2_654_435 + 11);
  const subscriptionRandom = seededRandom(options.seed * 40_503 + 97);
  const home = COUNTRIES[options.country] ? options.country : "US";
  const now = options.startTime;
  const customers: SimCustomer[] = [];
  const subscriptions: SimSubscription[] = [];
  const usedDomains = new Set<string>();
  const usedEmails = new Set<string>();
  const nearDuplicates = new Map<number, number>();
  const entries = weightedEntries();
  const pairDelta: number[] = [];
  let customerId = 300_000 + f.number.int({ min: 1000, max: 9000 });
  let subscriptionId = 2_200_000 + (Math.abs(options.seed) % 9000) * 3;

  for (let i = 0; i < options.customers; i++) {
    const country = pickCountry(f, home);
    let org: string;
    // About 6% are near-duplicates of an earlier organisation (a second entity, a typo in the portal).
    const originalIndex = i > 4 && f.number.float({ min: 0, max: 1 }) < 0.06 ? f.number.int({ min: 0, max: i - 1 }) : -1;
    if (originalIndex >= 0) {
      org = nearDuplicateName(f, (customers[originalIndex] as SimCustomer).customerOrganization, country);
      nearDuplicates.set(i, originalIndex);
    } else {
      org = `${baseOrgName(f)} ${f.helpers.arrayElement(country.suffixes)}`;
    }
    let label = domainLabel(org);
    let domain = `${label}.${country.tld}`;
    for (let k = 2; usedDomains.has(domain); k++) domain = `${label}${k}.${country.tld}`;
    usedDomains.add(domain);
    label = domain.split(".")[0] as string;

    const first = f.person.firstName();
    const last = f.person.lastName();
    const publicEmail = f.number.float({ min: 0, max: 1 }) < 0.12;
    const local = `${first}.${last}`
      .toLowerCase()
      .normalize("NFD")
      .replace(/[^a-z.]/g, "");
    let email = publicEmail
      ? `${local}${f.number.int({ min: 1, max: 99 })}@${f.helpers.arrayElement(PUBLIC_EMAIL_DOMAINS)}`
      : `${local}@${domain}`;
    for (let k = 2; usedEmails.has(email); k++) email = email.replace("@", `${k}@`);
    usedEmails.add(email);

    const [city, state] = f.helpers.arrayElement(country.cities);
    const createTime = now - f.number.int({ min: 30, max: 1400 }) * DAY_MS - f.number.int({ min: 0, max: DAY_MS - 1 });
    const updateTime = Math.min(now - 1000, createTime + f.number.int({ min: 0, max: 200 }) * DAY_MS);
    const hasTenant = f.number.float({ min: 0, max: 1 }) < 0.88;
    const cloudProfiles: SimCloudProfile[] = hasTenant
      ? [
          {
            providerId: MICROSOFT_PROVIDER_ID,
            displayName: "Microsoft",
            shortName: "AZURE",
            enabled: true,
            customerTenantId: seededGuid(customerRandom),
            customerDomain: `${label.slice(0, 27)}.onmicrosoft.com`,
            allowDelegatedAccess: true,
            gdapStatus: f.helpers.arrayElement(["ACTIVE", "ACTIVE", "ACTIVE", "PENDING"]),
            gdapLevel: "DEFAULT",
            gdapRoles: ["Directory Readers", "License Administrator", "User Administrator"],
            agreementStatus: "ACCEPTED",
          },
        ]
      : [];
    const id = String(customerId);
    customerId += f.number.int({ min: 1, max: 4 });
    const customer: SimCustomer = {
      id,
      customerOrganization: org,
      customerAddress: {
        street: f.location.streetAddress(),
        ...(f.number.float({ min: 0, max: 1 }) < 0.25 ? { suite: `Suite ${f.number.int({ min: 100, max: 999 })}` } : {}),
        city,
        state,
        zip: country.postal(f),
        country: country.code,
      },
      customerName: `${first} ${last}`,
      customerEmail: email,
      customerTitle: f.helpers.arrayElement(TITLES),
      customerPhone: country.phone(f),
      languageCode: f.number.float({ min: 0, max: 1 }) < 0.1 ? country.language.toLowerCase() : country.language,
      customerStatus: f.number.float({ min: 0, max: 1 }) < 0.04 ? "INACTIVE" : "ACTIVE",
      uid: String(500_000 + i * 7 + f.number.int({ min: 0, max: 6 })),
      createTime,
      updateTime,
      customerDomain: domain,
      cloudProfiles,
    };
    customers.push(customer);

    const count = subscriptionCountFor(fs, i, options.customers, options.subscriptionsPerCustomer, pairDelta);
    for (let s = 0; s < count; s++) {
      const entry = fs.helpers.weightedArrayElement(entries);
      const sub = generateSubscription(fs, subscriptionRandom, String(subscriptionId), customer, entry, now, options.currency, s);
      subscriptionId += fs.number.int({ min: 1, max: 9 });
      subscriptions.push(sub);
    }
  }
  return { customers, subscriptions, partnerName: "Contoso Cloud Reseller", nearDuplicates };
}

function generateSubscription(
  f: Faker,
  random: () => number,
  id: string,
  customer: SimCustomer,
  entry: CatalogEntry,
  now: number,
  currency: string,
  ordinal: number,
): SimSubscription {
  const { sku, plan } = entry;
  const usage = sku.usageBased;
  // ~15% bought in the last 10 days (cancellation window may still be open), the rest up to 3 years ago.
  const recent = f.number.float({ min: 0, max: 1 }) < 0.15;
  const earliest = Math.max(customer.createTime, now - 3 * 365 * DAY_MS);
  const purchasedAt = recent
    ? now - f.number.int({ min: 1, max: 10 * 24 }) * 3_600_000
    : f.number.int({ min: Math.min(earliest, now - 11 * DAY_MS), max: now - 11 * DAY_MS });
  const months = termMonths(plan);
  const term = usage ? { index: 0, start: purchasedAt, end: purchasedAt } : currentTerm(purchasedAt, plan.billingTerm, now);
  const k = term.index;
  const start = term.start;
  const end = term.end;
  const renewals: number[] = [];
  for (let j = Math.max(1, k - 2); j <= k; j++) renewals.push(addMonths(purchasedAt, j * months));
  const roll = f.number.float({ min: 0, max: 1 });
  const status = roll < 0.85 ? "active" : roll < 0.92 ? "suspended" : "cancelled";
  const autoRenew = usage ? true : f.number.float({ min: 0, max: 1 }) >= 0.15;
  const quantity = usage
    ? 1
    : f.helpers.weightedArrayElement([
        { weight: 50, value: f.number.int({ min: 1, max: 10 }) },
        { weight: 35, value: f.number.int({ min: 11, max: 50 }) },
        { weight: 12, value: f.number.int({ min: 51, max: 250 }) },
        { weight: 3, value: f.number.int({ min: 251, max: 1500 }) },
      ]);
  const msrp = priceIn(currency, plan.usdPrice);
  const cost = Math.round(msrp * 0.88 * 10000) / 10000;
  let lastUpdated = Math.max(purchasedAt + 5000, renewals[renewals.length - 1] ?? 0);
  let statusChange: { at: number; status: string } | undefined;
  if (status !== "active") {
    const at = Math.min(now - 60_000, Math.max(start, lastUpdated) + f.number.int({ min: 1, max: 20 }) * 3_600_000);
    statusChange = { at, status };
    lastUpdated = at;
  }
  const friendly =
    f.number.float({ min: 0, max: 1 }) < 0.2
      ? ` - ${f.helpers.arrayElement(FRIENDLY_NAMES)}`
      : ordinal > 0 && f.number.float({ min: 0, max: 1 }) < 0.05
        ? ` (${ordinal + 1})`
        : "";
  return {
    id,
    customerId: customer.id,
    subscriptionId: seededGuid(random),
    subscriptionName: `${sku.displayName}${friendly}`,
    ccpProductId: entry.product.id,
    ccpSkuId: sku.id,
    ccpPlanId: plan.id,
    quantity,
    status,
    autoRenew,
    purchasedAt,
    termStart: start,
    termEnd: end,
    cancellationAllowedUntil: (usage ? purchasedAt : start) + CANCELLATION_WINDOW_MS,
    billingCycle: plan.billingCycle,
    billingTerm: plan.billingTerm,
    unitPrice: msrp,
    unitCost: cost,
    unitMsrp: msrp,
    currency,
    ...(f.number.float({ min: 0, max: 1 }) < 0.4 ? { resellerPO: `RPO-${f.string.numeric(9)}` } : {}),
    ...(f.number.float({ min: 0, max: 1 }) < 0.2 ? { customerPO: `PO-${f.string.numeric(6)}` } : {}),
    isTrial: false,
    lastUpdated,
    // The seeded history is rendered on demand (historyActivity): 50,000 stored logs would cost ~70 MB.
    activity: [],
    history: { quantity, termStart: start, ...(statusChange ? { statusChange } : {}) },
  };
}

/**
 * An account row a reseller would already have in Work 365 (Dataverse `account`). A type alias, not an
 * interface, so rows pass as Record<string, unknown> bodies to a Dataverse client.
 */
export type CrmAccount = {
  name: string;
  w365_primarydomain?: string;
  w365_microsofttenantid?: string;
  emailaddress1?: string;
  address1_postalcode?: string;
  address1_country?: string;
  websiteurl?: string;
  telephone1?: string;
};

export type CrmMatchKind = "tenant" | "domain" | "name-typo" | "name-suffix" | "ambiguous" | "email-domain" | "unrelated";

export type CrmAccountWithTruth = CrmAccount & {
  /** Why this row exists, and the Ion customer id it corresponds to (absent for unrelated rows). */
  truth: { kind: CrmMatchKind; ionCustomerId?: string };
};

export interface CrmAccountOptions {
  startTime?: number;
  subscriptionsPerCustomer?: number;
  accountId?: string;
  country?: string;
  currency?: string;
  /** Keep the `truth` annotation on each row (default false: plain Dataverse rows). */
  withTruth?: boolean;
}

/**
 * The existing Work 365 accounts for the dataset of (seed, customers). Mix, by Ion customer index
 * modulo 20 (deterministic):
 * - 0..4 tenant: same tenant id (name may be written differently);
 * - 5..7 domain: same primary domain, the name abbreviated;
 * - 8..9 name-typo: name with a typo / "&"↔"and" / punctuation, postal code and country equal;
 * - 10..11 name-suffix: same name with a different or no legal suffix;
 * - 12 ambiguous: two similar accounts (same name core, different suffix/city), no tenant or domain;
 * - 13 email-domain: only the contact email's domain (website) links them;
 * - 14..19: no existing account (the connector should create one);
 * plus one unrelated account per 10 customers (at least 3).
 */
export function generateCrmAccounts(seed: number, customers: number, options: CrmAccountOptions = {}): CrmAccount[] {
  const data = generateDataset({
    seed,
    customers,
    subscriptionsPerCustomer: 0,
    accountId: options.accountId ?? "1000123",
    startTime: options.startTime ?? DEFAULT_START_TIME,
    country: options.country ?? "US",
    currency: options.currency ?? "USD",
  });
  const f = newFaker(seed * 7919 + 17);
  const rows: CrmAccountWithTruth[] = [];
  data.customers.forEach((c, i) => {
    const core = stripLegalSuffix(c.customerOrganization);
    const country = COUNTRIES[c.customerAddress.country] ?? (COUNTRIES.US as CountryProfile);
    const tenant = c.cloudProfiles[0]?.customerTenantId;
    const domain = c.customerDomain;
    const website = domain ? `https://www.${domain}` : undefined;
    const bucket = i % 20;
    const id = c.id;
    if (bucket <= 4 && tenant) {
      rows.push({
        name: bucket % 2 === 0 ? c.customerOrganization : core,
        w365_microsofttenantid: tenant,
        w365_primarydomain: bucket === 0 ? domain : undefined,
        address1_country: c.customerAddress.country,
        truth: { kind: "tenant", ionCustomerId: id },
      });
    } else if (bucket <= 7) {
      const words = core.split(/\s+/);
      const shortName = words.length > 1 ? words.slice(0, -1).join(" ") : core;
      rows.push({
        name: shortName,
        w365_primarydomain: domain,
        websiteurl: website,
        address1_postalcode: c.customerAddress.zip,
        truth: { kind: "domain", ionCustomerId: id },
      });
    } else if (bucket <= 9) {
      rows.push({
        name: nearDuplicateName(f, c.customerOrganization, country),
        address1_postalcode: c.customerAddress.zip,
        address1_country: c.customerAddress.country,
        telephone1: c.customerPhone,
        truth: { kind: "name-typo", ionCustomerId: id },
      });
    } else if (bucket <= 11) {
      const other = country.suffixes.find((s) => !c.customerOrganization.endsWith(s));
      rows.push({
        name: bucket === 10 || !other ? core : `${core} ${other}`,
        address1_country: c.customerAddress.country,
        address1_postalcode: c.customerAddress.zip,
        truth: { kind: "name-suffix", ionCustomerId: id },
      });
    } else if (bucket === 12) {
      const [city2] = f.helpers.arrayElement(country.cities);
      rows.push({
        name: c.customerOrganization,
        address1_country: c.customerAddress.country,
        truth: { kind: "ambiguous", ionCustomerId: id },
      });
      rows.push({
        name: `${core} ${f.helpers.arrayElement(["Holdings", "Group", "Services"])} ${country.suffixes[0] ?? ""}`.trim(),
        address1_country: c.customerAddress.country,
        address1_postalcode: country.postal(f),
        websiteurl: `https://www.${domainLabel(core)}-${city2.toLowerCase().replace(/[^a-z]/g, "")}.${country.tld}`,
        truth: { kind: "ambiguous", ionCustomerId: id },
      });
    } else if (bucket === 13 && domain && c.customerEmail.endsWith("@" + domain)) {
      rows.push({
        name: `${core.split(/\s+/)[0] ?? core} ${f.helpers.arrayElement(["Group", "Co", "Team"])}`,
        emailaddress1: `accounts@${domain}`,
        websiteurl: website,
        truth: { kind: "email-domain", ionCustomerId: id },
      });
    }
  });
  const unrelated = Math.max(3, Math.floor(customers / 10));
  const unrelatedFaker = newFaker(seed * 104729 + 3);
  for (let k = 0; k < unrelated; k++) {
    const country = COUNTRIES[unrelatedFaker.helpers.arrayElement(Object.keys(COUNTRIES))] ?? (COUNTRIES.US as CountryProfile);
    const name = `${unrelatedFaker.helpers.arrayElement(PLACE_WORDS)} ${unrelatedFaker.person.lastName()} ${unrelatedFaker.helpers.arrayElement(["Bakery", "Studios", "Motors", "Optics", "Gardens", "Fitness", "Printing"])} ${unrelatedFaker.helpers.arrayElement(country.suffixes)}`;
    const d = `${domainLabel(name)}-${k}.${country.tld}`;
    rows.push({
      name,
      w365_primarydomain: d,
      websiteurl: `https://${d}`,
      emailaddress1: `info@${d}`,
      address1_country: country.code,
      address1_postalcode: country.postal(unrelatedFaker),
      truth: { kind: "unrelated" },
    });
  }
  // Interleave deterministically so matches and non-matches are not grouped.
  const ordered = rows
    .map((r, i) => ({ r, k: (i * 7919) % (rows.length + 1) }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.r);
  return ordered.map((r) => {
    const clean = Object.fromEntries(Object.entries(r).filter(([k, v]) => v !== undefined && (options.withTruth || k !== "truth")));
    return clean as unknown as CrmAccount;
  });
}
