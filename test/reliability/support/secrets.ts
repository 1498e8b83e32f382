/**
 * Look for every secret the simulator/emulator issued (refresh and access tokens, the
 * API secret, Dataverse bearer tokens, the webhook key) in texts the suite produced: log lines,
 * errors, run reports, CLI output and artifacts. The scan is plain substring search plus two encodings
 * a leak could take (URL-encoded, base64 of the secret), so a secret that slipped through redaction in
 * any of those forms is found.
 */
export interface SecretFinding {
  source: string;
  /** Never the secret itself: its length and a 4-character prefix, enough to tell which one. */
  secret: string;
  encoding: "plain" | "url" | "base64";
}

export function describeSecret(s: string): string {
  return `${s.slice(0, 4)}… (${s.length} chars)`;
}

export function scanForSecrets(secrets: Iterable<string>, texts: Record<string, string>): SecretFinding[] {
  const findings: SecretFinding[] = [];
  for (const secret of new Set(secrets)) {
    if (!secret || secret.length < 8) continue;
    const forms: [SecretFinding["encoding"], string][] = [
      ["plain", secret],
      ["url", encodeURIComponent(secret)],
      ["base64", Buffer.from(secret).toString("base64")],
    ];
    for (const [source, text] of Object.entries(texts)) {
      for (const [encoding, form] of forms) {
        if (text.includes(form)) {
          findings.push({ source, secret: describeSecret(secret), encoding });
          break;
        }
      }
    }
  }
  return findings;
}
