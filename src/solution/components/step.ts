/**
 * SDK message processing steps (`<SdkMessageProcessingStep>`). A step names its message by id. Only the
 * platform's own messages have the same id in every environment, so only steps on those can travel in a
 * zip; a step on a custom API message is registered after import (src/deploy/webhookRegistration.ts).
 */
import type { StepDef, StepImageDef } from "../model";
import { attr, bool01, bracedGuid, child, children, el, int, normalizeGuid, SolutionFormatError, stableGuid, text, textEl, type XmlElement, type XNode } from "../xml";

/**
 * The platform messages' ids: the same in every environment (a `pac solution clone` of a real step shows
 * them). A custom API's message gets a fresh id in each environment when the API is created, so it has none here.
 */
export const SDK_MESSAGE_IDS: Record<string, string> = {
  Create: "9ebdbb1b-ea3e-db11-86a7-000a3a5473e8",
  Update: "20bebb1b-ea3e-db11-86a7-000a3a5473e8",
};

/** The id a step names its message by: the one it was read with, else the platform message's fixed id. */
export function sdkMessageId(step: Pick<StepDef, "message" | "sdkMessageId" | "name">): string {
  const id = step.sdkMessageId ?? SDK_MESSAGE_IDS[step.message];
  if (!id) {
    throw new SolutionFormatError(
      `Step "${step.name}" is on the message ${step.message}, whose id differs in every environment, so it cannot be carried in a solution zip.`,
      { hint: "Register it after import with ensureWebhookRegistration (src/deploy)." },
    );
  }
  return id;
}

/** serviceendpoint object type code: the step's event handler is a service endpoint, not a plug-in type. */
export const SERVICE_ENDPOINT_TYPE_CODE = 4618;

export function stepXml(step: StepDef, version: string): XmlElement {
  return el(
    "SdkMessageProcessingStep",
    { Name: step.name, SdkMessageProcessingStepId: bracedGuid(step.id) },
    step.primaryEntity ? textEl("PrimaryEntity", step.primaryEntity) : undefined,
    textEl("AsyncAutoDelete", step.asyncAutoDelete ? 1 : 0),
    step.description ? textEl("Description", step.description) : undefined,
    step.filteringAttributes.length > 0 ? textEl("FilteringAttributes", step.filteringAttributes.join(",")) : undefined,
    textEl("InvocationSource", 0),
    textEl("Mode", step.mode),
    textEl("Rank", step.rank),
    textEl("SdkMessageId", bracedGuid(sdkMessageId(step))),
    textEl("EventHandler", bracedGuid(step.serviceEndpointId)),
    textEl("EventHandlerTypeCode", SERVICE_ENDPOINT_TYPE_CODE),
    textEl("Stage", step.stage),
    textEl("IsCustomizable", 1),
    textEl("IsHidden", 0),
    textEl("SupportedDeployment", 0),
    textEl("IntroducedVersion", version),
    step.images.length > 0
      ? el(
          "SdkMessageProcessingStepImages",
          null,
          step.images.map((img) =>
            el(
              "SdkMessageProcessingStepImage",
              { Name: img.name },
              textEl("SdkMessageProcessingStepImageId", bracedGuid(stableGuid(`image:${step.id}:${img.name}`))),
              textEl("Attributes", img.attributes.join(",")),
              textEl("EntityAlias", img.entityAlias),
              textEl("ImageType", img.imageType),
              textEl("MessagePropertyName", step.message === "Create" ? "Id" : "Target"),
              textEl("IsCustomizable", 1),
            ),
          ),
        )
      : undefined,
  );
}

/** Step names follow "<prefix>: <Message> of <entity>" or "<prefix>: <Message>"; see solution/README.md. */
const STEP_NAME = /:\s*([A-Za-z0-9_]+)(?:\s+of\s+([a-z0-9_]+))?\s*$/;

export function parseStep(n: XNode, where: string, knownMessages: string[]): StepDef {
  const name = attr(n, "Name") ?? "";
  const msgId = normalizeGuid(text(n, "SdkMessageId") ?? "");
  // The message is read from a platform message's fixed id, else from the step's name; the id is kept as
  // written so an importer can check that it exists.
  const byId = Object.entries(SDK_MESSAGE_IDS).find(([, id]) => id === msgId)?.[0];
  const fromName = STEP_NAME.exec(name)?.[1];
  const message = byId ?? knownMessages.find((m) => m.toLowerCase() === fromName?.toLowerCase()) ?? fromName;
  if (!message) throw new SolutionFormatError(`${where}: step "${name}" refers to an unknown SDK message ${msgId}`);
  const stage = int(text(n, "Stage"));
  const mode = int(text(n, "Mode"));
  if (stage !== 10 && stage !== 20 && stage !== 40) throw new SolutionFormatError(`${where}: step "${name}" has invalid Stage ${String(stage)}`);
  if (mode !== 0 && mode !== 1) throw new SolutionFormatError(`${where}: step "${name}" has invalid Mode ${String(mode)}`);
  const images: StepImageDef[] = children(child(n, "SdkMessageProcessingStepImages"), "SdkMessageProcessingStepImage").map((i) => {
    const t = int(text(i, "ImageType")) ?? 0;
    return {
      name: attr(i, "Name") ?? "",
      entityAlias: text(i, "EntityAlias") ?? "",
      imageType: (t === 1 || t === 2 ? t : 0) as 0 | 1 | 2,
      attributes: (text(i, "Attributes") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    };
  });
  const step: StepDef = {
    id: normalizeGuid(attr(n, "SdkMessageProcessingStepId") ?? ""),
    name,
    message,
    sdkMessageId: msgId,
    serviceEndpointId: normalizeGuid(text(n, "EventHandler") ?? ""),
    stage,
    mode,
    rank: int(text(n, "Rank")) ?? 1,
    filteringAttributes: (text(n, "FilteringAttributes") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    asyncAutoDelete: bool01(text(n, "AsyncAutoDelete")),
    images,
  };
  const pe = text(n, "PrimaryEntity");
  if (pe) step.primaryEntity = pe;
  const d = text(n, "Description");
  if (d) step.description = d;
  return step;
}
