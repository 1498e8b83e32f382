import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { type DataverseEmulator, startDataverseEmulator } from "../../../sandbox/dataverse";
import { DataverseApiError } from "../../../src/dataverse";
import { DataverseClient } from "../../../src/dataverse";
import {
  type CommandRunner,
  customApiSteps,
  type DeployDataverseClient,
  deploySolution,
  ensureCustomApiSteps,
  isStepMessageRefusal,
  type StepClient,
  withoutCustomApiSteps,
} from "../../../src/deploy";
import { loadSolutionModel, readSolutionZip, type SolutionModel, writeSolutionZip } from "../../../src/solution";
import { makeUiBuild } from "../../support/uiFixture";

const MESSAGE_ID = "0d2f3a4b-1111-4222-8333-444455556666";
const FILTER_ID = "7a7a7a7a-1111-4222-8333-444455556666";

/** A Web API double for the step registration calls only: records what deploy writes. */
function stepApi(opts: { messages?: Record<string, string>; steps?: Record<string, string> } = {}) {
  const calls: { op: string; entitySet: string; body?: Record<string, unknown>; key?: unknown }[] = [];
  const client: StepClient = {
    queryFirst: (async (entitySet: string, o: { filter?: string } = {}) => {
      calls.push({ op: "query", entitySet, body: { filter: o.filter } });
      if (entitySet === "sdkmessages") {
        const name = /name eq '([^']+)'/.exec(o.filter ?? "")?.[1] ?? "";
        const id = opts.messages?.[name];
        return id ? { sdkmessageid: id, name } : undefined;
      }
      if (entitySet === "sdkmessagefilters") return { sdkmessagefilterid: FILTER_ID };
      if (entitySet === "sdkmessageprocessingsteps") {
        const id = /sdkmessageprocessingstepid eq ([0-9a-f-]+)/.exec(o.filter ?? "")?.[1] ?? "";
        const bound = opts.steps?.[id];
        return bound !== undefined ? { sdkmessageprocessingstepid: id, _sdkmessageid_value: bound } : undefined;
      }
      return undefined;
    }) as StepClient["queryFirst"],
    create: async (entitySet, body) => (calls.push({ op: "create", entitySet, body }), String(body.sdkmessageprocessingstepid)),
    update: async (entitySet, key, body) => void calls.push({ op: "update", entitySet, key, body }),
    executeAction: (async (name: string, params: Record<string, unknown>) => (
      calls.push({ op: "action", entitySet: name, body: params }),
      {}
    )) as StepClient["executeAction"],
  };
  return { client, calls };
}

