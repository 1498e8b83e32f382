/**
 * The webhook service endpoint and its steps, registered after import through the Web API.
 *
 * Neither travels in the solution zip. The endpoint's URL and key belong to one environment (the key is a
 * secret and `authvalue` is write-only), and a step on a custom API's message must name that message by an
 * id Dataverse assigns when the API is created in each environment, so a zip can only carry an invented id.
 * `ensureWebhookRegistration` reads the message ids by name instead and creates or updates the endpoint, the
 * eight steps and their pre-images. It is idempotent (rows have fixed ids; what already
 * matches is left alone) and safe when two callers run it at once (a create that loses the race to the same
 * id reads "duplicate key" and updates the winner's row instead). It runs from `streamone-ion deploy` and,
 * for maker-portal or pipeline imports, from the functions app at start-up or `streamone-ion register-webhook`.
 */
import { DataverseApiError, DataverseConcurrencyError, odataString } from "../dataverse";
import { type Logger, silentLogger } from "../shared/logger";
import { registerSecret } from "../shared/redact";
import { WEBHOOK_PATH, WEBHOOK_SERVICE_ENDPOINT } from "../solution/contract";
import type { ServiceEndpointDef, StepDef, StepImageDef } from "../solution/model";
import { normalizeGuid, stableGuid } from "../solution/xml";
import { DeployError } from "./types";
import type { DeployDataverseClient } from "./webapi";

export type RegistrationClient = Pick<DeployDataverseClient, "queryFirst" | "create" | "update">;

/** The endpoint: a webhook (contract 8) sending JSON, authenticated by a function key (auth type 4, `?code=`). */
export const WEBHOOK_ENDPOINT: Readonly<ServiceEndpointDef> = {
  id: "4e7e037d-724f-5a13-9830-75439ebaadc7",
  name: WEBHOOK_SERVICE_ENDPOINT,
  description: "Webhook to the StreamOne Ion Functions app.",
  contract: 8,
  authType: 4,
  url: "",
  messageFormat: 2,
  userClaim: 1,
};

const SYNC_STEP_DESCRIPTION = "Synchronous: the call fails with the functions app's message when the work cannot start.";

function customApiStep(id: string, message: string, table: string): StepDef {
  return {
    id,
    name: `${WEBHOOK_SERVICE_ENDPOINT}: ${message} of ${table}`,
    message,
    primaryEntity: table,
    serviceEndpointId: WEBHOOK_ENDPOINT.id,
    stage: 40,
    mode: 0,
    rank: 1,
    filteringAttributes: [],
    asyncAutoDelete: false,
    images: [],
    description: SYNC_STEP_DESCRIPTION,
  };
}

/** The steps, with the ids they have always had (an environment that had them from an older package keeps its rows). */
export const WEBHOOK_STEPS: readonly StepDef[] = [
  customApiStep("42dd81d0-5c34-5a50-8ea1-0c64cb1e8f75", "w365_VerifyConnectivity", "w365_providerconnection"),
  customApiStep("d5b3ba49-a2fd-5356-8031-b2a2b2940399", "w365_SyncProviderAccounts", "w365_providerconnection"),
  customApiStep("410b58b4-544f-587a-aaa8-39895ba6b1b3", "w365_SyncSubscriptions", "w365_providerconnection"),
  customApiStep("d7fd6ea7-07ec-5068-a551-28f92ab95dde", "w365_MapProviderAccount", "w365_provideraccount"),
  {
    id: "59576c8a-1006-5c67-8375-c9b6cee0b9b4",
    name: `${WEBHOOK_SERVICE_ENDPOINT}: Create of w365_providerconnection`,
    message: "Create",
    primaryEntity: "w365_providerconnection",
    serviceEndpointId: WEBHOOK_ENDPOINT.id,
    stage: 40,
    mode: 1,
    rank: 1,
    filteringAttributes: [],
    asyncAutoDelete: true,
    images: [],
    description: "Asynchronous: verifies a new connector's credentials.",
  },
  {
    id: "50672748-a274-53bb-a512-7c9075f4ea0d",
    name: `${WEBHOOK_SERVICE_ENDPOINT}: Update of w365_providerconnection`,
    message: "Update",
    primaryEntity: "w365_providerconnection",
    serviceEndpointId: WEBHOOK_ENDPOINT.id,
    stage: 40,
    mode: 1,
    rank: 1,
    filteringAttributes: ["w365_refreshtoken"],
    asyncAutoDelete: true,
    images: [],
    description:
      "Asynchronous: verifies a newly entered refresh token. Updates made by the integration user (token rotation) must be ignored by the handler.",
  },
  {
    id: "b960314e-47c4-510b-8b07-594b5b1aff73",
    name: `${WEBHOOK_SERVICE_ENDPOINT}: Update of w365_providersubscription`,
    message: "Update",
    primaryEntity: "w365_providersubscription",
    serviceEndpointId: WEBHOOK_ENDPOINT.id,
    stage: 40,
    mode: 1,
    rank: 1,
    filteringAttributes: ["w365_requestedautorenew", "w365_requestedquantity", "w365_requestedstatus"],
    asyncAutoDelete: true,
    images: [
      {
        name: "PreImage",
        entityAlias: "PreImage",
        imageType: 0,
        attributes: [
          "w365_autorenew",
          "w365_quantity",
          "w365_requestedautorenew",
          "w365_requestedquantity",
          "w365_requestedstatus",
          "w365_status",
        ],
      },
    ],
    description: "Asynchronous: places the requested change in Ion as an order.",
  },
  {
    id: "0f3c6a5e-8d1b-5b7e-9a42-6c2d8e4f1a37",
    name: `${WEBHOOK_SERVICE_ENDPOINT}: Delete of account`,
    message: "Delete",
    primaryEntity: "account",
    serviceEndpointId: WEBHOOK_ENDPOINT.id,
    stage: 40,
    mode: 1,
    rank: 1,
    filteringAttributes: [],
    asyncAutoDelete: true,
    // A Delete carries only a reference to the row: the image is how the handler learns the id and the name.
    images: [{ name: "PreImage", entityAlias: "PreImage", imageType: 0, attributes: ["accountid", "name"] }],
    description: "Asynchronous: re-opens matching for the provider accounts mapped or suggested to the deleted account.",
  },
];

