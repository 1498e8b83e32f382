/**
 * The engine's vocabulary as values and types: what a sync run can be (its kind), what started it (its
 * trigger), what an admin can do to a provider account (its map action), and what a queued run carries.
 * Entry points (the CLI, the Functions app, the webhook handlers) validate untrusted input against these
 * lists, so the engine is the one place a new kind, trigger or action is added.
 */
import type { RunSyncOptions } from "./index";

export const SYNC_KINDS = ["accounts", "subscriptions", "outbound", "all"] as const;
export const TRIGGERS = ["manual", "schedule", "workflow", "webhook", "cli"] as const;
export const MAP_ACTIONS = ["map", "create", "ignore", "unmap"] as const;

export type SyncKind = (typeof SYNC_KINDS)[number];
export type Trigger = (typeof TRIGGERS)[number];
export type MapAction = (typeof MAP_ACTIONS)[number];

/** What a sync run is asked to do: the custom API's parameters, as queued and as run (plain data, JSON-safe). */
export type SyncRequest = Pick<RunSyncOptions, "connectionId" | "kind" | "trigger" | "dryRun" | "requestId" | "providerAccountId">;

/**
 * In a message written for admins (a connector's status, a run's message), what follows this marker is technical
 * detail (an address, a network error code) that the Admin Hub shows behind a disclosure.
 */
export const TECHNICAL_DETAIL_MARKER = "Technical detail: ";

export function splitTechnicalDetail(message: string): { readonly text: string; readonly detail: string } {
  const at = message.indexOf(TECHNICAL_DETAIL_MARKER);
  if (at < 0) return { text: message, detail: "" };
  return { text: message.slice(0, at).trim(), detail: message.slice(at + TECHNICAL_DETAIL_MARKER.length).trim() };
}
