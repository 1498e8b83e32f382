import { createHash } from "node:crypto";

import { stableStringify } from "../rows/contentHash";
import type { SubscriptionChange } from "./policy";

/**
 * Deterministic Ion order referenceId for one request. The same request (same row, same change, same
 * previous order) always gives the same id, so a retry after a crash finds the order it may already have
 * placed (findByReferenceId) instead of placing a second one. The previous order id makes a later,
 * identical request (5 → 3 → 5 → 3) distinct from the earlier one.
 */
export function orderReferenceId(o: {
  connectionId: string;
  subscriptionRowId: string;
  change: SubscriptionChange;
  previousOrderId?: string | null;
}): string {
  const digest = createHash("sha256")
    .update(
      stableStringify({
        c: o.connectionId.toLowerCase(),
        s: o.subscriptionRowId.toLowerCase(),
        ch: o.change,
        p: o.previousOrderId ?? null,
      }),
    )
    .digest("hex")
    .slice(0, 24);
  return `w365-${digest}`;
}
