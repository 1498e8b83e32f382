/**
 * Seeded, reproducible randomness for the sandboxes (data sets, fault injection) and tests. Not for
 * secrets. faker's uuid() is too slow for 50,000 subscriptions; these helpers are not.
 */

/** mulberry32: small, fast, seeded; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex8(random: () => number): string {
  const n = Math.floor(random() * 4294967296);
  return (HEX[(n >>> 24) & 255] as string) + HEX[(n >>> 16) & 255] + HEX[(n >>> 8) & 255] + HEX[n & 255];
}

/** A version-4-shaped GUID drawn from a seeded generator. */
export function seededGuid(random: () => number): string {
  const h = hex8(random) + hex8(random) + hex8(random) + hex8(random);
  const variant = "89ab"[Math.floor(random() * 4)] as string;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
