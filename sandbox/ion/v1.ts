/**
 * The legacy v1 API (docs/platform/ion-api.md §1): HTTP Basic with API Key / API Secret, JSON by default or XML by
 * Accept, filters as `filter[FIELD:modifier]=value`. Customers (being retired: "Deprecated soon" in TD
 * SYNNEX's Python SDK README) and the reseller's own invoices, which stay (v3 has no invoicing) and
 * which the connector reads to check the key and secret: `GET /api/v1/invoices/myinvoices?limit=1&offset=0`
 * (https://github.com/techdata-cloudautomation/StreamOneIonSDKPython, StreamOneSDK/v1/billing/billing.py).
 */
import { timingSafeEqual } from "node:crypto";

import type { HandlerResult } from "./oauth";
import type { IonStore } from "./store";
import type { SimCustomer } from "./types";

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function checkBasic(header: string | undefined, apiKey: string, apiSecret: string): boolean {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!m) return false;
  const decoded = Buffer.from(m[1] as string, "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) return false;
  // Both compared even if the first fails, so timing does not reveal which one was wrong.
  const keyOk = safeEqual(decoded.slice(0, i), apiKey);
  const secretOk = safeEqual(decoded.slice(i + 1), apiSecret);
  return keyOk && secretOk;
}

export function v1Unauthorized(): HandlerResult {
  return {
    status: 401,
    body: { error: "Unauthorized", message: "Invalid API key or API secret", code: 401 },
    headers: { "www-authenticate": 'Basic realm="StreamOne Ion API v1"' },
  };
}

function v1Customer(c: SimCustomer): Record<string, string> {
  return {
    id: c.id,
    name: c.customerOrganization,
    contact_name: c.customerName,
    email: c.customerEmail,
    status: c.customerStatus.toLowerCase(),
    country: c.customerAddress.country,
    city: c.customerAddress.city,
    postal_code: c.customerAddress.zip,
    created_at: new Date(c.createTime).toISOString(),
    updated_at: new Date(c.updateTime).toISOString(),
  };
}

const FILTER = /^filter\[([a-z_]+)(?::([a-z]+))?\]$/;

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function toXml(root: string, value: unknown): string {
  if (Array.isArray(value)) return `<${root}>${value.map((v) => toXml(root.replace(/s$/, ""), v)).join("")}</${root}>`;
  if (value && typeof value === "object")
    return `<${root}>${Object.entries(value)
      .map(([k, v]) => toXml(k, v))
      .join("")}</${root}>`;
  return `<${root}>${xmlEscape(String(value))}</${root}>`;
}

function respond(accept: string | undefined, body: Record<string, unknown>): HandlerResult {
  if (accept && /xml/i.test(accept) && !/json/i.test(accept)) {
    return {
      status: 200,
      body: undefined,
      text: `<?xml version="1.0" encoding="UTF-8"?>${toXml("response", body)}`,
      headers: { "content-type": "application/xml; charset=utf-8" },
    };
  }
  return { status: 200, body };
}

export function v1ListCustomers(store: IonStore, params: URLSearchParams, accept: string | undefined): HandlerResult {
  const limitRaw = Number(params.get("limit") ?? 25);
  const offsetRaw = Number(params.get("offset") ?? 0);
  if (!Number.isInteger(limitRaw) || limitRaw < 0 || !Number.isInteger(offsetRaw) || offsetRaw < 0) {
    return { status: 400, body: { error: "Bad Request", message: "limit and offset must be non-negative integers", code: 400 } };
  }
  const limit = Math.min(limitRaw || 25, 100);
  const filters: Array<{ field: string; op: string; value: string }> = [];
  for (const [k, v] of params) {
    const m = FILTER.exec(k);
    if (m) filters.push({ field: m[1] as string, op: m[2] ?? "eq", value: v.toLowerCase() });
  }
  let items = store.customerList.map(v1Customer);
  for (const f of filters) {
    items = items.filter((c) => {
      const actual = (c[f.field] ?? "").toLowerCase();
      if (f.op === "contains" || f.op === "like") return actual.includes(f.value);
      if (f.op === "ne") return actual !== f.value;
      return actual === f.value;
    });
  }
  return respond(accept, { customers: items.slice(offsetRaw, offsetRaw + limit), total: items.length, limit, offset: offsetRaw });
}

export function v1GetCustomer(store: IonStore, id: string, accept: string | undefined): HandlerResult {
  const c = store.customers.get(id);
  if (!c) return { status: 404, body: { error: "Not Found", message: `customer ${id} not found`, code: 404 } };
  return respond(accept, { customer: v1Customer(c) });
}

/**
 * The reseller's invoices. No public sample shows the body, so the simulator answers an empty page in
 * the customers list's shape (INFERRED); the connector reads only the status.
 */
export function v1ListMyInvoices(params: URLSearchParams, accept: string | undefined): HandlerResult {
  const limit = Number(params.get("limit") ?? 100);
  const offset = Number(params.get("offset") ?? 0);
  if (!Number.isInteger(limit) || limit < 0 || !Number.isInteger(offset) || offset < 0) {
    return { status: 400, body: { error: "Bad Request", message: "limit and offset must be non-negative integers", code: 400 } };
  }
  return respond(accept, { invoices: [], total: 0, limit, offset });
}
