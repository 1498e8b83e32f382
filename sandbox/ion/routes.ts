/**
 * Route table of the simulated Ion host. Each route's template is also its counter key
 * ("GET /api/v3/accounts/{A}/customers/{C}/cloudProfiles").
 */
export interface RouteMatch {
  template: string;
  params: Record<string, string>;
  /** Method-agnostic path template; set when the path exists for another method. */
  methodNotAllowed?: boolean;
}

export interface RouteDef {
  method: string;
  path: string;
  regex: RegExp;
  names: string[];
}

export const ROUTES: Array<[method: string, path: string]> = [
  ["POST", "/oauth/token"],
  ["POST", "/oauth/validateAccess"],
  ["GET", "/api/v3/accounts/{A}/customers"],
  ["POST", "/api/v3/accounts/{A}/customers"],
  ["GET", "/api/v3/accounts/{A}/customers/{C}"],
  ["PUT", "/api/v3/accounts/{A}/customers/{C}"],
  ["GET", "/api/v3/accounts/{A}/customers/{C}/cloudProfiles"],
  ["GET", "/api/v3/accounts/{A}/customers/{C}/cloudProfile"],
  ["GET", "/api/v3/accounts/{A}/subscriptions"],
  ["GET", "/api/v3/accounts/{A}/customers/{C}/subscriptions/{S}"],
  ["GET", "/api/v3/accounts/{A}/orders"],
  ["GET", "/api/v3/accounts/{A}/customers/{C}/orders"],
  ["POST", "/api/v3/accounts/{A}/customers/{C}/orders"],
  ["GET", "/api/v3/accounts/{A}/customers/{C}/orders/{O}"],
  ["POST", "/api/v3/accounts/{A}/customers/{C}/orders/{O}:cancel"],
  ["GET", "/api/v3/accounts/{A}/products"],
  ["GET", "/api/v3/accounts/{A}/products/{P}"],
  ["GET", "/api/v1/invoices/myinvoices"],
  ["GET", "/api/v1/customers"],
  ["GET", "/api/v1/customers/{C}"],
];

function compile(path: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path
    .split(/(\{[A-Z]\})/)
    .map((part) => {
      const m = /^\{([A-Z])\}$/.exec(part);
      if (m) {
        names.push(m[1] as string);
        return "([^/:]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  return { regex: new RegExp(`^${source}/?$`), names };
}

const COMPILED: RouteDef[] = ROUTES.map(([method, path]) => ({ method, path, ...compile(path) }));

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function matchRoute(method: string, pathname: string): RouteMatch | undefined {
  let pathOnly: RouteMatch | undefined;
  for (const r of COMPILED) {
    const m = r.regex.exec(pathname);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.names.forEach((n, i) => {
      params[n] = safeDecode(m[i + 1] as string);
    });
    if (r.method === method) return { template: `${r.method} ${r.path}`, params };
    pathOnly ??= { template: `${method} ${r.path}`, params, methodNotAllowed: true };
  }
  return pathOnly;
}

/** A counter key for paths no route knows, with numeric segments templated so counters stay small. */
export function unmatchedTemplate(method: string, pathname: string): string {
  return `${method} ${pathname.replace(/\/\d+(?=\/|$)/g, "/{id}")}`;
}

/** snake_case query names → lowerCamel, per dotted segment (§3: both spellings are accepted). */
export function normalizeQueryName(name: string): string {
  return name
    .split(".")
    .map((seg) => seg.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()))
    .join(".");
}

export function normalizeQuery(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of params) out[normalizeQueryName(k)] = v;
  return out;
}
