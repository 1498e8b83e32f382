/**
 * Fixture catalog: Microsoft NCE offers as StreamOne Ion lists them (ccp product → skus → plans).
 * Shapes follow docs/platform/ion-api.md §4.5 and real (masked) subscription payloads: ccp ids such as
 * "Microsoft-365-Business-Basic-n1" / "Monthly-n12", Microsoft product ids such as CFQ7TTC0LH18 and
 * part numbers "CFQ7TTC0LH18:0001:P1M:M". List prices are in USD per licence per month and are
 * converted to the account currency with a fixed rate table.
 */
import type { BillingCycle, BillingTerm } from "./types";

export const MICROSOFT_PROVIDER_ID = "30";
export const MICROSOFT_PROVIDER_NAME = "AZURE";

export interface CatalogPlan {
  id: string;
  displayName: string;
  billingPeriod: "MONTHLY" | "ANNUAL";
  billingCycle: BillingCycle;
  billingTerm: BillingTerm;
  /** Part number, e.g. CFQ7TTC0LH18:0001:P1Y:M. */
  mfgPartNumber: string;
  /** USD list price per licence per billing cycle. */
  usdPrice: number;
}

export interface CatalogSku {
  id: string;
  displayName: string;
  description: string;
  /** Microsoft product id, e.g. CFQ7TTC0LH18. */
  msProductId: string;
  msSkuId: string;
  plans: CatalogPlan[];
  /** Usage-based (Azure plan): no seats, end date equals start date. */
  usageBased: boolean;
  /** Relative popularity for generated data. */
  weight: number;
}

export interface CatalogProduct {
  id: string;
  displayName: string;
  description: string;
  category: string;
  skus: CatalogSku[];
}

interface SkuSeed {
  name: string;
  ms: string;
  usdMonthly: number;
  weight: number;
  usage?: boolean;
}

const M365: SkuSeed[] = [
  { name: "Microsoft 365 Business Basic", ms: "CFQ7TTC0LH18", usdMonthly: 7.2, weight: 14 },
  { name: "Microsoft 365 Business Standard", ms: "CFQ7TTC0LDPB", usdMonthly: 15.0, weight: 16 },
  { name: "Microsoft 365 Business Premium", ms: "CFQ7TTC0LCHC", usdMonthly: 26.4, weight: 14 },
  { name: "Microsoft 365 Apps for business", ms: "CFQ7TTC0LH1G", usdMonthly: 9.9, weight: 5 },
  { name: "Microsoft 365 E3", ms: "CFQ7TTC0LFLX", usdMonthly: 43.2, weight: 6 },
  { name: "Microsoft 365 E5", ms: "CFQ7TTC0LFLZ", usdMonthly: 68.4, weight: 3 },
  { name: "Microsoft 365 F3", ms: "CFQ7TTC0LGZW", usdMonthly: 9.6, weight: 3 },
];
const O365: SkuSeed[] = [
  { name: "Office 365 E1", ms: "CFQ7TTC0LF8Q", usdMonthly: 12.0, weight: 5 },
  { name: "Office 365 E3", ms: "CFQ7TTC0LF8R", usdMonthly: 27.6, weight: 6 },
  { name: "Office 365 E5", ms: "CFQ7TTC0LF8S", usdMonthly: 45.6, weight: 2 },
  { name: "Exchange Online (Plan 1)", ms: "CFQ7TTC0LH16", usdMonthly: 4.8, weight: 8 },
  { name: "Exchange Online (Plan 2)", ms: "CFQ7TTC0LH0R", usdMonthly: 9.6, weight: 2 },
];
const ADDONS: SkuSeed[] = [
  { name: "Power BI Pro", ms: "CFQ7TTC0L3PB", usdMonthly: 16.8, weight: 5 },
  { name: "Visio Plan 2", ms: "CFQ7TTC0HD33", usdMonthly: 18.0, weight: 2 },
  { name: "Project Plan 3", ms: "CFQ7TTC0HDN1", usdMonthly: 36.0, weight: 2 },
  { name: "Microsoft Defender for Business", ms: "CFQ7TTC0HCN4", usdMonthly: 3.6, weight: 3 },
  { name: "Microsoft Teams Essentials", ms: "CFQ7TTC0RQN4", usdMonthly: 4.8, weight: 3 },
];
const AZURE: SkuSeed[] = [{ name: "Azure Plan", ms: "DZH318Z0BPS6", usdMonthly: 0, weight: 4, usage: true }];

function slug(name: string): string {
  return name
    .replace(/[()]/g, "")
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/-+$/, "");
}

