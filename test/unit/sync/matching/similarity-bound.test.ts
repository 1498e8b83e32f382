import fc from "fast-check";

import { NAME_SIMILARITY_FLOOR } from "../../../../src/sync/matching/score";
import {
  damerauLevenshtein,
  damerauLevenshteinWithin,
  denseLetters,
  editSimilarity,
  editSimilarityUpperBound,
  jaroWinkler,
  letterBoundReaches,
  letterProfile,
  letterSurplus,
  maskSurplus,
  nameSimilarity,
  nameSimilarityAtLeast,
  surplusAllowance,
} from "../../../../src/sync/matching/similarity";

// Names from a small alphabet, so that near-misses (the interesting cases) are common.
const word = fc.string({ unit: fc.constantFrom("a", "b", "c", "d", "e", "o", "n"), minLength: 1, maxLength: 9 });
const name = fc.array(word, { minLength: 1, maxLength: 4 });

/** The documented score with no shortcut at all (README "name similar"): the reference for the fast paths. */
function referenceNameSimilarity(a: string[], b: string[]): number {
  const x = a.join(" ");
  const y = b.join(" ");
  if (x === y) return 1;
  const xs = [...a].sort().join(" ");
  const ys = [...b].sort().join(" ");
  if (xs === ys) return 0.98;
  const score = (p: string, q: string) => Math.min(editSimilarity(p, q), jaroWinkler(p, q)) * 0.3 + editSimilarity(p, q) * 0.7;
  return Math.max(score(x, y), score(xs, ys));
}

describe("matching shortcuts", () => {
  it("nameSimilarity is the documented score", () => {
    fc.assert(
      fc.property(name, name, (a, b) => {
        expect(nameSimilarity(a, b)).toBe(referenceNameSimilarity(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it("the letters bound never rates two names below their edit similarity", () => {
    fc.assert(
      fc.property(name, name, (a, b) => {
        const x = a.join(" ");
        const y = b.join(" ");
        expect(editSimilarityUpperBound(x, y)).toBeGreaterThanOrEqual(editSimilarity(x, y) - 1e-12);
      }),
      { numRuns: 2000 },
    );
  });

  it("nameSimilarityAtLeast equals nameSimilarity at or above the floor and stays below it otherwise", () => {
    fc.assert(
      fc.property(name, name, fc.constantFrom(NAME_SIMILARITY_FLOOR, 0.5, 0.95), (a, b, floor) => {
        const exact = nameSimilarity(a, b);
        const fast = nameSimilarityAtLeast(a, b, floor);
        if (exact >= floor) expect(fast).toBe(exact);
        else expect(fast).toBeLessThan(floor);
      }),
      { numRuns: 3000 },
    );
  });

  // Digits share mask bits and "é" has no slot (normalised names never hold it): the bound must stay safe.
  const anyWord = fc.string({ unit: fc.constantFrom("a", "b", "c", "e", "o", "n", "0", "5", "7", "é"), minLength: 1, maxLength: 9 });
  const anyName = fc.array(anyWord, { minLength: 1, maxLength: 4 });

  it("letterBoundReaches is the length and letters bounds of nameSimilarityAtLeast, from precomputed counts", () => {
    fc.assert(
      fc.property(fc.oneof(name, anyName), fc.oneof(name, anyName), fc.constantFrom(NAME_SIMILARITY_FLOOR, 0.5, 0.95, 0), (a, b, floor) => {
        const x = a.join(" ");
        const y = b.join(" ");
        const longer = Math.max(x.length, y.length);
        const byBounds = 1 - Math.abs(x.length - y.length) / longer >= floor && editSimilarityUpperBound(x, y) >= floor;
        const reaches = letterBoundReaches(denseLetters(x), letterProfile(y), floor);
        if (/^[a-z0-9 ]*$/.test(x + y)) expect(reaches).toBe(byBounds);
        // What the matcher relies on, whatever the characters: names it rules out are below the floor.
        if (!reaches) expect(nameSimilarity(a, b)).toBeLessThan(floor);
      }),
      { numRuns: 3000 },
    );
  });

  it("the masks never count more surplus letters than the names have, the counts exactly as many", () => {
    const surplus = (x: string, y: string) => {
      const count = (t: string) => [...t].reduce((m, c) => m.set(c, (m.get(c) ?? 0) + 1), new Map<string, number>());
      const [cx, cy] = [count(x), count(y)];
      const over = (a: Map<string, number>, b: Map<string, number>) =>
        [...a].reduce((sum, [c, n]) => sum + Math.max(0, n - (b.get(c) ?? 0)), 0);
      return Math.max(over(cx, cy), over(cy, cx));
    };
    fc.assert(
      fc.property(fc.oneof(name, anyName), fc.oneof(name, anyName), (a, b) => {
        const x = a.join(" ");
        const y = b.join(" ");
        const profile = letterProfile(y);
        expect(maskSurplus(denseLetters(x), profile.mask, profile.repeatedMask)).toBeLessThanOrEqual(surplus(x, y));
        // The counts give the surplus itself when both names keep to the alphabet, no bound (0) otherwise.
        expect(letterSurplus(denseLetters(x), profile)).toBe(/^[a-z0-9 ]*$/.test(x + y) ? surplus(x, y) : 0);
      }),
      { numRuns: 3000 },
    );
  });

  it("the banded edit distance is exact up to its limit and above it beyond", () => {
    fc.assert(
      fc.property(fc.oneof(name, anyName), fc.oneof(name, anyName), fc.integer({ min: 0, max: 12 }), (a, b, maxDistance) => {
        const x = a.join(" ");
        const y = b.join(" ");
        const exact = damerauLevenshtein(x, y);
        const banded = damerauLevenshteinWithin(x, y, maxDistance);
        if (exact <= maxDistance) expect(banded).toBe(exact);
        else expect(banded).toBeGreaterThan(maxDistance);
      }),
      { numRuns: 5000 },
    );
    // Transpositions at the band's edge and a row jumped by one.
    expect(damerauLevenshteinWithin("abcd", "badc", 2)).toBe(2);
    expect(damerauLevenshteinWithin("ab", "ba", 1)).toBe(1);
    expect(damerauLevenshteinWithin("abab", "baba", 2)).toBe(damerauLevenshtein("abab", "baba"));
  });

  it("surplusAllowance is the largest surplus the letters bound lets pass", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 60 }),
        fc.constantFrom(NAME_SIMILARITY_FLOOR, 0.5, 0.95, 0, 1, 1.2),
        (a, b, floor) => {
          const longer = Math.max(a, b);
          const allowance = surplusAllowance(a, b, floor);
          for (let surplus = 0; surplus <= longer; surplus++) expect(surplus <= allowance).toBe(1 - surplus / longer >= floor);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("keeps the documented examples", () => {
    expect(nameSimilarityAtLeast(["contosso"], ["contoso"], NAME_SIMILARITY_FLOOR)).toBe(nameSimilarity(["contosso"], ["contoso"]));
    expect(nameSimilarityAtLeast(["contoso", "logistics"], ["contoso", "labs"], NAME_SIMILARITY_FLOOR)).toBeLessThan(NAME_SIMILARITY_FLOOR);
    expect(nameSimilarityAtLeast(["jones", "and", "smith"], ["smith", "and", "jones"], NAME_SIMILARITY_FLOOR)).toBe(0.98);
    expect(editSimilarityUpperBound("zürich", "zurich")).toBe(1); // outside ASCII: no bound
    expect(editSimilarityUpperBound("abc", "xyz")).toBe(0);
  });
});
