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

  it("keeps another run's newer marks: the higher account version, the digest marks with the higher until", () => {
    const base = { accountsVersion: "10", subscriptionDigest: marks("20") };
    const stored = { accountsVersion: "15", subscriptionDigest: marks("30") };
    expect(mergeConnectorCheckpoint(base, { accountsVersion: "12" }, stored)).toStrictEqual(stored);
    expect(mergeConnectorCheckpoint(base, { accountsVersion: "16", subscriptionDigest: marks("25") }, stored)).toStrictEqual({
      accountsVersion: "16",
      subscriptionDigest: marks("30"),
    });
    expect(mergeConnectorCheckpoint(base, { subscriptionDigest: marks("31") }, stored).subscriptionDigest).toStrictEqual(marks("31"));
    // A forgotten account version counts lowest.
    expect(mergeConnectorCheckpoint(base, { accountsVersion: undefined }, stored).accountsVersion).toBe("15");
  });

  it("forgets the digest marks when either run forgot them", () => {
    const base = { subscriptionDigest: marks("20") };
    expect(mergeConnectorCheckpoint(base, { subscriptionDigest: undefined }, { subscriptionDigest: marks("30") })).toStrictEqual({});
    expect(mergeConnectorCheckpoint(base, { subscriptionDigest: marks("40") }, {})).toStrictEqual({});
  });
});
