import { type AccountIndex, type IndexedAccount, type LatinName, latinName } from "./accountIndex";
import { businessEmailDomain, nameTokens, normalizeCountry, normalizePostalCode, normalizeTenantId, organisationDomain } from "./normalize";
import { denseLetters, type NameForms, nameForms, nameSimilarityAtLeast } from "./similarity";
import { AUTO_MAP_MARGIN, AUTO_MAP_THRESHOLD, SUGGEST_THRESHOLD } from "./thresholds";

/**
 * Matching rules (documented in src/sync/README.md). Each matching signal is evidence with a weight;
 * evidence combines as a noisy-OR (1 - Π(1 - w)), contradicting facts multiply the result down.
 */
export const MATCH_WEIGHTS = {
  tenant: 0.97,
  domain: 0.9,
  emailDomain: 0.8,
  exactName: 0.85,
  /** An abbreviated name: every word of the shorter name starts the longer one ("Contoso" / "Contoso Widgets"). */
  shortenedName: 0.5,
  postalCode: 0.6,
  country: 0.2,
} as const;
export const MATCH_PENALTIES = {
  differentTenant: 0.25,
  differentCountry: 0.6,
  differentPostalCode: 0.9,
} as const;
/** A name this similar (0..1) or more counts as evidence; below it, names are treated as different. */
export const NAME_SIMILARITY_FLOOR = 0.85;
export { AUTO_MAP_MARGIN, AUTO_MAP_THRESHOLD, SUGGEST_THRESHOLD } from "./thresholds";
/**
 * The most a candidate scores when its name matches only once transliterated ("Газпром" / "Gazprom") and no tenant
 * or domain backs it: below the auto-map threshold, so such a match is suggested, never mapped.
 */
export const TRANSLITERATED_NAME_CAP = 0.85;

/** The Ion side of a match: a provider account's signals. */
export interface MatchQuery {
  organization?: string | null;
  tenantId?: string | null;
  domain?: string | null;
  email?: string | null;
  postalCode?: string | null;
  country?: string | null;
}

export interface Candidate {
  accountId: string;
  accountName: string;
  score: number;
  reasons: string[];
}

export interface MatchDecision {
  decision: "map" | "suggest" | "none";
  best?: Candidate;
  runnerUp?: Candidate;
  /** Readable reason stored in w365_matchreason. */
  reason: string;
  score: number;
}

interface PreparedQuery {
  tokens: string[];
  forms: NameForms;
  latin?: LatinName;
  tenantId?: string;
  domain?: string;
  emailDomain?: string;
  postalCode?: string;
  country?: string;
}

export function prepareQuery(q: MatchQuery): PreparedQuery {
  const tokens = nameTokens(q.organization);
  const latin = latinName(tokens);
  return {
    tokens,
    forms: nameForms(tokens),
    ...(latin ? { latin } : {}),
    tenantId: normalizeTenantId(q.tenantId),
    domain: organisationDomain(q.domain),
    emailDomain: businessEmailDomain(q.email),
    postalCode: normalizePostalCode(q.postalCode),
    country: normalizeCountry(q.country),
  };
}

/** The shorter name's words are the first words of the longer one (at least one distinctive word). */
export function isShortenedName(a: string[], b: string[]): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  const words = short.filter((t) => t !== "and");
  if (words.length === 0 || short.length === long.length) return false;
  if (words.join("").length < 4) return false;
  return short.every((t, i) => long[i] === t);
}

