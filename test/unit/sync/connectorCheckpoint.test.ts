import { mergeConnectorCheckpoint, readListShape } from "../../../src/sync/connectorCheckpoint";

const marks = (until: string, fullReadAt = "2026-12-01T00:00:00.000Z") => ({ since: "1", until, user: "u", fullReadAt });

describe("mergeConnectorCheckpoint", () => {
  it("takes the run's marks where nobody else wrote since its start, and keeps keys it did not change", () => {
    const base = { accountsVersion: "10", subscriptionDigest: marks("20") };
    expect(mergeConnectorCheckpoint(base, { accountsVersion: "12" }, base)).toStrictEqual({
      accountsVersion: "12",
      subscriptionDigest: marks("20"),
    });
    expect(mergeConnectorCheckpoint(base, { subscriptionDigest: undefined }, base)).toStrictEqual({ accountsVersion: "10" });
  });

  it("keeps the higher account version when another run moved it too, and the other's digest marks the run did not change", () => {
    const base = { accountsVersion: "10", subscriptionDigest: marks("20") };
    const stored = { accountsVersion: "15", subscriptionDigest: marks("30") };
    expect(mergeConnectorCheckpoint(base, { accountsVersion: "12" }, stored)).toStrictEqual(stored);
    expect(mergeConnectorCheckpoint(base, { accountsVersion: "16" }, stored)).toStrictEqual({
      accountsVersion: "16",
      subscriptionDigest: marks("30"),
    });
    // A forgotten account version counts lowest.
    expect(mergeConnectorCheckpoint(base, { accountsVersion: undefined }, stored).accountsVersion).toBe("15");
  });

  it("forgets the digest marks both overlapping runs moved, whichever ends last and whichever went further", () => {
    const base = { accountsVersion: "10", subscriptionDigest: marks("20") };
    // Each run's digests may have overwritten the other's: neither run's marks cover what is stored.
    for (const [first, second] of [
      [marks("25"), marks("30")],
      [marks("30"), marks("25")],
      [marks("30", "2026-12-01T00:00:00.000Z"), marks("30", "2026-12-02T00:00:00.000Z")],
    ] as const) {
      // `second` ended first and stored its marks; `first` ends now and merges onto them; then the other order.
      expect(mergeConnectorCheckpoint(base, { subscriptionDigest: first }, { ...base, subscriptionDigest: second })).toStrictEqual({
        accountsVersion: "10",
      });
      expect(mergeConnectorCheckpoint(base, { subscriptionDigest: second }, { ...base, subscriptionDigest: first })).toStrictEqual({
        accountsVersion: "10",
      });
    }
    // The same marks (both started and ended at the same row versions) do not say whose digests are stored;
    // nor do the marks read at the start, kept by a run that moved nothing while another run wrote digests.
    expect(mergeConnectorCheckpoint(base, { subscriptionDigest: marks("30") }, { subscriptionDigest: marks("30") })).toStrictEqual({});
    expect(mergeConnectorCheckpoint(base, { subscriptionDigest: marks("20") }, { subscriptionDigest: marks("30") })).toStrictEqual({});
  });

  it("forgets the digest marks when either run forgot them", () => {
    const base = { subscriptionDigest: marks("20") };
    expect(mergeConnectorCheckpoint(base, { subscriptionDigest: undefined }, { subscriptionDigest: marks("30") })).toStrictEqual({});
    expect(mergeConnectorCheckpoint(base, { subscriptionDigest: marks("40") }, {})).toStrictEqual({});
  });
});

describe("the shape of Ion's subscription list", () => {
  it("is a hint: the latest read's shape stands over what another run stored, and the other keys are merged as before", () => {
    const base = { accountsVersion: "10", ionSubscriptions: { step: 1000, total: 50_000 } };
    const stored = { accountsVersion: "15", ionSubscriptions: { step: 100, total: 49_000 } };
    expect(mergeConnectorCheckpoint(base, { ionSubscriptions: { step: 1000, total: 50_100 } }, stored)).toStrictEqual({
      accountsVersion: "15",
      ionSubscriptions: { step: 1000, total: 50_100 },
    });
    // A run that read no list leaves the stored one.
    expect(mergeConnectorCheckpoint(base, { accountsVersion: "16" }, stored).ionSubscriptions).toStrictEqual({ step: 100, total: 49_000 });
  });

  it("is read back only when it is one (whole numbers, a step of at least 1)", () => {
    expect(readListShape({ step: 1000, total: 0 })).toStrictEqual({ step: 1000, total: 0 });
    for (const bad of [undefined, null, "x", { step: 0, total: 5 }, { step: 10 }, { step: 1.5, total: 3 }, { step: 10, total: -1 }])
      expect(readListShape(bad)).toBeUndefined();
  });
});
