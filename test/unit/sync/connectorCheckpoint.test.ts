import { mergeConnectorCheckpoint } from "../../../src/sync/connectorCheckpoint";

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
