/**
 * What one run covers: every customer of the connector, or one provider account (the webhook path and the
 * CLI's `--provider-account`). A run asks its scope instead of testing an optional id here and there: only a
 * full scope reads Ion's whole lists, so only it flags customers and subscriptions missing from Ion, keeps
 * the subscriptions' digests, moves the connector's checkpoint and may run its phases side by side.
 */
export type SyncScope =
  | { readonly kind: "connector"; readonly connectionId: string }
  | { readonly kind: "providerAccount"; readonly connectionId: string; readonly providerAccountId: string };

function connectorScope(connectionId: string): SyncScope {
  return { kind: "connector", connectionId };
}

/** The scope of a run's options: one provider account when given, else the whole connector. */
export function scopeOf(connectionId: string, providerAccountId?: string): SyncScope {
  return providerAccountId ? { kind: "providerAccount", connectionId, providerAccountId } : connectorScope(connectionId);
}

export function isFullScope(scope: SyncScope): scope is Extract<SyncScope, { kind: "connector" }> {
  return scope.kind === "connector";
}

/** The one provider account of the scope, undefined for the whole connector. */
export function scopedProviderAccount(scope: SyncScope): string | undefined {
  return scope.kind === "providerAccount" ? scope.providerAccountId : undefined;
}
