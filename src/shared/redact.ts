/**
 * Secret hygiene. Every secret the process learns (refresh/access tokens, API secret, webhook key,
 * client secret) is registered here the moment it is read, and every log line, error message and
 * run report passes through `redact` before it leaves the process.
 */
const secrets = new Set<string>();
const MIN_SECRET_LENGTH = 6;

export function registerSecret(value: string | undefined | null): void {
  if (typeof value === "string" && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

export function forgetSecrets(): void {
  secrets.clear();
}

const SENSITIVE_KEY = /(token|secret|password|authorization|apikey|api_key|authvalue|code|key)$/i;
/** Field names whose values are always masked in objects, whatever the value. */
const ALWAYS_MASKED =
  /^(refresh_?token|access_?token|w365_refreshtoken|w365_apisecret|api_?secret|password|authorization|authvalue|client_?secret|x-functions-key)$/i;

export const REDACTED = "[REDACTED]";

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  // Bearer tokens and Basic credentials in stray header dumps.
  out = out.replace(/(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`);
  // code=... in URLs (Azure Functions keys).
  out = out.replace(/([?&]code=)[^&\s"']+/g, `$1${REDACTED}`);
  return out;
}

/** Deep copy of a value with secret-looking fields masked and registered secrets removed. */
export function redactValue<T>(value: T, depth = 0): T {
  if (depth > 20) return value;
  if (typeof value === "string") return redact(value) as unknown as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1)) as unknown as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = ALWAYS_MASKED.test(k) && v !== null && v !== undefined && v !== "" ? REDACTED : redactValue(v, depth + 1);
    }
    return out as T;
  }
  return value;
}

export function isSensitiveKey(key: string): boolean {
  return ALWAYS_MASKED.test(key) || SENSITIVE_KEY.test(key);
}
