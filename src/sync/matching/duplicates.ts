/**
 * The message a refused "create new account" carries. A webhook step cannot set a custom API's response, so the
 * likely duplicates reach the caller only inside the step's error message; it is written for admins and read back
 * by the mapping page with `parseLikelyDuplicates`. Each account ends with its id in brackets, which is what makes
 * the list readable back even when a name or a reason contains parentheses, commas or semicolons.
 */

export interface LikelyDuplicate {
  readonly accountId: string;
  readonly accountName: string;
  readonly score: number;
  readonly reasons: readonly string[];
}

const PREFIX = "No account was created: ";
const SUFFIX = ". Map to one of them, or create anyway.";
const GUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

export function likelyDuplicatesMessage(customerName: string, candidates: readonly LikelyDuplicate[]): string {
  const list = candidates.map((c) => `${c.accountName} (${c.score.toFixed(2)}: ${c.reasons.join(", ")}) [${c.accountId}]`).join("; ");
  return `${PREFIX}${candidates.length} existing account(s) look like ${customerName}: ${list}${SUFFIX}`;
}

/**
 * The accounts listed by `likelyDuplicatesMessage`, or undefined when `message` is not such a message (any other
 * failure). `customerName` is the provider account's name as the engine wrote it (w365_name).
 */
export function parseLikelyDuplicates(message: string, customerName: string): LikelyDuplicate[] | undefined {
  const at = message.indexOf(PREFIX);
  const end = message.lastIndexOf(SUFFIX);
  if (at < 0 || end < 0) return undefined;
  const head = new RegExp(`^(\\d+) existing account\\(s\\) look like `).exec(message.slice(at + PREFIX.length));
  if (!head) return undefined;
  let rest = message.slice(at + PREFIX.length + head[0].length, end);
  // The customer's own name may contain ": ", so it is skipped by its known text; the first ": " otherwise.
  const named = `${customerName}: `;
  rest = rest.startsWith(named) ? rest.slice(named.length) : rest.slice(rest.indexOf(": ") + 2);
  const entry = new RegExp(`^(.*?) \\((\\d+(?:\\.\\d+)?): (.*?)\\) \\[(${GUID})\\](?:; |$)`, "s");
  const found: LikelyDuplicate[] = [];
  while (rest.length > 0) {
    const m = entry.exec(rest);
    if (!m) return undefined;
    found.push({
      accountName: m[1] ?? "",
      score: Number(m[2]),
      reasons: (m[3] ?? "").split(", ").filter(Boolean),
      accountId: (m[4] ?? "").toLowerCase(),
    });
    rest = rest.slice(m[0].length);
  }
  return found.length === Number(head[1]) ? found : undefined;
}