function buildProduct(
  id: string,
  displayName: string,
  description: string,
  category: string,
  seeds: SkuSeed[],
  counter: { n: number },
): CatalogProduct {
  const skus = seeds.map((s, i): CatalogSku => {
    const skuId = `${slug(s.name)}-n${i + 1}`;
    const msSkuId = "0001";
    const plans: CatalogPlan[] = s.usage
      ? [
          {
            id: `Azure-Plan-n${++counter.n}`,
            displayName: "Monthly",
            billingPeriod: "MONTHLY",
            billingCycle: "monthly",
            billingTerm: "P1M",
            mfgPartNumber: `${s.ms}:${msSkuId}`,
            usdPrice: 0,
          },
        ]
      : [
          {
            id: `Monthly-n${++counter.n}`,
            displayName: `${s.name} (monthly)`,
            billingPeriod: "MONTHLY",
            billingCycle: "monthly",
            billingTerm: "P1M",
            mfgPartNumber: `${s.ms}:${msSkuId}:P1M:M`,
            usdPrice: round2(s.usdMonthly * 1.2),
          },
          {
            id: `Annual-Monthly-n${++counter.n}`,
            displayName: `${s.name} (annual, billed monthly)`,
            billingPeriod: "MONTHLY",
            billingCycle: "monthly",
            billingTerm: "P1Y",
            mfgPartNumber: `${s.ms}:${msSkuId}:P1Y:M`,
            usdPrice: s.usdMonthly,
          },
          {
            id: `Annual-n${++counter.n}`,
            displayName: `${s.name} (annual)`,
            billingPeriod: "ANNUAL",
            billingCycle: "annual",
            billingTerm: "P1Y",
            mfgPartNumber: `${s.ms}:${msSkuId}:P1Y:Y`,
            usdPrice: round2(s.usdMonthly * 12),
          },
        ];
    return {
      id: skuId,
      displayName: s.name,
      description: `${s.name} (NCE)`,
      msProductId: s.ms,
      msSkuId,
      plans,
      usageBased: s.usage === true,
      weight: s.weight,
    };
  });
  return { id, displayName, description, category, skus };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function buildCatalog(): CatalogProduct[] {
  const counter = { n: 0 };
  return [
    buildProduct(
      "Microsoft365NCE--nce",
      "Microsoft 365 NCE",
      "Microsoft 365 suites on the New Commerce Experience",
      "Productivity",
      M365,
      counter,
    ),
    buildProduct(
      "Office365NCE--nce",
      "Office 365 NCE",
      "Office 365 and Exchange Online on the New Commerce Experience",
      "Productivity",
      O365,
      counter,
    ),
    buildProduct(
      "MicrosoftAddOnsNCE--nce",
      "Microsoft Add-ons NCE",
      "Power BI, Visio, Project, Defender and Teams add-ons",
      "Add-ons",
      ADDONS,
      counter,
    ),
    buildProduct("MSAZURE--nce", "Microsoft Azure Plan", "Pay-as-you-go Azure consumption", "Infrastructure", AZURE, counter),
  ];
}

export const CATALOG: readonly CatalogProduct[] = buildCatalog();

export interface CatalogEntry {
  product: CatalogProduct;
  sku: CatalogSku;
  plan: CatalogPlan;
}

const byKey = new Map<string, CatalogEntry>();
for (const product of CATALOG)
  for (const sku of product.skus) for (const plan of sku.plans) byKey.set(`${product.id}|${sku.id}|${plan.id}`, { product, sku, plan });

/** The catalog entry for a ccp (product, sku, plan) triple. */
export function findCatalogEntry(productId: string, skuId: string, planId: string): CatalogEntry | undefined {
  return byKey.get(`${productId}|${skuId}|${planId}`);
}

export function findProduct(productId: string): CatalogProduct | undefined {
  return CATALOG.find((p) => p.id === productId);
}

/** Every (product, sku, plan) triple, in catalog order. */
export function catalogEntries(): CatalogEntry[] {
  return [...byKey.values()];
}

/** Fixed FX rates from USD, so prices are deterministic. */
const USD_RATES: Record<string, number> = {
  USD: 1,
  EUR: 0.92,
  GBP: 0.79,
  AUD: 1.52,
  CAD: 1.36,
  NZD: 1.65,
  SEK: 10.6,
  CHF: 0.88,
  JPY: 150,
  INR: 83,
  SGD: 1.34,
  ZAR: 18.5,
};

export function isSupportedCurrency(code: string): boolean {
  return code in USD_RATES;
}

/** Converts a USD list price into the account currency (4 decimals, as Ion's samples carry long decimals). */
export function priceIn(currency: string, usd: number): number {
  const rate = USD_RATES[currency] ?? 1;
  return Math.round(usd * rate * 10000) / 10000;
}
