/**
 * The deploy fallback end to end against the emulator: Dataverse refuses the package over its custom API steps,
 * deploy imports it without them and registers them through the Web API, and the custom API then calls the webhook.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

import { type DataverseEmulator, startDataverseEmulator } from "../../../sandbox/dataverse";
import { DataverseApiError, DataverseClient } from "../../../src/dataverse";
import { customApiSteps, deploySolution } from "../../../src/deploy";
import { loadSolutionModel, type SolutionModel, writeSolutionZip } from "../../../src/solution";
import { makeUiBuild } from "../../support/uiFixture";

interface Delivery {
  url: string;
  body: { MessageName: string; OwningExtension: { Id: string } };
}

describe("deploy fallback: custom API steps registered through the Web API fire (Dataverse emulator)", () => {
  let model: SolutionModel;
  let emulator: DataverseEmulator;
  let server: http.Server;
  let functionsUrl: string;
  const received: Delivery[] = [];

  beforeAll(async () => {
    model = await loadSolutionModel({ uiDir: await makeUiBuild() });
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ url: req.url ?? "", body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Delivery["body"] });
        res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    functionsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    emulator = await startDataverseEmulator();
  });
  afterAll(async () => {
    await emulator.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("imports without the steps, registers them on the environment's messages, and the custom API calls the webhook", async () => {
    const real = new DataverseClient({ url: emulator.url, auth: { kind: "static", token: emulator.integrationToken } });
    let refusals = 0;
    // Only the first ImportSolution is refused, as Dataverse does over the derived message id; every other call is real.
    const client = Object.assign(Object.create(real) as DataverseClient, {
      executeAction: (async (name: string, params: Record<string, unknown> = {}) => {
        if (name === "ImportSolution" && refusals === 0) {
          refusals++;
          throw new DataverseApiError("DATAVERSE_ERROR", "sdkmessage With Id = 8afdf67d-8487-5ec6-a966-90c44f599374 Does Not Exist", {
            statusCode: 404,
            dataverseCode: "0x80040217",
          });
        }
        return real.executeAction(name, params);
      }) as DataverseClient["executeAction"],
    });
    const r = await deploySolution({
      environmentUrl: emulator.url,
      auth: { kind: "static", token: emulator.integrationToken },
      client,
      zip: await writeSolutionZip(model, { managed: false }),
      settings: { functionsBaseUrl: functionsUrl },
    });
    expect(refusals).toBe(1);
    const apiSteps = customApiSteps(model);
    expect(r.customApiSteps.map((s) => s.action)).toStrictEqual(apiSteps.map(() => "created"));
    expect(r.warnings[0]).toMatch(/refused the 4 custom API step/);

    // The registered steps are real rows on the custom API messages, and members of the solution.
    for (const step of apiSteps) {
      const row = await real.queryFirst<{ _sdkmessageid_value: string; _eventhandler_value: string }>("sdkmessageprocessingsteps", {
        select: ["_sdkmessageid_value", "_eventhandler_value"],
        filter: `sdkmessageprocessingstepid eq ${step.id}`,
      });
      const message = await real.queryFirst<{ sdkmessageid: string }>("sdkmessages", {
        select: ["sdkmessageid"],
        filter: `name eq '${step.message}'`,
      });
      expect(row?._sdkmessageid_value).toBe(message?.sdkmessageid);
      expect(row?._eventhandler_value).toBe(step.serviceEndpointId.toLowerCase());
      const component = await real.queryFirst("solutioncomponents", { select: ["componenttype"], filter: `objectid eq '${step.id}'` });
      expect(component).toMatchObject({ componenttype: 92 });
    }

    // And the pipeline runs them: calling the custom API reaches the functions app with the step as owner.
    const verify = apiSteps.find((s) => s.message === "w365_VerifyConnectivity")!;
    const api = model.customApis.find((a) => a.uniqueName === verify.message)!;
    const table = model.tables.find((t) => t.logicalName === api.boundEntityLogicalName)!;
    const id = await real.create(table.entitySetName, { [table.primaryNameAttribute]: "Fallback connection" });
    await real.executeAction(api.uniqueName, {}, { entitySet: table.entitySetName, id });
    await emulator.whenIdle();
    const hit = received.filter((d) => d.body.MessageName === "w365_VerifyConnectivity");
    expect(hit).toHaveLength(1);
    expect(hit[0]!.body.OwningExtension.Id).toBe(verify.id.toLowerCase());
    expect(hit[0]!.url.startsWith("/api/")).toBe(true);
  });
});