describe("webhook steps on the custom API messages", () => {
  let model: SolutionModel;
  beforeAll(async () => {
    model = await loadSolutionModel({ uiDir: await makeUiBuild() });
  });

  it("are the four steps bound to the custom APIs, not the Create/Update ones", () => {
    expect(
      customApiSteps(model)
        .map((s) => s.message)
        .sort(),
    ).toStrictEqual(["w365_MapProviderAccount", "w365_SyncProviderAccounts", "w365_SyncSubscriptions", "w365_VerifyConnectivity"]);
  });

  it("registers a missing step on the environment's message, with the solution's id, and adds it to the solution", async () => {
    const step = customApiSteps(model).find((s) => s.message === "w365_SyncSubscriptions")!;
    const { client, calls } = stepApi({ messages: { w365_SyncSubscriptions: MESSAGE_ID } });
    const out = await ensureCustomApiSteps(client, [step], { solutionUniqueName: "StreamOneIonConnector" });
    expect(out).toStrictEqual([{ step: step.name, message: "w365_SyncSubscriptions", action: "created" }]);
    const created = calls.find((c) => c.op === "create")!;
    expect(created.entitySet).toBe("sdkmessageprocessingsteps");
    expect(created.body).toMatchObject({
      sdkmessageprocessingstepid: step.id,
      name: step.name,
      mode: 0,
      stage: 40,
      "sdkmessageid@odata.bind": `/sdkmessages(${MESSAGE_ID})`,
      "sdkmessagefilterid@odata.bind": `/sdkmessagefilters(${FILTER_ID})`,
      "eventhandler_serviceendpoint@odata.bind": `/serviceendpoints(${step.serviceEndpointId})`,
    });
    const filterQuery = calls.find((c) => c.entitySet === "sdkmessagefilters")!;
    expect(filterQuery.body!.filter).toBe(`_sdkmessageid_value eq ${MESSAGE_ID} and primaryobjecttypecode eq 'w365_providerconnection'`);
    expect(calls.find((c) => c.op === "action")).toMatchObject({
      entitySet: "AddSolutionComponent",
      body: { ComponentId: step.id, ComponentType: 92, SolutionUniqueName: "StreamOneIonConnector", AddRequiredComponents: false },
    });
  });

  it("leaves a step bound to the right message alone and re-binds one bound to another", async () => {
    const [a, b] = customApiSteps(model);
    const { client, calls } = stepApi({
      messages: { [a!.message]: MESSAGE_ID, [b!.message]: MESSAGE_ID },
      steps: { [a!.id]: MESSAGE_ID.toUpperCase(), [b!.id]: "99999999-0000-4000-8000-000000000000" },
    });
    const out = await ensureCustomApiSteps(client, [a!, b!], { solutionUniqueName: "S" });
    expect(out.map((o) => o.action)).toStrictEqual(["verified", "rebound"]);
    expect(calls.filter((c) => c.op === "create")).toStrictEqual([]);
    expect(calls.find((c) => c.op === "update")).toMatchObject({
      key: b!.id,
      body: { "sdkmessageid@odata.bind": `/sdkmessages(${MESSAGE_ID})` },
    });
  });

  it("fails with a clear code when the custom API's message is not there", async () => {
    const { client } = stepApi();
    await expect(ensureCustomApiSteps(client, customApiSteps(model).slice(0, 1), { solutionUniqueName: "S" })).rejects.toMatchObject({
      code: "DEPLOY_STEP_MESSAGE_MISSING",
    });
  });

  it("strips them (and only them) from a package", async () => {
    const zip = await writeSolutionZip(model, { managed: false });
    const { zip: stripped, removed } = await withoutCustomApiSteps(zip, false);
    expect(removed).toHaveLength(4);
    const back = await readSolutionZip(stripped);
    expect(back.steps.map((s) => s.message).sort()).toStrictEqual(["Create", "Update", "Update"]);
    expect(back.customApis).toHaveLength(4);
  });

  it("recognises Dataverse refusing a step's message", () => {
    expect(isStepMessageRefusal(new Error("sdkmessage With Id = 8afdf67d-8487-5ec6-a966-90c44f599374 Does Not Exist"))).toBe(true);
    expect(isStepMessageRefusal(new Error("A managed solution cannot overwrite the Attribute component"))).toBe(false);
  });
});