/** The image's row id: fixed per step and image name, so a second run finds it. */
export function stepImageId(step: Pick<StepDef, "id">, image: Pick<StepImageDef, "name">): string {
  return stableGuid(`image:${step.id}:${image.name}`);
}

export interface WebhookRegistrationOptions {
  /** Root of the functions app (https://contoso-ion.azurewebsites.net); the webhook posts to <root>/api/dataverse/webhook. */
  functionsUrl: string;
  /** The function key Dataverse sends as `?code=`. Secret: never logged. */
  webhookKey: string;
  logger?: Logger;
  /** Defaults to the product's endpoint and steps; tests pass subsets. */
  endpoint?: Readonly<ServiceEndpointDef>;
  steps?: readonly StepDef[];
}

export interface WebhookRegistrationResult {
  serviceEndpointId: string;
  endpoint: "created" | "updated";
  steps: { step: string; message: string; action: "created" | "updated" | "unchanged" }[];
}

interface StepRow {
  sdkmessageprocessingstepid: string;
  name?: string | null;
  mode?: number | null;
  stage?: number | null;
  rank?: number | null;
  filteringattributes?: string | null;
  asyncautodelete?: boolean | null;
  _sdkmessageid_value?: string | null;
  _sdkmessagefilterid_value?: string | null;
  _eventhandler_value?: string | null;
  statecode?: number | null;
  statuscode?: number | null;
}

/**
 * A step's state (sdkmessageprocessingstep table reference on Microsoft Learn: statecode 0 Enabled / 1 Disabled,
 * statuscode 1 Enabled / 2 Disabled). Dataverse runs only enabled steps, and an admin can disable one in the
 * Plug-in Registration Tool; the registration turns it back on. The same page lists SetState for this table
 * as a PATCH of statecode and statuscode, so the state travels in the ordinary update. statecode is not
 * valid for create; a new step starts Enabled.
 * https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/sdkmessageprocessingstep
 */
const STEP_ENABLED = { statecode: 0, statuscode: 1 } as const;

/** True when Dataverse refused a create because a row with that id (or key) exists: another caller won the race. */
function isAlreadyExists(err: unknown): boolean {
  return (
    err instanceof DataverseConcurrencyError || (err instanceof DataverseApiError && /0x80040237|0x80060892/i.test(err.dataverseCode ?? ""))
  );
}

/** Create with a fixed id; when the row appeared meanwhile, report it so the caller updates it instead. */
async function createOnce(client: RegistrationClient, entitySet: string, body: Record<string, unknown>): Promise<"created" | "exists"> {
  try {
    await client.create(entitySet, body);
    return "created";
  } catch (err) {
    if (isAlreadyExists(err)) return "exists";
    throw err;
  }
}

