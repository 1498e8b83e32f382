import fc from "fast-check";

import {
  type ExistingProviderSubscription,
  packStoredSubscription,
  storedRow,
  unpackStoredSubscription,
} from "../../../src/sync/subscriptions";

const slim = (over: Partial<ExistingProviderSubscription> = {}): ExistingProviderSubscription => ({
  w365_providersubscriptionid: "6f1c2b1e-0000-4000-8000-000000000001",
  w365_ionsubscriptionid: "SUB-1",
  w365_contenthash: "v1:abcdefghijklmnopqrstuvwxyz012345",
  w365_quantity: 12,
  w365_status: "active",
  w365_autorenew: true,
  w365_cancellationalloweduntil: "2026-12-01T00:00:00Z",
  w365_requestedautorenew: false,
  w365_syncstate: 1,
  ...over,
});

describe("stored subscription rows packed into one string (memory at scale)", () => {
  it("unpacks to the same slim row, absent values as null, missing-since only when set", () => {
    const row = slim();
    const packed = packStoredSubscription(row)!;
    expect(typeof packed).toBe("string");
    expect(unpackStoredSubscription(packed)).toStrictEqual(row);
    expect(storedRow(packed)).toStrictEqual(row);
    expect(storedRow(row)).toBe(row);
    expect(storedRow(undefined)).toBeUndefined();
    const sparse = slim({
      w365_quantity: null,
      w365_status: undefined,
      w365_autorenew: null,
      w365_cancellationalloweduntil: null,
      w365_requestedautorenew: undefined,
      w365_syncstate: null,
      w365_contenthash: null,
      w365_missingsince: "2026-01-02T03:04:05Z",
    });
    expect(unpackStoredSubscription(packStoredSubscription(sparse)!)).toStrictEqual({
      ...sparse,
      w365_status: null,
      w365_requestedautorenew: null,
    });
  });

  it("keeps the Ion customer id (to confirm a missing row with a direct read) and the ETag read (the write's If-Match)", () => {
    const row = slim({ w365_ioncustomerid: "303288", etagAtRead: 'W/"1234"' });
    expect(unpackStoredSubscription(packStoredSubscription(row)!)).toStrictEqual(row);
  });

  it("refuses values that would not round-trip (empty strings, the separator, non-finite numbers)", () => {
    expect(packStoredSubscription(slim({ w365_status: "" }))).toBeUndefined();
    expect(packStoredSubscription(slim({ w365_status: "a\u0001b" }))).toBeUndefined();
    expect(packStoredSubscription(slim({ w365_quantity: Number.NaN }))).toBeUndefined();
  });

  it("round-trips any slim row it accepts", () => {
    const text = fc.option(fc.string({ minLength: 1 }), { nil: null });
    fc.assert(
      fc.property(
        text,
        fc.option(fc.integer(), { nil: null }),
        text,
        fc.option(fc.boolean(), { nil: null }),
        fc.option(fc.boolean(), { nil: null }),
        fc.option(fc.integer({ min: 0, max: 9 }), { nil: null }),
        (hash, quantity, status, autoRenew, requested, syncState) => {
          const row = slim({
            w365_contenthash: hash,
            w365_quantity: quantity,
            w365_status: status,
            w365_autorenew: autoRenew,
            w365_requestedautorenew: requested,
            w365_syncstate: syncState,
          });
          const packed = packStoredSubscription(row);
          if (packed === undefined) return [hash, status].some((v) => v !== null && v.includes("\u0001"));
          expect(unpackStoredSubscription(packed)).toStrictEqual(row);
          return true;
        },
      ),
    );
  });
});