describe("deploySolution with pac and the custom API steps", () => {
  it("re-imports the package without the steps, not the original zip on disk, when pac's import refuses them", async () => {
    const model = await loadSolutionModel({ uiDir: await makeUiBuild() });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "w365-deploy-test-"));
    const zipPath = path.join(dir, "StreamOneIonConnector.zip");
    await fs.writeFile(zipPath, await writeSolutionZip(model, { managed: false }));
    const messages = Object.fromEntries(customApiSteps(model).map((s) => [s.message, MESSAGE_ID]));
    const { client: steps } = stepApi({ messages });
    const client = {
      ...steps,
      whoAmI: async () => ({
        UserId: "3f2b1c4d-0000-4000-8000-000000000001",
        BusinessUnitId: "3f2b1c4d-0000-4000-8000-000000000002",
        OrganizationId: "3f2b1c4d-0000-4000-8000-000000000003",
      }),
      retrieve: (async () => ({})) as DeployDataverseClient["retrieve"],
    } as DeployDataverseClient;
    const imported: Buffer[] = [];
    const pacCalls: string[] = [];
    const runCommand: CommandRunner = async (_cmd, args) => {
      pacCalls.push(args.slice(0, 2).join(" "));
      if (args[0] !== "solution") return { code: 0, stdout: "", stderr: "" };
      imported.push(await fs.readFile(args[args.indexOf("--path") + 1]!));
      return imported.length === 1
        ? { code: 1, stdout: "", stderr: "sdkmessage With Id = 8afdf67d-8487-5ec6-a966-90c44f599374 Does Not Exist" }
        : { code: 0, stdout: "", stderr: "" };
    };
    try {
      const r = await deploySolution({
        environmentUrl: "https://contoso.crm.dynamics.com",
        auth: { kind: "msal", tenantId: "t-1", clientId: "c-1", clientSecret: "pac-client-secret-value" },
        client,
        zipPath,
        usePac: true,
        pacPath: "/usr/bin/pac",
        runCommand,
      });
      expect(imported).toHaveLength(2);
      expect((await readSolutionZip(imported[0]!)).steps).toHaveLength(model.steps.length);
      expect((await readSolutionZip(imported[1]!)).steps).toHaveLength(model.steps.length - 4);
      expect(r.customApiSteps.map((s) => s.action)).toStrictEqual(["created", "created", "created", "created"]);
      // deploy deletes pac's auth profile when it is done.
      expect(pacCalls.at(-1)).toBe("auth delete");
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe("deploySolution and the custom API steps (Dataverse emulator)", () => {
  let model: SolutionModel;
  let emulator: DataverseEmulator;
  beforeAll(async () => {
    model = await loadSolutionModel({ uiDir: await makeUiBuild() });
  });
  beforeEach(async () => {
    emulator = await startDataverseEmulator();
  });
  afterEach(async () => {
    await emulator.close();
  });
  const auth = () => ({ kind: "static" as const, token: emulator.integrationToken });

  it("verifies each custom API step after import", async () => {
    const r = await deploySolution({ environmentUrl: emulator.url, auth: auth(), zip: await writeSolutionZip(model, { managed: false }) });
    expect(r.customApiSteps.map((s) => s.action)).toStrictEqual(["verified", "verified", "verified", "verified"]);
    expect(r.warnings).toStrictEqual([]);
  });

  it("imports without the custom API steps when Dataverse refuses their message, then registers them", async () => {
    const real = new DataverseClient({ url: emulator.url, auth: auth() });
    const imported: Buffer[] = [];
    const created: Record<string, unknown>[] = [];
    let refused = false;
    const client = {
      whoAmI: () => real.whoAmI(),
      retrieve: real.retrieve.bind(real),
      update: real.update.bind(real),
      create: async (entitySet: string, body: Record<string, unknown>) => {
        if (entitySet === "sdkmessageprocessingsteps") return (created.push(body), String(body.sdkmessageprocessingstepid));
        return real.create(entitySet, body);
      },
      queryFirst: (async (entitySet: string, o: Parameters<DataverseClient["queryFirst"]>[1]) => {
        // A message id unlike the emulator's (as in a real environment), so the steps are registered, not verified.
        if (entitySet === "sdkmessages") return { sdkmessageid: MESSAGE_ID };
        if (entitySet === "sdkmessageprocessingsteps") return undefined;
        return real.queryFirst(entitySet, o);
      }) as DataverseClient["queryFirst"],
      executeAction: (async (name: string, params: Record<string, unknown> = {}) => {
        if (name === "ImportSolution") {
          imported.push(Buffer.from(String(params.CustomizationFile), "base64"));
          if (!refused) {
            refused = true;
            throw new DataverseApiError("DATAVERSE_ERROR", "sdkmessage With Id = 8afdf67d-8487-5ec6-a966-90c44f599374 Does Not Exist", {
              statusCode: 404,
              dataverseCode: "0x80040217",
            });
          }
        }
        if (name === "AddSolutionComponent") return {};
        return real.executeAction(name, params);
      }) as DataverseClient["executeAction"],
    };
    const r = await deploySolution({
      environmentUrl: emulator.url,
      auth: auth(),
      client,
      zip: await writeSolutionZip(model, { managed: false }),
    });
    expect(imported).toHaveLength(2);
    expect((await readSolutionZip(imported[1]!)).steps).toHaveLength(3);
    expect(r.customApiSteps.map((s) => s.action)).toStrictEqual(["created", "created", "created", "created"]);
    expect(created.map((b) => b.name).sort()).toStrictEqual(
      customApiSteps(model)
        .map((s) => s.name)
        .sort(),
    );
    expect(r.warnings[0]).toMatch(/refused the 4 custom API step/);
  });
});