function webhookUrl(functionsUrl: string): string {
  const base = functionsUrl.trim().replace(/\/+$/, "");
  if (!/^https?:\/\/[^\s/]+/i.test(base)) {
    throw new DeployError("DEPLOY_BAD_SETTING", `Functions URL "${base}" is not an http(s) URL.`, {
      hint: "Pass the functions app root, e.g. https://contoso-ion.azurewebsites.net.",
    });
  }
  return `${base}${WEBHOOK_PATH}`;
}

async function ensureEndpoint(
  client: RegistrationClient,
  endpoint: Readonly<ServiceEndpointDef>,
  url: string,
  key: string,
): Promise<{ id: string; action: "created" | "updated" }> {
  const settings = { url, authtype: endpoint.authType, authvalue: key };
  const existing = await client.queryFirst<{ serviceendpointid: string }>("serviceendpoints", {
    select: ["serviceendpointid"],
    filter: `serviceendpointid eq ${endpoint.id} or name eq ${odataString(endpoint.name)}`,
  });
  if (!existing) {
    const outcome = await createOnce(client, "serviceendpoints", {
      serviceendpointid: endpoint.id,
      name: endpoint.name,
      ...(endpoint.description ? { description: endpoint.description } : {}),
      contract: endpoint.contract,
      messageformat: endpoint.messageFormat,
      userclaim: endpoint.userClaim,
      ...settings,
    });
    if (outcome === "created") return { id: endpoint.id, action: "created" };
  }
  const id = existing ? normalizeGuid(existing.serviceendpointid) : endpoint.id;
  // authvalue is write-only: it cannot be compared, so it is always written (the same value is harmless).
  await client.update("serviceendpoints", id, settings);
  return { id, action: "updated" };
}

async function messageIds(client: RegistrationClient, step: StepDef): Promise<{ messageId: string; filterId?: string }> {
  const message = await client.queryFirst<{ sdkmessageid: string }>("sdkmessages", {
    select: ["sdkmessageid"],
    filter: `name eq ${odataString(step.message)}`,
  });
  if (!message) {
    throw new DeployError(
      "DEPLOY_STEP_MESSAGE_MISSING",
      `The message ${step.message} does not exist in this environment, so "${step.name}" cannot be registered.`,
      {
        hint: "Import the StreamOneIonConnector solution first (its custom APIs create their messages), then run this again.",
      },
    );
  }
  const messageId = normalizeGuid(message.sdkmessageid);
  if (!step.primaryEntity) return { messageId };
  const filter = await client.queryFirst<{ sdkmessagefilterid: string }>("sdkmessagefilters", {
    select: ["sdkmessagefilterid"],
    filter: `_sdkmessageid_value eq ${messageId} and primaryobjecttypecode eq ${odataString(step.primaryEntity)}`,
  });
  if (!filter) {
    throw new DeployError(
      "DEPLOY_STEP_MESSAGE_MISSING",
      `The message ${step.message} does not apply to ${step.primaryEntity} in this environment.`,
      {
        hint: "Check that the solution import completed (Solutions → History in the maker portal).",
      },
    );
  }
  return { messageId, filterId: normalizeGuid(filter.sdkmessagefilterid) };
}

function stepBody(step: StepDef, ids: { messageId: string; filterId?: string }, endpointId: string): Record<string, unknown> {
  return {
    name: step.name,
    ...(step.description ? { description: step.description } : {}),
    mode: step.mode,
    stage: step.stage,
    rank: step.rank,
    asyncautodelete: step.asyncAutoDelete,
    supporteddeployment: 0, // server only
    filteringattributes: step.filteringAttributes.length > 0 ? step.filteringAttributes.join(",") : null,
    "sdkmessageid@odata.bind": `/sdkmessages(${ids.messageId})`,
    ...(ids.filterId ? { "sdkmessagefilterid@odata.bind": `/sdkmessagefilters(${ids.filterId})` } : {}),
    "eventhandler_serviceendpoint@odata.bind": `/serviceendpoints(${endpointId})`,
  };
}

const sameAttributes = (a: string | null | undefined, b: string[]): boolean =>
  (a ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)
    .sort()
    .join(",") ===
  [...b]
    .map((s) => s.toLowerCase())
    .sort()
    .join(",");

