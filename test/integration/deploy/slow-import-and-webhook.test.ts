/**
 * Deploy against an import that takes minutes, and the webhook registration that follows every import.
 * The emulator's import runs for three minutes by its own clock; deploy's poll loop sleeps on the same fake
 * clock, so the test polls over HTTP as production does without waiting three real minutes.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { type DataverseEmulator, startDataverseEmulator } from "../../../sandbox/dataverse";
import { DataverseClient } from "../../../src/dataverse";
import {
  deploySolution,
  ensureWebhookRegistration,
  type ImportProgress,
  stepImageId,
  WEBHOOK_ENDPOINT,
  WEBHOOK_STEPS,
} from "../../../src/deploy";
import { loadSolutionModel, type SolutionModel, writeSolutionZip } from "../../../src/solution";
import { makeUiBuild } from "../../support/uiFixture";
import { startImportedSolutionEmulator } from "../../support/world";

const KEY = "fk-slow-import-0123456789-secret";
const THREE_MINUTES = 3 * 60_000;

function fakeClock() {
  let t = Date.UTC(2026, 0, 1);
  return {
    now: () => t,
    // Advance the emulator's notion of time, and give its background import a real moment to notice.
    sleep: async (ms: number) => {
      t += ms;
      await new Promise((r) => setTimeout(r, 2));
    },
  };
}

describe("deploy survives a slow import", () => {
  let model: SolutionModel;
  let emulator: DataverseEmulator | undefined;
  beforeAll(async () => {
    model = await loadSolutionModel({ uiDir: await makeUiBuild() });
  });
  afterEach(async () => {
    await emulator?.close();
    emulator = undefined;
  });

  it("polls a 3-minute ImportSolutionAsync to the end, shows progress, then registers the webhook", async () => {
    const clock = fakeClock();
    emulator = await startDataverseEmulator({ clock, importDurationMs: THREE_MINUTES });
    const progress: ImportProgress[] = [];
    const result = await deploySolution({
      environmentUrl: emulator.url,
      auth: { kind: "static", token: emulator.integrationToken },
      zip: await writeSolutionZip(model, { managed: false }),
      settings: { functionsBaseUrl: "https://ion-fn.example.net", webhookKey: KEY },
      sleep: clock.sleep,
      now: clock.now,
      onProgress: (p) => progress.push(p),
    });
    expect(result.version).toBe(model.version);
    const last = progress[progress.length - 1]!;
    expect(last.status).toBe("succeeded");
    expect(last.elapsedMs).toBeGreaterThanOrEqual(THREE_MINUTES);
    // Progress came from the import job while it ran, rising.
    const percents = progress.filter((p) => p.status === "running" && p.percent !== undefined).map((p) => p.percent!);
    expect(percents.length).toBeGreaterThan(10);
    expect(percents[percents.length - 1]!).toBeGreaterThan(percents[0]!);
    expect(result.webhook?.steps).toHaveLength(WEBHOOK_STEPS.length);
    expect(result.webhook?.steps.every((s) => s.action === "created")).toBe(true);
  });

  it("gives up with DEPLOY_IMPORT_TIMEOUT (and says the import may still finish) when the import outlasts the limit", async () => {
    const clock = fakeClock();
    emulator = await startDataverseEmulator({ clock, importDurationMs: THREE_MINUTES });
    await expect(
      deploySolution({
        environmentUrl: emulator.url,
        auth: { kind: "static", token: emulator.integrationToken },
        zip: await writeSolutionZip(model, { managed: false }),
        sleep: clock.sleep,
        now: clock.now,
        importTimeoutMs: 60_000,
      }),
    ).rejects.toMatchObject({ code: "DEPLOY_IMPORT_TIMEOUT", hint: expect.stringMatching(/may still complete/) });
  });

  it("reports the import log's errors when the import fails", async () => {
    emulator = await startDataverseEmulator();
    // A form giving the control a parameter its manifest lacks: the emulator fails the import as a tenant does.
    const broken: SolutionModel = {
      ...model,
      tables: model.tables.map((t) => ({
        ...t,
        forms: t.forms.map((f) => ({
          ...f,
          formXml: f.formXml.split("<hostField ").join("<value ").split("</hostField>").join("</value>"),
        })),
      })),
    };
    await expect(
      deploySolution({
        environmentUrl: emulator.url,
        auth: { kind: "static", token: emulator.integrationToken },
        zip: await writeSolutionZip(broken, { managed: false }),
      }),
    ).rejects.toMatchObject({
      code: "DEPLOY_IMPORT_FAILED",
      message: expect.stringMatching(/parameter\(s\) value, which its manifest does not declare/),
    });
  });
});

describe("ensureWebhookRegistration", () => {
  let emulator: DataverseEmulator;
  let client: DataverseClient;
  beforeAll(async () => {
    ({ emulator, client } = await startImportedSolutionEmulator());
  });
  afterAll(() => emulator.close());

  it("creates the endpoint, the steps bound to the messages by name and the pre-image; a second run changes nothing; two at once agree", async () => {
    const [a, b] = await Promise.all([
      ensureWebhookRegistration(client, { functionsUrl: "https://fn.example.net/", webhookKey: KEY }),
      ensureWebhookRegistration(client, { functionsUrl: "https://fn.example.net/", webhookKey: KEY }),
    ]);
    expect(a.serviceEndpointId).toBe(WEBHOOK_ENDPOINT.id);
    expect(b.serviceEndpointId).toBe(WEBHOOK_ENDPOINT.id);
    const endpoints = await client.queryAll<{ url: string; authtype: number }>("serviceendpoints", { select: ["url", "authtype"] });
    expect(endpoints).toStrictEqual([expect.objectContaining({ url: "https://fn.example.net/api/dataverse/webhook", authtype: 4 })]);
    const steps = await client.queryAll<{ sdkmessageprocessingstepid: string; _sdkmessageid_value: string; _eventhandler_value: string }>(
      "sdkmessageprocessingsteps",
      { select: ["sdkmessageprocessingstepid", "_sdkmessageid_value", "_eventhandler_value"] },
    );
    expect(steps).toHaveLength(WEBHOOK_STEPS.length);
    for (const step of WEBHOOK_STEPS) {
      const message = await client.queryFirst<{ sdkmessageid: string }>("sdkmessages", {
        select: ["sdkmessageid"],
        filter: `name eq '${step.message}'`,
      });
      const row = steps.find((s) => s.sdkmessageprocessingstepid === step.id)!;
      expect(row._sdkmessageid_value).toBe(message!.sdkmessageid);
      expect(row._eventhandler_value).toBe(WEBHOOK_ENDPOINT.id);
    }
    const images = await client.queryAll<{ sdkmessageprocessingstepimageid: string; attributes: string }>(
      "sdkmessageprocessingstepimages",
      {
        select: ["sdkmessageprocessingstepimageid", "attributes"],
      },
    );
    const expected = WEBHOOK_STEPS.flatMap((step) =>
      step.images.map((image) => ({
        sdkmessageprocessingstepimageid: stepImageId(step, image),
        attributes: image.attributes.join(","),
        "@odata.etag": expect.any(String),
      })),
    );
    const byId = (a: { sdkmessageprocessingstepimageid: string }, b: { sdkmessageprocessingstepimageid: string }) =>
      a.sdkmessageprocessingstepimageid.localeCompare(b.sdkmessageprocessingstepimageid);
    expect([...images].sort(byId)).toStrictEqual(expected.sort(byId));

    const again = await ensureWebhookRegistration(client, { functionsUrl: "https://fn.example.net", webhookKey: KEY });
    expect(again.steps.map((s) => s.action)).toStrictEqual(WEBHOOK_STEPS.map(() => "unchanged"));
  });

  it("re-binds a step an admin pointed elsewhere, and refuses a bad URL or an empty key clearly", async () => {
    const step = WEBHOOK_STEPS[0]!;
    await client.update("sdkmessageprocessingsteps", step.id, { mode: 1 });
    const r = await ensureWebhookRegistration(client, { functionsUrl: "https://fn.example.net", webhookKey: KEY });
    expect(r.steps.find((s) => s.step === step.name)!.action).toBe("updated");
    await expect(ensureWebhookRegistration(client, { functionsUrl: "fn.example.net", webhookKey: KEY })).rejects.toMatchObject({
      code: "DEPLOY_BAD_SETTING",
    });
    await expect(ensureWebhookRegistration(client, { functionsUrl: "https://fn.example.net", webhookKey: "" })).rejects.toMatchObject({
      code: "DEPLOY_BAD_SETTING",
    });
  });

  it("says to import the solution first when a custom API's message does not exist yet", async () => {
    const empty = await startDataverseEmulator();
    try {
      const bare = new DataverseClient({ url: empty.url, auth: { kind: "static", token: empty.integrationToken } });
      await expect(ensureWebhookRegistration(bare, { functionsUrl: "https://fn.example.net", webhookKey: KEY })).rejects.toMatchObject({
        code: "DEPLOY_STEP_MESSAGE_MISSING",
        hint: expect.stringMatching(/Import the StreamOneIonConnector solution first/),
      });
    } finally {
      await empty.close();
    }
  });
});

describe("ensureWebhookRegistration and a step an admin disabled", () => {
  let emulator: DataverseEmulator;
  let client: DataverseClient;
  let receiver: Server;
  const received: { message: string; entity: string }[] = [];
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        received.push({
          message: String(req.headers["x-ms-dynamics-request-name"]),
          entity: String(req.headers["x-ms-dynamics-entity-name"]),
        });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    emulator = await startDataverseEmulator();
    const model = await loadSolutionModel({ uiDir: await makeUiBuild() });
    await emulator.importSolution(await writeSolutionZip(model, { managed: false }));
    client = new DataverseClient({ url: emulator.url, auth: { kind: "static", token: emulator.integrationToken } });
  });
  afterAll(async () => {
    await emulator.whenIdle();
    await emulator.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  /** Deletes a new account and returns how many deliveries of its Delete step the functions app received. */
  async function deleteAnAccount(): Promise<number> {
    const before = received.length;
    const id = await client.create("accounts", { name: `Disabled-step check ${before}` });
    await client.delete("accounts", id);
    await emulator.whenIdle();
    return received.slice(before).filter((r) => r.message === "Delete" && r.entity === "account").length;
  }

  it("enables it again, and the webhook fires again", async () => {
    const { port } = receiver.address() as AddressInfo;
    const opts = { functionsUrl: `http://127.0.0.1:${port}`, webhookKey: KEY };
    await ensureWebhookRegistration(client, opts);
    expect(await deleteAnAccount()).toBe(1);

    const step = WEBHOOK_STEPS.find((s) => s.message === "Delete" && s.primaryEntity === "account")!;
    // What the Plug-in Registration Tool's "Disable" does: statecode 1, statuscode 2.
    await client.update("sdkmessageprocessingsteps", step.id, { statecode: 1, statuscode: 2 });
    expect(await deleteAnAccount()).toBe(0);

    const result = await ensureWebhookRegistration(client, opts);
    expect(result.steps.find((s) => s.step === step.name)!.action).toBe("updated");
    expect(result.steps.filter((s) => s.step !== step.name).map((s) => s.action)).toStrictEqual(
      WEBHOOK_STEPS.filter((s) => s !== step).map(() => "unchanged"),
    );
    const row = await client.retrieve<{ statecode: number; statuscode: number }>("sdkmessageprocessingsteps", step.id, {
      select: ["statecode", "statuscode"],
    });
    expect(row).toMatchObject({ statecode: 0, statuscode: 1 });
    expect(await deleteAnAccount()).toBe(1);
  });
});
