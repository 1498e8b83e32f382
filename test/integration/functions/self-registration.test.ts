/**
 * An import through the maker portal or a pipeline carries no webhook endpoint or steps (their key cannot
 * travel in a solution): with DATAVERSE_REGISTER_WEBHOOK the Functions app registers them itself, against
 * the Dataverse emulator here, and two instances starting together leave one endpoint and one set of steps.
 */
import { loadConfig } from "../../../functions/config";
import { createRuntime } from "../../../functions/runtime";
import { startDataverseEmulator } from "../../../sandbox/dataverse";
import { DataverseClient } from "../../../src/dataverse";
import { WEBHOOK_STEPS } from "../../../src/deploy/webhookRegistration";
import { silentLogger } from "../../../src/shared/logger";
import { readSolutionSource } from "../../../src/solution";

type Emulator = Awaited<ReturnType<typeof startDataverseEmulator>>;
let emu: Emulator;

beforeAll(async () => {
  emu = await startDataverseEmulator();
  emu.applySolutionModel(await readSolutionSource());
});
afterAll(async () => {
  await emu?.whenIdle();
  await emu?.close();
});

it("registers its endpoint and steps at start-up, once, whatever the number of instances", async () => {
  const dv = new DataverseClient({ url: emu.url, auth: { kind: "static", token: emu.integrationToken } });
  const config = loadConfig({
    DATAVERSE_URL: emu.url,
    DATAVERSE_TOKEN: emu.integrationToken,
    WEBHOOK_KEY: "self-registration-key-0123",
    DATAVERSE_REGISTER_WEBHOOK: "true",
    FUNCTIONS_BASE_URL: "https://contoso-ion.azurewebsites.net",
  });
  expect(await dv.queryAll("sdkmessageprocessingsteps", { select: ["name"], filter: "startswith(name,'StreamOne')" })).toHaveLength(0);
  const instances = [1, 2].map((n) => createRuntime(config, { dataverse: dv, logger: silentLogger, holderId: `instance-${n}` }));
  await Promise.all(instances.map((r) => r.ensureWebhookRegistration()));
  await instances[0]!.ensureWebhookRegistration(); // again: idempotent

  const endpoints = await dv.queryAll<{ url: string }>("serviceendpoints", { select: ["url"] });
  expect(endpoints.map((e) => e.url)).toStrictEqual(["https://contoso-ion.azurewebsites.net/api/dataverse/webhook"]);
  // Every step of this release, each exactly once.
  const steps = await dv.queryAll<{ name: string }>("sdkmessageprocessingsteps", { select: ["name"] });
  expect(steps.map((s) => s.name).sort()).toStrictEqual(WEBHOOK_STEPS.map((s) => s.name).sort());
});