function stepMatches(row: StepRow, step: StepDef, ids: { messageId: string; filterId?: string }, endpointId: string): boolean {
  return (
    row.name === step.name &&
    Number(row.mode) === step.mode &&
    Number(row.stage) === step.stage &&
    Number(row.rank) === step.rank &&
    Boolean(row.asyncautodelete) === step.asyncAutoDelete &&
    sameAttributes(row.filteringattributes, step.filteringAttributes) &&
    normalizeGuid(row._sdkmessageid_value ?? "") === ids.messageId &&
    (ids.filterId === undefined || normalizeGuid(row._sdkmessagefilterid_value ?? "") === ids.filterId) &&
    normalizeGuid(row._eventhandler_value ?? "") === endpointId &&
    Number(row.statecode ?? 0) === STEP_ENABLED.statecode &&
    Number(row.statuscode ?? STEP_ENABLED.statuscode) === STEP_ENABLED.statuscode
  );
}

async function ensureImage(client: RegistrationClient, step: StepDef, image: StepImageDef): Promise<void> {
  const id = stepImageId(step, image);
  const body = {
    name: image.name,
    entityalias: image.entityAlias,
    imagetype: image.imageType,
    messagepropertyname: step.message === "Create" ? "Id" : "Target",
    attributes: image.attributes.join(","),
  };
  const existing = await client.queryFirst<{ sdkmessageprocessingstepimageid: string }>("sdkmessageprocessingstepimages", {
    select: ["sdkmessageprocessingstepimageid"],
    filter: `sdkmessageprocessingstepimageid eq ${id}`,
  });
  if (!existing) {
    const outcome = await createOnce(client, "sdkmessageprocessingstepimages", {
      sdkmessageprocessingstepimageid: id,
      ...body,
      "sdkmessageprocessingstepid@odata.bind": `/sdkmessageprocessingsteps(${step.id})`,
    });
    if (outcome === "created") return;
  }
  await client.update("sdkmessageprocessingstepimages", id, body);
}

/**
 * Make the environment's webhook endpoint and steps match this release: endpoint URL and key, each step bound
 * to the message of that name and to the endpoint and enabled, and the pre-image. Safe to run on every start-up.
 */
export async function ensureWebhookRegistration(
  client: RegistrationClient,
  opts: WebhookRegistrationOptions,
): Promise<WebhookRegistrationResult> {
  const logger = opts.logger ?? silentLogger;
  if (!opts.webhookKey) {
    throw new DeployError("DEPLOY_BAD_SETTING", "The webhook key is empty.", {
      hint: "Pass the functions app's webhook function key (Azure portal → the function app → App keys or the webhook function's keys).",
    });
  }
  registerSecret(opts.webhookKey);
  const endpointDef = opts.endpoint ?? WEBHOOK_ENDPOINT;
  const endpoint = await ensureEndpoint(client, endpointDef, webhookUrl(opts.functionsUrl), opts.webhookKey);
  const result: WebhookRegistrationResult = { serviceEndpointId: endpoint.id, endpoint: endpoint.action, steps: [] };
  for (const step of opts.steps ?? WEBHOOK_STEPS) {
    const ids = await messageIds(client, step);
    const body = stepBody(step, ids, endpoint.id);
    const row = await client.queryFirst<StepRow>("sdkmessageprocessingsteps", {
      select: [
        "sdkmessageprocessingstepid",
        "name",
        "mode",
        "stage",
        "rank",
        "filteringattributes",
        "asyncautodelete",
        "_sdkmessageid_value",
        "_sdkmessagefilterid_value",
        "_eventhandler_value",
        "statecode",
        "statuscode",
      ],
      filter: `sdkmessageprocessingstepid eq ${step.id}`,
    });
    let action: "created" | "updated" | "unchanged";
    if (!row) {
      action =
        (await createOnce(client, "sdkmessageprocessingsteps", { sdkmessageprocessingstepid: step.id, ...body })) === "created"
          ? "created"
          : "updated";
      if (action === "updated") await client.update("sdkmessageprocessingsteps", step.id, { ...body, ...STEP_ENABLED });
    } else if (stepMatches(row, step, ids, endpoint.id)) {
      action = "unchanged";
    } else {
      await client.update("sdkmessageprocessingsteps", step.id, { ...body, ...STEP_ENABLED });
      action = "updated";
    }
    for (const image of step.images) await ensureImage(client, step, image);
    result.steps.push({ step: step.name, message: step.message, action });
  }
  logger.info("webhook registration ensured", {
    endpoint: result.endpoint,
    created: result.steps.filter((s) => s.action === "created").length,
    updated: result.steps.filter((s) => s.action === "updated").length,
  });
  return result;
}