const round = (n: number, digits = 4) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Score one account against one customer. Undefined when no identifying signal matches at all. */
export function scoreCandidate(q: PreparedQuery, a: IndexedAccount): Candidate | undefined {
  const evidence: number[] = [];
  const reasons: string[] = [];
  let penalty = 1;
  let identifying = false;

  if (q.tenantId && a.tenantId) {
    if (q.tenantId === a.tenantId) {
      evidence.push(MATCH_WEIGHTS.tenant);
      reasons.push("tenant id matches");
      identifying = true;
    } else {
      penalty *= MATCH_PENALTIES.differentTenant;
      reasons.push("different Microsoft tenant");
    }
  }
  if (q.domain && a.domains.includes(q.domain)) {
    evidence.push(MATCH_WEIGHTS.domain);
    reasons.push(`domain matches (${q.domain})`);
    identifying = true;
  } else if (q.emailDomain && a.domains.includes(q.emailDomain)) {
    evidence.push(MATCH_WEIGHTS.emailDomain);
    reasons.push(`contact email domain matches (${q.emailDomain})`);
    identifying = true;
  }
  // Tenant or domain evidence: a transliterated name may then add to it without the cap.
  const identifiedOtherwise = identifying;
  let transliterated = false;
  // Exact at or above the floor; below it only "below" matters (skips most quadratic scores).
  const similarity = nameSimilarityAtLeast(q.tokens, a.tokens, NAME_SIMILARITY_FLOOR, q.forms, a.forms);
  if (similarity >= 1) {
    evidence.push(MATCH_WEIGHTS.exactName);
    reasons.push("name matches");
    identifying = true;
  } else if (similarity >= NAME_SIMILARITY_FLOOR) {
    evidence.push(MATCH_WEIGHTS.exactName * Math.min(1, (similarity - 0.75) / 0.2));
    reasons.push(`name similar (${similarity.toFixed(2)})`);
    identifying = true;
  } else if (transliterable(q, a)) {
    // One name in another script: compare it in Latin letters with the other (a guess, so capped below).
    const x = q.latin ?? q;
    const y = a.latin ?? a;
    const latinSimilarity = nameSimilarityAtLeast(x.tokens, y.tokens, NAME_SIMILARITY_FLOOR, x.forms, y.forms);
    if (latinSimilarity >= NAME_SIMILARITY_FLOOR) {
      evidence.push(MATCH_WEIGHTS.exactName * Math.min(1, (latinSimilarity - 0.75) / 0.2));
      reasons.push(
        latinSimilarity >= 1 ? "name matches when transliterated" : `name similar when transliterated (${latinSimilarity.toFixed(2)})`,
      );
      identifying = true;
      transliterated = true;
    }
  } else if (isShortenedName(q.tokens, a.tokens)) {
    evidence.push(MATCH_WEIGHTS.shortenedName);
    reasons.push("name shortened");
    // Not identifying on its own: "Contoso" starts many names.
  }
  if (!identifying) return undefined;
  if (q.postalCode && a.postalCode) {
    if (q.postalCode === a.postalCode) {
      evidence.push(MATCH_WEIGHTS.postalCode);
      reasons.push("postal code matches");
    } else penalty *= MATCH_PENALTIES.differentPostalCode;
  }
  if (q.country && a.country) {
    if (q.country === a.country) {
      evidence.push(MATCH_WEIGHTS.country);
      reasons.push("country matches");
    } else {
      penalty *= MATCH_PENALTIES.differentCountry;
      reasons.push("different country");
    }
  }
  const combined = 1 - evidence.reduce((acc, w) => acc * (1 - w), 1);
  let score = round(combined * penalty);
  if (transliterated && !identifiedOtherwise && score > TRANSLITERATED_NAME_CAP) {
    score = TRANSLITERATED_NAME_CAP;
    reasons.push("transliterated name: suggested only");
  }
  return { accountId: a.id, accountName: a.name, score, reasons };
}

/** Exactly one of the names is written in a non-Latin script (two such names compare as written). */
export function transliterable(q: { latin?: LatinName }, a: { latin?: LatinName }): boolean {
  return (q.latin === undefined) !== (a.latin === undefined);
}

/** Best candidates for a customer, best first (ties broken by account id for stable results). */
export function rankCandidates(index: AccountIndex, query: MatchQuery, limit = 5): Candidate[] {
  const q = prepareQuery(query);
  const domains = [q.domain, q.emailDomain].filter((d): d is string => Boolean(d));
  const scored: Candidate[] = [];
  // Accounts found by name alone score only when the names reach the similarity floor (a shortened name
  // is not identifying), so the index leaves out those the cheap bounds rule out (~250
  // candidates per customer, ~2 scored). Visiting order does not matter: the sort below is total.
  // A non-Latin query is also compared in its Latin spelling, which its letters do not bound: no name floor then.
  const nameFloor = q.latin ? undefined : { letters: denseLetters(q.forms.joined), floor: NAME_SIMILARITY_FLOOR };
  const candidateQuery = { tenantId: q.tenantId, domains, tokens: q.tokens, latinTokens: q.latin?.tokens, nameFloor };
  index.visitCandidates(candidateQuery, (account) => {
    const c = scoreCandidate(q, account);
    if (c) scored.push(c);
  });
  scored.sort((x, y) => y.score - x.score || (x.accountId < y.accountId ? -1 : x.accountId > y.accountId ? 1 : 0));
  return scored.slice(0, limit);
}

/** Auto-map, suggest or nothing, with the reason an admin reads. */
export function decideMatch(candidates: Candidate[]): MatchDecision {
  const [best, runnerUp] = candidates;
  if (!best || best.score < SUGGEST_THRESHOLD) {
    return {
      decision: "none",
      reason: best ? `no likely match (best: ${best.accountName} ${best.score.toFixed(2)})` : "no likely match",
      score: best?.score ?? 0,
      best: undefined,
    };
  }
  const why = `${best.reasons.join("; ")} (score ${best.score.toFixed(2)})`;
  const close = runnerUp !== undefined && best.score - runnerUp.score < AUTO_MAP_MARGIN;
  if (best.score >= AUTO_MAP_THRESHOLD && !close) {
    return { decision: "map", best, runnerUp, reason: `auto-mapped: ${why}`, score: best.score };
  }
  const tail =
    close && runnerUp
      ? `; runner-up ${runnerUp.accountName} (${runnerUp.score.toFixed(2)}) too close to auto-map`
      : "; below the auto-map threshold";
  return { decision: "suggest", best, runnerUp, reason: `suggested ${best.accountName}: ${why}${tail}`, score: best.score };
}

export function matchCustomer(index: AccountIndex, query: MatchQuery): MatchDecision {
  return decideMatch(rankCandidates(index, query));
}
