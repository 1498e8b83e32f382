/**
 * Stored rows carry their content hash and each provider account a digest of tokens over them: a change in
 * what Ion's wire JSON hashes to would rewrite every subscription row of every tenant. These values were
 * computed by the code before the sync read Ion's pages as records (`fromIonSubscriptionRecord`), through
 * `fromIonSubscription`; both readers must keep giving them.
 */
import { fromIonSubscription, fromIonSubscriptionRecord } from "../../../../src/ion/parse/subscription";
import { subscriptionToken } from "../../../../src/sync/digest";
import { toProviderSubscriptionRow } from "../../../../src/sync/rows/toProviderSubscriptionRow";
import subscriptionsPage from "../../../support/ion-fixtures/subscriptions-page.json";
import varied from "../../../support/ion-fixtures/subscriptions-varied.json";

const CONNECTION = "7a1c9e55-2f61-4d7c-8f3e-6b9d1a2c4e00";
const LINKS = { providerAccountId: "0b6b1e8e-6a55-4f1e-9d53-3c2d0f1f6a11", accountId: "5f0d2c71-1b7e-4b43-a1d5-0f4b7a3e9c22" };

const PINNED = [
  { id: "2277242", quiet: "v1:1KiMyZvECJeZlb6dCRDyIW9-cKz99jQA", token: "p-kH7XwiVcMu", pending: "v1:HC93xJKj6j90_pijIvqUJOp7pFgy-tWs" },
  { id: "2277243", quiet: "v1:8HtPUyIkd38QILDKjMmuBaz8kaq01qyq", token: "TtxBsxhypVMt", pending: "v1:j6VZ7SbAUK1sNKx5bOaEk2i7lVioPXnM" },
  { id: "3100001", quiet: "v1:54ViILqUIXOTti8aeTjVrlR2jo6FRTH7", token: "5qMHB32_DtST", pending: "v1:Alput_pqcpozIgKYo-Fvgv8TSG7SfKgR" },
  { id: "3100002", quiet: "v1:GC82y6Q5GElapcaN0mxzImgXPzUyHUPK", token: "Ru--3kl201YG", pending: "v1:bIYx4yLjpsfWb5HubqVDXGV2VFuq4Qpf" },
  { id: "3100003", quiet: "v1:NElTDaAmsC29zTX0ZUPNIWP9TVkpz4bR", token: "AVcsEH6HuAFJ", pending: "v1:ulnCOgh9y2L6Vb_-PEOubVXy3NLtck8H" },
  { id: "3100004", quiet: "v1:0zIYwDnyWIJSQhjuey5e0WUob63DC5hq", token: "8VpOTlgloDRP", pending: "v1:0FSGXAJ_-cN5tazmK4tG2r2eIl9Aa6J3" },
];

const wire: unknown[] = [...subscriptionsPage.items, ...varied];

describe.each([
  ["fromIonSubscription", fromIonSubscription],
  ["fromIonSubscriptionRecord (the sync's reader)", fromIonSubscriptionRecord],
])("content hashes and digest tokens of Ion's wire JSON through %s", (_, parse) => {
  it("stay the values stored by earlier versions", () => {
    const got = wire.map((w) => {
      const s = parse(w);
      const quiet = toProviderSubscriptionRow(CONNECTION, s, LINKS, false).hash;
      const pending = toProviderSubscriptionRow(CONNECTION, s, { providerAccountId: LINKS.providerAccountId, accountId: null }, true).hash;
      return { id: s.id, quiet, token: subscriptionToken(s.id, quiet), pending };
    });
    expect(got).toStrictEqual(PINNED);
  });
});
