/**
 * `streamone-ion demo`: the main job on the embedded sandbox, done the way an admin does it
 * (user guide, Step 3): the connector is created and driven through the Web API and the custom
 * APIs, which fire the webhooks into the local functions host that runs the sync engine.
 */
import { randomUUID } from "node:crypto";

import { type Sandbox, startSandbox } from "../../sandbox";
import { latencyModel, parseLatencyMode } from "../../sandbox/latency";
import { DataverseClient, odataString } from "../../src/dataverse";
import {
  choiceLabel,
  w365_MapProviderAccountMetadata,
  w365_providerconnection_w365_statusLabels,
  w365_providersubscription_w365_syncstateLabels,
  w365_SyncProviderAccountsMetadata,
  w365_SyncSubscriptionsMetadata,
  w365_VerifyConnectivityMetadata,
} from "../../src/schema";
import { ConnectorError, ensureError } from "../../src/shared/errors";
import { redact } from "../../src/shared/redact";
import { sleep } from "../../src/shared/retry";
import { ConnectionStatus, MappingStatus, SETS, SyncState } from "../../src/sync/schema";
import type { Output } from "../output";
import { createTaskList } from "../tasks";

const TERMINAL_RUN = new Set(["succeeded", "partial", "failed"]);

/** A demo step did not end as the walkthrough expects; the code names the step. */
export class DemoError extends ConnectorError {}

export interface DemoOptions {
  customers: number;
  subscriptionsPerCustomer: number;
  seed: number;
  /** "off" (default) or "cloud": the stand-ins' latency model. */
  latency?: string;
  json?: boolean;
}

interface RunRow {
  w365_syncrunid: string;
  w365_name?: string;
  w365_kind: string;
  w365_trigger?: string;
  w365_status: string;
  w365_created?: number;
  w365_updated?: number;
  w365_unchanged?: number;
  w365_failed?: number;
  w365_startedon?: string;
  w365_finishedon?: string;
  w365_durationms?: number;
  w365_message?: string;
  w365_requestid?: string;
}

