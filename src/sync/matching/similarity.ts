/**
 * String similarity for organisation names. Jaro-Winkler rewards a shared prefix (typos late in a
 * name); optimal-string-alignment Damerau-Levenshtein counts a swapped pair of letters as one edit.
 */

let matrix = new Int32Array(1024);

export function damerauLevenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  const rows = a.length + 1;
  const cols = b.length + 1;
  // One reused matrix: the scorer calls this tens of thousands of times per sync; every cell
  // read below is written earlier in the same call.
  if (matrix.length < rows * cols) matrix = new Int32Array(rows * cols * 2);
  const d = matrix;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * `damerauLevenshtein(a, b)` when it is at most `maxDistance`, else some value above it. Only the
 * diagonal band |i - j| <= maxDistance is computed (a cell off it costs more than that to reach), so
 * near-equal names cost a few cells per letter instead of the whole matrix.
 */
export function damerauLevenshteinWithin(a: string, b: string, maxDistance: number): number {
  if (a === b) return 0;
  const over = maxDistance + 1;
  if (Math.abs(a.length - b.length) > maxDistance) return over;
  if (a.length === 0 || b.length === 0) return Math.max(a.length, b.length);
  const rows = a.length + 1;
  const cols = b.length + 1;
  if (matrix.length < rows * cols) matrix = new Int32Array(rows * cols * 2);
  const d = matrix;
  // Row 0, column 0, and one cell each side of every row's band (read by this row and the next) are
  // written before they are read; values of `over` stand for "more than maxDistance".
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  let previousRowMin = 0;
  for (let i = 1; i < rows; i++) {
    const from = Math.max(1, i - maxDistance);
    const to = Math.min(cols - 1, i + maxDistance);
    if (from - 1 >= 1) d[i * cols + from - 1] = over;
    if (to + 1 <= cols - 1) d[i * cols + to + 1] = over;
    let rowMin = over;
    for (let j = from; j <= to; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      if (v > over) v = over;
      d[i * cols + j] = v;
      if (v < rowMin) rowMin = v;
    }
    // Every path to the end enters this row or, by a transposition, jumps it from the row before.
    if (rowMin >= over && previousRowMin >= over) return over;
    previousRowMin = rowMin;
  }
  return d[rows * cols - 1]!;
}

/** 1 - edits / longer length, in 0..1. */
export function editSimilarity(a: string, b: string): number {
  const longer = Math.max(a.length, b.length);
  if (longer === 0) return 1;
  return 1 - damerauLevenshtein(a, b) / longer;
}

/**
 * `editSimilarity(a, b)` when it is at least `floor`, else some value below `floor`: only distances that
 * can pass (`surplusAllowance`, the same arithmetic) are computed exactly.
 */
export function editSimilarityAtLeast(a: string, b: string, floor: number): number {
  const longer = Math.max(a.length, b.length);
  if (longer === 0) return 1;
  const maxDistance = surplusAllowance(a.length, b.length, floor);
  if (maxDistance < 0) return editSimilarity(a, b);
  return 1 - damerauLevenshteinWithin(a, b, maxDistance) / longer;
}

