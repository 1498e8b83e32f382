/**
 * Pieces every test world shares: the Dataverse emulator with the connector's solution applied, the
 * reseller's existing CRM accounts, and the provider connection an admin creates for an Ion simulator.
 * The worlds (test/sync/integration, test/e2e functions, test/reliability) compose these.
 */
import { type DataverseEmulator, type DataverseEmulatorOptions, startDataverseEmulator } from "../../sandbox/dataverse";
import { generateCrmAccounts, type IonSimulator } from "../../sandbox/ion";
import type { DataverseClient } from "../../src/dataverse";
import { WEBHOOK_ENDPOINT, WEBHOOK_STEPS } from "../../src/deploy/webhookRegistration";
import { ENV_FUNCTIONS_BASE_URL, ENV_FUNCTIONS_WEBHOOK_KEY } from "../../src/solution/contract";
import { readSolutionSource } from "../../src/solution/io";
import type { SolutionModel } from "../../src/solution/model";

let model: Promise<SolutionModel> | undefined;

/** The solution source, read once per test file. */
export function solutionModel(): Promise<SolutionModel> {
  model ??= readSolutionSource();
  return model;
}

/**
 * The solution as an environment holds it once deploy has also registered the webhook (src/deploy/
 * webhookRegistration.ts): its endpoint and steps, seeded with it. The endpoint follows w365_FunctionsBaseUrl
 * and w365_FunctionsWebhookKey, so a world points the webhook at its functions host by setting those two.
 */
export async function registeredSolutionModel(): Promise<SolutionModel> {
  const m = await solutionModel();
  return {
    ...m,
    serviceEndpoints: [
      {
        ...WEBHOOK_ENDPOINT,
        url: "https://streamone-ion-functions.invalid/api/dataverse/webhook",
        urlEnvironmentVariable: ENV_FUNCTIONS_BASE_URL,
        keyEnvironmentVariable: ENV_FUNCTIONS_WEBHOOK_KEY,
      },
    ],
    steps: [...WEBHOOK_STEPS],
  };
}

/** A Dataverse emulator on 127.0.0.1 with the connector's solution applied and its webhook registered. */
export async function startSolutionEmulator(options: DataverseEmulatorOptions = {}): Promise<DataverseEmulator> {
  const emu = await startDataverseEmulator(options);
  emu.applySolutionModel(await registeredSolutionModel());
  return emu;
}

/** Seeds the reseller's existing CRM accounts matching the simulator's customers (same seed and count). */
export async function seedCrmAccounts(dv: DataverseClient, seed: number, customers: number): Promise<void> {
  const accounts = generateCrmAccounts(seed, customers);
  const results = await dv.batch(accounts.map((a) => ({ method: "POST" as const, entitySet: "accounts", body: { ...a } })));
  const bad = results.filter((r) => !r.ok);
  if (bad.length) throw new Error(`seeding accounts failed: ${JSON.stringify(bad[0])}`);
}

/**
 * The provider connection row for an Ion simulator, as the admin fills the form. `ionUrl` overrides the
 * simulator's URL (a proxy in front of it); `status` is set only when given (the form leaves it to the default).
 */
export function connectionRow(ion: IonSimulator, o: { ionUrl?: string; status?: number } = {}): Record<string, unknown> {
  return {
    w365_name: "StreamOne Ion",
    w365_ionaccountid: ion.accountId,
    w365_ionbaseurl: o.ionUrl ?? ion.url,
    w365_refreshtoken: ion.credentials.refreshToken,
    w365_apikey: ion.credentials.apiKey,
    w365_apisecret: ion.credentials.apiSecret,
    w365_country: "US",
    w365_currencycode: "USD",
    ...(o.status === undefined ? {} : { w365_status: o.status }),
  };
}
