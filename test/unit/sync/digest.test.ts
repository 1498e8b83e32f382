/** The subscriptions digest's pure parts (src/sync/digest.ts). */
import {
  DIGEST_PREFIX,
  formatDigest,
  FULL_READ_EVERY_MS,
  marksUsable,
  parseDigest,
  readMarks,
  subscriptionToken,
} from "../../../src/sync/digest";

const marks = { since: "10", until: "20", user: "00000000-0000-0000-0000-000000000001", fullReadAt: "2026-01-01T00:00:00.000Z" };

describe("subscriptions digest", () => {
  it("a token changes with the id and with the content hash", () => {
    const t = subscriptionToken("S-1", "h1");
    expect(t).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(subscriptionToken("S-1", "h1")).toBe(t);
    expect(subscriptionToken("S-2", "h1")).not.toBe(t);
    expect(subscriptionToken("S-1", "h2")).not.toBe(t);
  });

  it("the same tokens in any order are the same text; the text reads back as the set", () => {
    expect(formatDigest(["b", "a", "c"])).toBe(formatDigest(["c", "b", "a"]));
    expect(parseDigest(formatDigest(["b", "a"]))).toStrictEqual(new Set(["a", "b"]));
    expect(parseDigest(DIGEST_PREFIX)).toStrictEqual(new Set());
  });

  it("no digest, or one of another format, reads as none", () => {
    expect(parseDigest(undefined)).toBeUndefined();
    expect(parseDigest(null)).toBeUndefined();
    expect(parseDigest("d0:abc")).toBeUndefined();
  });

  it("marks are read only when complete", () => {
    expect(readMarks(marks)).toStrictEqual(marks);
    expect(readMarks({ ...marks, since: "x" })).toBeUndefined();
    expect(readMarks({ ...marks, user: undefined })).toBeUndefined();
    expect(readMarks("text")).toBeUndefined();
  });

  it("marks are trusted for a day after the last full read, and not from the future", () => {
    const at = Date.parse(marks.fullReadAt);
    expect(marksUsable(marks, at + FULL_READ_EVERY_MS - 1)).toBe(true);
    expect(marksUsable(marks, at + FULL_READ_EVERY_MS)).toBe(false);
    expect(marksUsable(marks, at - 1)).toBe(false);
    expect(marksUsable(undefined, at)).toBe(false);
  });
});
