/**
 * App settings of the functions app, validated once at start-up (functions/index.ts). A bad or
 * missing setting fails with a message naming it; there are no fallback secrets. Every secret read
 * here is registered for redaction. functions/README.md documents each setting.
 */
import { z } from "zod";

import { dataverseAuthFromEnv, type DataverseEnvAuth } from "../src/dataverse/config";
import { parseNcrontab } from "../src/shared/cron";
import { ConfigError, ensureError } from "../src/shared/errors";
import { GUID_PATTERN } from "../src/shared/guid";
import { registerSecret } from "../src/shared/redact";

export const DEFAULT_SYNC_SCHEDULE = "0 0 2 * * *";
export const DEFAULT_KEEPALIVE_SCHEDULE = "0 30 1 * * *";
export const DEFAULT_STALE_SYNC_HOURS = 48;
export const DEFAULT_STALE_RUN_MINUTES = 30;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** A sync work item stops at the first page boundary after this long (the Consumption plan's timeout is 5 minutes). */
export const DEFAULT_ITEM_BUDGET_SECONDS = 120;
export const DEFAULT_REPLAY_WINDOW_MINUTES = 24 * 60;
/**
 * The outbound phase fans out above this many pending requests. Each row costs an Ion read, its claim, the order
 * and the order's polls (backoff from 0.5 s, up to 8: a few seconds when Ion takes seconds to complete an order),
 * so one 120-s item gets through about this many; below it one item finishes the phase and a split would add only
 * its writes and messages.
 */
export const DEFAULT_OUTBOUND_BRANCH_ROWS = 20;
/** At most this many branch items of one run at once: the queue trigger runs 4 + 2 items per instance (host.json). */
export const DEFAULT_OUTBOUND_BRANCHES = 4;
export const SYNC_QUEUE_NAME = "streamone-sync";
export const QUEUE_CONNECTION_SETTING = "AzureWebJobsStorage";
const MIN_WEBHOOK_KEY_LENGTH = 16;

export type DataverseAuthSetting = DataverseEnvAuth;

export interface FunctionsConfig {
  dataverseUrl: string;
  dataverseAuth: DataverseAuthSetting;
  webhookKey: string;
  /** Expected OrganizationId of deliveries; absent = the environment's own (RetrieveCurrentOrganization). */
  organizationId?: string;
  integrationUserId?: string;
  syncSchedule: string;
  keepAliveSchedule: string;
  staleSyncHours: number;
  staleRunMinutes: number;
  maxBodyBytes: number;
  replayWindowMinutes: number;
  logLevel: "debug" | "info" | "warn" | "error";
  /** One sync work item's budget: SYNC_ITEM_BUDGET_SECONDS, and SYNC_ITEM_MAX_PAGES (absent: no page limit). */
  itemBudget: { ms: number; pages?: number };
  /** SYNC_OUTBOUND_BRANCH_ROWS and SYNC_OUTBOUND_BRANCHES: when the outbound phase of a run fans out into branch items. */
  outboundBranches: { rows: number; branches: number };
  /**
   * DATAVERSE_REGISTER_WEBHOOK=true: the app ensures its webhook endpoint and steps in Dataverse itself
   * (at start-up and with each timer), so an import through the maker portal or a pipeline ends with
   * working steps. `functionsUrl` is FUNCTIONS_BASE_URL, else https://WEBSITE_HOSTNAME (set by Azure).
   */
  registerWebhook?: { functionsUrl: string };
}

const guid = z.string().regex(GUID_PATTERN, "must be a GUID");
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));
const positiveNumber = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) {
        ctx.addIssue({ code: "custom", message: `must be a positive number (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });
const schedule = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const value = v === undefined || v.trim() === "" ? fallback : v.trim();
      try {
        parseNcrontab(value);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: ensureError(error).message });
        return z.NEVER;
      }
      return value;
    });

const settingsSchema = z.object({
  DATAVERSE_URL: z
    .string({ error: "is required (the environment URL, e.g. https://contoso.crm.dynamics.com)" })
    .url("must be a URL such as https://contoso.crm.dynamics.com")
    .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), "must be an http(s) URL"),
  DATAVERSE_TOKEN: optionalText,
  AZURE_TENANT_ID: optionalText,
  AZURE_CLIENT_ID: optionalText,
  AZURE_CLIENT_SECRET: optionalText,
  WEBHOOK_KEY: z
    .string({ error: "is required (the function key Dataverse sends as ?code=)" })
    .min(MIN_WEBHOOK_KEY_LENGTH, `must be at least ${MIN_WEBHOOK_KEY_LENGTH} characters`),
  DATAVERSE_ORGANIZATION: z
    .string()
    .optional()
    .refine(
      (v) => !v?.trim(),
      "is no longer read: deliveries are checked by OrganizationId (a delivery's OrganizationName is the unique name, not the URL label). Remove it; set DATAVERSE_ORGANIZATION_ID only to pin the id",
    ),
  DATAVERSE_ORGANIZATION_ID: optionalText.pipe(guid.optional()),
  INTEGRATION_USER_ID: optionalText.pipe(guid.optional()),
  SYNC_SCHEDULE: schedule(DEFAULT_SYNC_SCHEDULE),
  KEEPALIVE_SCHEDULE: schedule(DEFAULT_KEEPALIVE_SCHEDULE),
  STALE_SYNC_HOURS: positiveNumber(DEFAULT_STALE_SYNC_HOURS),
  STALE_RUN_MINUTES: positiveNumber(DEFAULT_STALE_RUN_MINUTES),
  WEBHOOK_MAX_BODY_BYTES: positiveNumber(DEFAULT_MAX_BODY_BYTES),
  REPLAY_WINDOW_MINUTES: positiveNumber(DEFAULT_REPLAY_WINDOW_MINUTES),
  SYNC_ITEM_BUDGET_SECONDS: positiveNumber(DEFAULT_ITEM_BUDGET_SECONDS),
  SYNC_ITEM_MAX_PAGES: positiveNumber(Number.POSITIVE_INFINITY),
  SYNC_OUTBOUND_BRANCH_ROWS: positiveNumber(DEFAULT_OUTBOUND_BRANCH_ROWS),
  SYNC_OUTBOUND_BRANCHES: positiveNumber(DEFAULT_OUTBOUND_BRANCHES),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).optional().default("info"),
  DATAVERSE_REGISTER_WEBHOOK: z
    .enum(["true", "false", ""], { error: 'must be "true" or "false"' })
    .optional()
    .transform((v) => v === "true"),
  FUNCTIONS_BASE_URL: optionalText.pipe(
    z.url({ error: "must be the app's https URL, e.g. https://contoso-streamone.azurewebsites.net" }).optional(),
  ),
  WEBSITE_HOSTNAME: optionalText,
});

/**
 * What functions/index.ts registers from: the two timer schedules (a timer needs one even when the
 * settings are broken: a bad or missing one falls back to its default) and either the validated
 * configuration or the ConfigError naming what is wrong, which every invocation then answers with.
 */
export type AppSettings = { syncSchedule: string; keepAliveSchedule: string } & (
  { config: FunctionsConfig; error?: undefined } | { config?: undefined; error: ConfigError }
);

export function readSettings(env: NodeJS.ProcessEnv | Record<string, string | undefined>): AppSettings {
  try {
    const config = loadConfig(env);
    return { syncSchedule: config.syncSchedule, keepAliveSchedule: config.keepAliveSchedule, config };
  } catch (caught) {
    const scheduleOr = (name: string, fallback: string): string => {
      const value = env[name]?.trim();
      if (!value) return fallback;
      try {
        parseNcrontab(value);
        return value;
      } catch {
        return fallback;
      }
    };
    return {
      syncSchedule: scheduleOr("SYNC_SCHEDULE", DEFAULT_SYNC_SCHEDULE),
      keepAliveSchedule: scheduleOr("KEEPALIVE_SCHEDULE", DEFAULT_KEEPALIVE_SCHEDULE),
      error: caught instanceof ConfigError ? caught : new ConfigError(ensureError(caught).message, { cause: caught }),
    };
  }
}

/** Reads and validates the settings. Throws ConfigError naming every bad setting (up to five). */
export function loadConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): FunctionsConfig {
  registerSecret(env.WEBHOOK_KEY);
  registerSecret(env.DATAVERSE_TOKEN);
  registerSecret(env.AZURE_CLIENT_SECRET);
  registerSecret(env.AZURE_CLIENT_CERTIFICATE);
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join(".")} ${i.message}`);
    throw new ConfigError(`Invalid functions app settings: ${problems.join("; ")}.`, {
      hint: "See functions/README.md for every setting.",
    });
  }
  const s = parsed.data;
  const config: FunctionsConfig = {
    dataverseUrl: s.DATAVERSE_URL.replace(/\/+$/, ""),
    // Every sign-in is offered here; managed identity is the one to prefer in Azure (functions/README.md).
    dataverseAuth: dataverseAuthFromEnv(env),
    webhookKey: s.WEBHOOK_KEY,
    syncSchedule: s.SYNC_SCHEDULE,
    keepAliveSchedule: s.KEEPALIVE_SCHEDULE,
    staleSyncHours: s.STALE_SYNC_HOURS,
    staleRunMinutes: s.STALE_RUN_MINUTES,
    maxBodyBytes: Math.floor(s.WEBHOOK_MAX_BODY_BYTES),
    replayWindowMinutes: s.REPLAY_WINDOW_MINUTES,
    logLevel: s.LOG_LEVEL,
    itemBudget: {
      ms: s.SYNC_ITEM_BUDGET_SECONDS * 1000,
      ...(Number.isFinite(s.SYNC_ITEM_MAX_PAGES) ? { pages: Math.max(1, Math.floor(s.SYNC_ITEM_MAX_PAGES)) } : {}),
    },
    // 1 branch means no fan-out; more than 16 would outgrow what one run should hold of the queue.
    outboundBranches: {
      rows: Math.max(1, Math.floor(s.SYNC_OUTBOUND_BRANCH_ROWS)),
      branches: Math.max(1, Math.min(16, Math.floor(s.SYNC_OUTBOUND_BRANCHES))),
    },
  };
  if (s.DATAVERSE_ORGANIZATION_ID) config.organizationId = s.DATAVERSE_ORGANIZATION_ID.toLowerCase();
  if (s.INTEGRATION_USER_ID) config.integrationUserId = s.INTEGRATION_USER_ID.toLowerCase();
  if (s.DATAVERSE_REGISTER_WEBHOOK) {
    const functionsUrl = s.FUNCTIONS_BASE_URL ?? (s.WEBSITE_HOSTNAME ? `https://${s.WEBSITE_HOSTNAME}` : undefined);
    if (!functionsUrl) {
      throw new ConfigError(
        "Invalid functions app settings: DATAVERSE_REGISTER_WEBHOOK is true but neither FUNCTIONS_BASE_URL nor WEBSITE_HOSTNAME says where Dataverse should send webhooks.",
        { hint: "Set FUNCTIONS_BASE_URL to the app's https URL (Azure sets WEBSITE_HOSTNAME itself)." },
      );
    }
    config.registerWebhook = { functionsUrl: functionsUrl.replace(/\/+$/, "") };
  }
  return config;
}