export async function runDemoCommand(opts: DemoOptions, out: Output): Promise<number> {
  const started = Date.now();
  const tasks = createTaskList(out, { quiet: Boolean(opts.json) });
  const report: Record<string, unknown> = {};
  let sandbox: Sandbox | undefined;
  try {
    sandbox = await tasks.step("Start the sandbox: Dataverse emulator, solution import, functions host, Ion simulator", async () => {
      const s = await startSandbox({
        customers: opts.customers,
        subscriptionsPerCustomer: opts.subscriptionsPerCustomer,
        seed: opts.seed,
        latency: latencyModel(parseLatencyMode(opts.latency)),
      });
      return { value: s, detail: `Dataverse ${s.dataverseUrl}, Ion ${s.ionUrl}` };
    });
    const sb = sandbox;
    // The admin works as a Work 365 admin user (no field-security read access to secrets).
    const admin = new DataverseClient({ url: sb.dataverseUrl, auth: { kind: "static", token: sb.adminToken } });
    const ion = sb.ion!;

    const connectionId = await tasks.step(
      "Create the StreamOne Ion connector (Admin Hub → Integrations → Add New → StreamOne)",
      async () => {
        const id = await admin.create(SETS.connection, {
          w365_name: "StreamOne Ion",
          w365_refreshtoken: ion.refreshToken,
          w365_apikey: ion.apiKey,
          w365_apisecret: ion.apiSecret,
          w365_ionaccountid: ion.accountId,
          w365_country: "US",
          w365_currencycode: "USD",
          w365_ionbaseurl: sb.ionUrl,
        });
        return { value: id, detail: `${SETS.connection}(${id})` };
      },
    );

    await tasks.step("Verify Connectivity", async () => {
      await admin.executeAction(w365_VerifyConnectivityMetadata.operationName, {}, { entitySet: SETS.connection, id: connectionId });
      await sb.whenIdle();
      const row = await admin.retrieve<Record<string, unknown>>(SETS.connection, connectionId, {
        select: ["w365_status", "w365_statusmessage", "w365_refreshtokenexpireson"],
      });
      const status = choiceLabel(w365_providerconnection_w365_statusLabels, row.w365_status) ?? String(row.w365_status);
      report.verify = { status, message: row.w365_statusmessage, refreshTokenExpiresOn: row.w365_refreshtokenexpireson };
      if (Number(row.w365_status) !== ConnectionStatus.Connected)
        throw new DemoError("DEMO_VERIFY_FAILED", `Verify Connectivity ended with "${status}": ${String(row.w365_statusmessage ?? "")}`);
      return { value: undefined, detail: `${status}; refresh token expires ${String(row.w365_refreshtokenexpireson ?? "?")}` };
    });

    const accountsRun = await tasks.step(
      "Sync Provider Accounts (Ion customers → provider accounts, matched to existing accounts)",
      async () => {
        const run = await startAndWait(admin, sb, connectionId, w365_SyncProviderAccountsMetadata.operationName, {});
        return { value: run, detail: runCounts(run) };
      },
    );

    const matching = await tasks.step("Review the matches (automatic maps and suggestions with reasons)", async () => {
      const rows = await admin.queryAll<Record<string, unknown>>(SETS.providerAccount, {
        select: [
          "w365_provideraccountid",
          "w365_name",
          "w365_mappingstatus",
          "w365_matchscore",
          "w365_matchreason",
          "_w365_account_value",
          "_w365_suggestedaccount_value",
        ],
        filter: `_w365_connection_value eq ${connectionId}`,
      });
      const by = (s: number) => rows.filter((r) => Number(r.w365_mappingstatus) === s);
      const mapped = by(MappingStatus.Mapped);
      const suggested = by(MappingStatus.Suggested);
      const unmapped = by(MappingStatus.Unmapped);
      const examples = [...mapped.slice(0, 3), ...suggested.slice(0, 3)].map(
        (r) =>
          `${String(r.w365_name)} → ${Number(r.w365_mappingstatus) === MappingStatus.Mapped ? "mapped" : "suggested"} (${Number(r.w365_matchscore ?? 0).toFixed(2)}: ${String(r.w365_matchreason ?? "")})`,
      );
      report.matching = { total: rows.length, autoMapped: mapped.length, suggested: suggested.length, unmapped: unmapped.length, examples };
      return {
        value: { rows, suggested, unmapped },
        detail: `${mapped.length} mapped automatically, ${suggested.length} suggested, ${unmapped.length} without a match`,
        lines: examples,
      };
    });

    await tasks.step("Map the rest: accept suggestions, create accounts for customers without a match", async () => {
      let accepted = 0;
      let createdAccounts = 0;
      let ignored = 0;
      for (const row of matching.suggested) {
        const suggestedAccount = row._w365_suggestedaccount_value as string | undefined;
        const id = String(row.w365_provideraccountid);
        if (suggestedAccount) {
          await admin.executeAction(
            w365_MapProviderAccountMetadata.operationName,
            { AccountId: suggestedAccount },
            { entitySet: SETS.providerAccount, id },
          );
          accepted++;
        } else {
          await admin.executeAction(
            w365_MapProviderAccountMetadata.operationName,
            { CreateNew: true },
            { entitySet: SETS.providerAccount, id },
          );
          createdAccounts++;
        }
      }
      for (const row of matching.unmapped) {
        const id = String(row.w365_provideraccountid);
        await admin.executeAction(
          w365_MapProviderAccountMetadata.operationName,
          { CreateNew: true },
          { entitySet: SETS.providerAccount, id },
        );
        createdAccounts++;
      }
      await sb.whenIdle();
      const stillOpen = await admin.queryAll<Record<string, unknown>>(SETS.providerAccount, {
        select: ["w365_provideraccountid", "w365_mappingstatus"],
        filter: `_w365_connection_value eq ${connectionId} and w365_mappingstatus ne ${MappingStatus.Mapped}`,
      });
      ignored = stillOpen.length;
      report.mapping = { acceptedSuggestions: accepted, newAccounts: createdAccounts, notMapped: ignored };
      return {
        value: undefined,
        detail: `${accepted} suggestions accepted, ${createdAccounts} new accounts created${ignored ? `, ${ignored} left for review (likely duplicates)` : ""}`,
      };
    });

    const subsRun = await tasks.step("Sync Subscriptions", async () => {
      const run = await startAndWait(admin, sb, connectionId, w365_SyncSubscriptionsMetadata.operationName, {});
      return { value: run, detail: runCounts(run) };
    });

    await tasks.step("Change a quantity in Work 365, place the order in Ion, and sync it back", async () => {
      const sub = await admin.queryFirst<Record<string, unknown>>(SETS.providerSubscription, {
        select: ["w365_providersubscriptionid", "w365_name", "w365_quantity", "w365_status", "w365_ionsubscriptionid"],
        filter: `_w365_connection_value eq ${connectionId} and w365_status eq 'active'`,
      });
      if (!sub) throw new DemoError("DEMO_NO_SUBSCRIPTION", "No active subscription was synced; nothing to change.");
      const id = String(sub.w365_providersubscriptionid);
      const before = Number(sub.w365_quantity);
      const requested = before + 2;
      const ordersBefore = sb.simulator!.control.orders().length;
      await admin.update(SETS.providerSubscription, id, { w365_requestedquantity: requested });
      const final = await waitFor(async () => {
        await sb.whenIdle();
        const row = await admin.retrieve<Record<string, unknown>>(SETS.providerSubscription, id, {
          select: ["w365_quantity", "w365_syncstate", "w365_lastorderid", "w365_syncmessage", "w365_requestedquantity"],
        });
        const state = Number(row.w365_syncstate);
        if (state === SyncState.Conflict || state === SyncState.Error)
          throw new DemoError(
            "DEMO_OUTBOUND_FAILED",
            `Outbound change ended in "${choiceLabel(w365_providersubscription_w365_syncstateLabels, state) ?? String(state)}": ${String(row.w365_syncmessage ?? "")}`,
          );
        return Number(row.w365_quantity) === requested && (row.w365_requestedquantity === null || row.w365_requestedquantity === undefined)
          ? row
          : undefined;
      }, 60_000);
      const ionSub = sb.simulator!.control.getSubscription(String(sub.w365_ionsubscriptionid));
      const ordersPlaced = sb.simulator!.control.orders().length - ordersBefore;
      report.outbound = {
        subscription: sub.w365_name,
        before,
        requested,
        inIon: ionSub?.quantity,
        inWork365: final.w365_quantity,
        order: final.w365_lastorderid,
        ordersPlaced,
      };
      return {
        value: undefined,
        detail: `${String(sub.w365_name)}: ${before} → ${requested} seats; Ion order ${String(final.w365_lastorderid)} completed; ${ordersPlaced} order placed`,
      };
    });

    const runs = await admin.queryAll<RunRow>(SETS.syncRun, {
      select: [
        "w365_syncrunid",
        "w365_name",
        "w365_kind",
        "w365_trigger",
        "w365_status",
        "w365_created",
        "w365_updated",
        "w365_unchanged",
        "w365_failed",
        "w365_durationms",
        "w365_startedon",
        "w365_finishedon",
      ],
      filter: `_w365_connection_value eq ${connectionId}`,
      orderby: "w365_startedon asc",
    });
    const kindRank: Record<string, number> = { verify: 0, accounts: 1, subscriptions: 2, outbound: 3, all: 4 };
    // Run rows carry second-precision times (as Dataverse does); break ties by the order the demo ran them.
    runs.sort(
      (a, b) =>
        String(a.w365_startedon ?? "").localeCompare(String(b.w365_startedon ?? "")) ||
        (kindRank[a.w365_kind] ?? 9) - (kindRank[b.w365_kind] ?? 9),
    );
    report.runs = runs.map((r) => ({
      kind: r.w365_kind,
      trigger: r.w365_trigger,
      status: r.w365_status,
      created: r.w365_created ?? 0,
      updated: r.w365_updated ?? 0,
      unchanged: r.w365_unchanged ?? 0,
      failed: r.w365_failed ?? 0,
      durationMs: r.w365_durationms,
    }));
    report.totals = {
      accountsRun: runCounts(accountsRun),
      subscriptionsRun: runCounts(subsRun),
      wallMs: Date.now() - started,
      ionRequests: sumCounters(sb.simulator!.control.counters()),
      dataverseRequests: sb.emulator.stats().requests,
    };

    if (opts.json) {
      out.json({ ok: true, ...report });
    } else {
      printReport(out, report, runs);
    }
    return 0;
  } catch (error) {
    if (opts.json) out.json({ ok: false, error: redact(ensureError(error).message), ...report });
    throw error;
  } finally {
    await sandbox?.close();
  }
}