export function jaro(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  const window = Math.max(0, Math.floor(Math.max(a.length, b.length) / 2) - 1);
  const aMatched = new Array<boolean>(a.length).fill(false);
  const bMatched = new Array<boolean>(b.length).fill(false);
  let matches = 0;
  for (let i = 0; i < a.length; i++) {
    const lo = Math.max(0, i - window);
    const hi = Math.min(b.length - 1, i + window);
    for (let j = lo; j <= hi; j++) {
      if (bMatched[j] || a[i] !== b[j]) continue;
      aMatched[i] = true;
      bMatched[j] = true;
      matches++;
      break;
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    if (!aMatched[i]) continue;
    while (!bMatched[k]) k++;
    if (a[i] !== b[k]) transpositions++;
    k++;
  }
  const m = matches;
  return (m / a.length + m / b.length + (m - transpositions / 2) / m) / 3;
}

export function jaroWinkler(a: string, b: string, prefixScale = 0.1): number {
  const j = jaro(a, b);
  let prefix = 0;
  while (prefix < 4 && prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  return j + prefix * prefixScale * (1 - j);
}

/**
 * Similarity of two normalised names (token arrays) in 0..1: the better of the names as written and
 * with their words sorted ("Smith and Jones" vs "Jones and Smith"). The edit-based score is the
 * stricter one, so it dominates: Jaro-Winkler alone rates "Contoso Logistics" close to "Contoso Labs".
 */
export function nameSimilarity(a: string[], b: string[]): number {
  // With no floor nothing is skipped: the exact score.
  return nameSimilarityAtLeast(a, b, 0);
}

/** Letter counts for `editSimilarityUpperBound` (names are normalised to ASCII; others give up the bound). */
const letterCounts = new Int32Array(128);

/**
 * An upper bound of `editSimilarity(x, y)` from the letters alone, in linear time: every edit fixes at
 * most one surplus letter of either side and a transposition keeps the letters, so the distance is at
 * least the larger surplus. Lets the matcher skip the quadratic scores of names that cannot reach the
 * similarity floor (10,000 customers against 12,000 accounts).
 */
export function editSimilarityUpperBound(x: string, y: string): number {
  const longer = Math.max(x.length, y.length);
  if (longer === 0) return 1;
  letterCounts.fill(0);
  for (let i = 0; i < x.length; i++) {
    const c = x.charCodeAt(i);
    if (c >= 128) return 1;
    letterCounts[c]!++;
  }
  for (let i = 0; i < y.length; i++) {
    const c = y.charCodeAt(i);
    if (c >= 128) return 1;
    letterCounts[c]!--;
  }
  let surplusX = 0;
  let surplusY = 0;
  for (let k = 0; k < 128; k++) {
    const v = letterCounts[k]!;
    if (v > 0) surplusX += v;
    else surplusY -= v;
  }
  return 1 - Math.max(surplusX, surplusY) / longer;
}

/** Alphabet slots of normalised names: a-z, 0-9 and space (nameTokens keeps nothing else). */
const SLOTS = 37;
const slotOf = (code: number): number =>
  code >= 97 && code <= 122 ? code - 97 : code >= 48 && code <= 57 ? code - 22 : code === 32 ? 36 : -1;

/**
 * Letter masks of a name: one bit per letter present (digits share five bits; space and other
 * characters have none), and one per letter a-z present at least twice. A bit one name has and the
 * other lacks stands for at least one surplus letter of the first (see `maskSurplus`).
 */
export interface LetterMasks {
  mask: number;
  repeatedMask: number;
}

/**
 * The letters of a normalised name (as written, words joined by spaces), counted once so that
 * `letterBoundReaches` can apply `editSimilarityUpperBound` to thousands of pairs without rescanning
 * either name (each customer meets about 250 candidate accounts).
 */
export interface LetterProfile extends LetterMasks {
  length: number;
  /** Pairs of (alphabet slot, count) for the characters present; undefined when a character is outside a-z, 0-9 and space (no letters bound then). */
  slotCounts?: Int32Array;
}

/** A query's letters spread over the alphabet, compared with many profiles (one per candidate). */
export interface DenseLetters extends LetterMasks {
  length: number;
  /** Count per alphabet slot; undefined when the name has a character outside the alphabet. */
  counts?: Int32Array;
}

export function denseLetters(joined: string): DenseLetters {
  const counts = new Int32Array(SLOTS);
  let outside = false;
  let mask = 0;
  let repeatedMask = 0;
  for (let i = 0; i < joined.length; i++) {
    const slot = slotOf(joined.charCodeAt(i));
    if (slot < 0) {
      outside = true;
      continue;
    }
    if (slot < 26) {
      if (counts[slot]! > 0) repeatedMask |= 1 << slot;
      mask |= 1 << slot;
    } else if (slot < 36) mask |= 1 << (26 + ((slot - 26) % 5));
    counts[slot]!++;
  }
  return outside ? { length: joined.length, mask, repeatedMask } : { length: joined.length, mask, repeatedMask, counts };
}

export function letterProfile(joined: string): LetterProfile {
  const { length, mask, repeatedMask, counts } = denseLetters(joined);
  if (!counts) return { length, mask, repeatedMask };
  const pairs: number[] = [];
  for (let k = 0; k < SLOTS; k++) if (counts[k]! > 0) pairs.push(k, counts[k]!);
  return { length, mask, repeatedMask, slotCounts: Int32Array.from(pairs) };
}

function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/**
 * A lower bound of the larger surplus (see `editSimilarityUpperBound`) from the masks alone, in a few
 * operations. Per letter, "present here, absent there" plus "twice here, under twice there" never
 * exceeds that letter's surplus; a digit bit set on one side only means a digit absent from the other.
 */
export function maskSurplus(x: LetterMasks, yMask: number, yRepeatedMask: number): number {
  const xSurplus = popcount(x.mask & ~yMask) + popcount(x.repeatedMask & ~yRepeatedMask);
  const ySurplus = popcount(yMask & ~x.mask) + popcount(yRepeatedMask & ~x.repeatedMask);
  return Math.max(xSurplus, ySurplus);
}

/**
 * The most surplus letters two names of these lengths can have and still pass
 * `1 - surplus / longer >= floor`, found with that same arithmetic (so comparing integers decides
 * exactly as the bound does); -1 when none can.
 */
export function surplusAllowance(length: number, otherLength: number, floor: number): number {
  const longer = Math.max(length, otherLength);
  let surplus = 0;
  while (surplus <= longer && 1 - surplus / longer >= floor) surplus++;
  return surplus - 1;
}

/**
 * Whether two names may reach `floor` in `nameSimilarityAtLeast`: false only when the length bound or the
 * letters bound (`editSimilarityUpperBound`, computed here from the counts with the same arithmetic) is
 * below it, which are the checks that function makes first for both word orders (sorting keeps length
 * and letters). So the matcher can skip such pairs and decide exactly as if it had scored them.
 */
export function letterBoundReaches(x: DenseLetters, y: LetterProfile, floor: number): boolean {
  const longer = Math.max(x.length, y.length);
  if (longer === 0) return true;
  if (1 - Math.abs(x.length - y.length) / longer < floor) return false;
  // The masks bound first: never above the larger surplus, so it rejects only what the counts would.
  if (1 - maskSurplus(x, y.mask, y.repeatedMask) / longer < floor) return false;
  return 1 - letterSurplus(x, y) / longer >= floor;
}

/**
 * The larger surplus (see `editSimilarityUpperBound`) from the letter counts; 0 (no bound) when either
 * name has a character outside the alphabet.
 */
export function letterSurplus(x: DenseLetters, y: LetterProfile): number {
  const counts = x.counts;
  const pairs = y.slotCounts;
  if (!counts || !pairs) return 0;
  // Surplus of either side = its length - the shared letters; the larger surplus is longer - shared.
  let shared = 0;
  for (let i = 0; i < pairs.length; i += 2) shared += Math.min(counts[pairs[i]!]!, pairs[i + 1]!);
  return Math.max(x.length, y.length) - shared;
}

/** A name's two spellings the scorer compares: words as written and words sorted, joined by spaces. */
export interface NameForms {
  joined: string;
  sorted: string;
}

export function nameForms(tokens: string[]): NameForms {
  return { joined: tokens.join(" "), sorted: [...tokens].sort().join(" ") };
}

/**
 * `nameSimilarity(a, b)` when it is at least `floor`; otherwise some value below `floor` (the scorer
 * only asks whether names reach the floor). Skips the quadratic work for names that cannot: the
 * length and letters bounds first (the same for both word orders), then the edit score before Jaro-Winkler (the
 * combined score never exceeds the edit score).
 */
export function nameSimilarityAtLeast(a: string[], b: string[], floor: number, formsA?: NameForms, formsB?: NameForms): number {
  if (a.length === 0 || b.length === 0) return 0;
  const { joined: x, sorted: xs } = formsA ?? nameForms(a);
  const { joined: y, sorted: ys } = formsB ?? nameForms(b);
  if (x === y) return 1;
  if (xs === ys) return 0.98;
  // Length alone bounds the edit score (1 - length difference / longer length), before any letter is read.
  const longer = Math.max(x.length, y.length);
  const byLength = 1 - Math.abs(x.length - y.length) / longer;
  if (byLength < floor) return byLength;
  const bound = editSimilarityUpperBound(x, y);
  if (bound < floor) return bound;
  const score = (p: string, q: string) => {
    const edit = editSimilarityAtLeast(p, q, floor);
    if (edit < floor) return edit;
    // Weighted toward the edit score; JW only lifts near-misses that edits already rate well.
    return Math.min(edit, jaroWinkler(p, q)) * 0.3 + edit * 0.7;
  };
  const asWritten = score(x, y);
  // Names whose words are already in order: the sorted pair is the same pair (most short names).
  if (xs === x && ys === y) return asWritten;
  return Math.max(asWritten, score(xs, ys));
}