function printReport(out: Output, report: Record<string, unknown>, runs: RunRow[]): void {
  const totals = report.totals as { wallMs: number; ionRequests: number; dataverseRequests: number };
  out.line("");
  out.line("Report");
  out.line("──────");
  out.line("Sync runs (w365_syncrun):");
  out.line(pad(["kind", "trigger", "status", "created", "updated", "unchanged", "failed", "time"]));
  for (const r of runs) {
    out.line(
      pad([
        r.w365_kind,
        r.w365_trigger ?? "",
        r.w365_status,
        String(r.w365_created ?? 0),
        String(r.w365_updated ?? 0),
        String(r.w365_unchanged ?? 0),
        String(r.w365_failed ?? 0),
        r.w365_durationms !== undefined ? `${(r.w365_durationms / 1000).toFixed(1)} s` : "",
      ]),
    );
  }
  const m = report.matching as { total: number; autoMapped: number; suggested: number; unmapped: number };
  const o = report.outbound as { subscription: string; before: number; requested: number; inIon?: number; ordersPlaced: number };
  out.line("");
  out.line(`Provider accounts: ${m.total} (auto-mapped ${m.autoMapped}, suggested ${m.suggested}, no match ${m.unmapped})`);
  out.line(
    `Outbound: ${o.subscription} ${o.before} → ${o.requested} seats; Ion now has ${o.inIon ?? "?"}; orders placed: ${o.ordersPlaced}`,
  );
  out.line(`Requests: Ion ${totals.ionRequests}, Dataverse ${totals.dataverseRequests}; total ${(totals.wallMs / 1000).toFixed(1)} s`);
  out.line("");
  out.line("Where to look next:");
  out.line("  npx streamone-ion sandbox          # the same sandbox, kept running, with the Admin Hub page (adminUrl)");
  out.line("  docs/admin.md                      # the admin guide: mapping, conflicts, token renewal");
  out.line("  docs/operator.md                   # deploying into your own tenant");
}

function pad(cells: string[]): string {
  const widths = [14, 10, 10, 8, 8, 10, 7, 8];
  return "  " + cells.map((c, i) => c.padEnd(widths[i] ?? 8)).join(" ");
}

function runCounts(run: RunRow): string {
  return `${run.w365_status}: created ${run.w365_created ?? 0}, updated ${run.w365_updated ?? 0}, unchanged ${run.w365_unchanged ?? 0}, failed ${run.w365_failed ?? 0}`;
}

function sumCounters(counters: Record<string, number>): number {
  return Object.values(counters).reduce((a, b) => a + b, 0);
}

/** Starts a sync through its bound custom API (as the gear menu does) and waits for its run row to end. */
async function startAndWait(
  admin: DataverseClient,
  sb: Sandbox,
  connectionId: string,
  api: string,
  params: Record<string, unknown>,
): Promise<RunRow> {
  const requestId = randomUUID();
  await admin.executeAction(api, { ...params, RequestId: requestId }, { entitySet: SETS.connection, id: connectionId });
  return waitFor(async () => {
    await sb.whenIdle();
    const run = await admin.queryFirst<RunRow>(SETS.syncRun, { filter: `w365_requestid eq ${odataString(requestId)}` });
    if (run && TERMINAL_RUN.has(run.w365_status)) {
      if (run.w365_status === "failed")
        throw new DemoError("DEMO_SYNC_FAILED", `${api} failed: ${run.w365_message ?? "see the run's report"}`);
      return run;
    }
    return undefined;
  }, 10 * 60_000);
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new DemoError("DEMO_TIMEOUT", `Gave up waiting after ${Math.round(timeoutMs / 1000)} s.`);
    await sleep(delay);
  }
}
