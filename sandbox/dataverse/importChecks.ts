/**
 * What a Dataverse import refuses or skips, applied to the model read from the zip before anything is written:
 *
 * - a step naming an SDK message id the environment does not have is refused ("sdkmessage With Id = … Does
 *   Not Exist", ObjectDoesNotExist 0x80040217): the id is taken as written, a custom API message's id is only
 *   known once the API exists (https://learn.microsoft.com/power-apps/developer/data-platform/custom-api#register-a-plug-in-step-on-a-custom-api-message);
 * - a table written `<entity unmodified="1">` is skipped with everything under it, columns included
 *   (SolutionPackager marks a system table the solution did not change that way; import does not apply it);
 * - a form whose PCF control is given a parameter the control's manifest does not declare is refused: a form
 *   binds a column to a control through one of the manifest's `property` names
 *   (https://learn.microsoft.com/power-apps/developer/component-framework/manifest-schema-reference/property).
 */
import type { SolutionModel } from "../../src/solution/model";
import { DataverseHttpError, ErrorCodes } from "./errors";

/** Property and data-set names a control's ControlManifest.xml declares, or undefined when the zip lacks it. */
function manifestParameters(model: SolutionModel, controlName: string): Set<string> | undefined {
  const control = model.customControls.find((c) => c.name.toLowerCase() === controlName.toLowerCase());
  const manifest = control?.files.find((f) => f.path.toLowerCase() === "controlmanifest.xml");
  if (!manifest) return undefined;
  const xml = manifest.content.toString("utf8");
  return new Set([...xml.matchAll(/<(?:property|data-set)\s[^>]*\bname="([^"]+)"/g)].map((m) => m[1]!));
}

/** Each `<customControl name="…"><parameters>` of a form: the control and the parameter element names. */
function formControlParameters(formXml: string): { control: string; parameters: string[] }[] {
  const out: { control: string; parameters: string[] }[] = [];
  for (const m of formXml.matchAll(/<customControl\b[^>]*\bname="([^"]+)"[^>]*>\s*<parameters>([\s\S]*?)<\/parameters>/g)) {
    const parameters = [...m[2]!.matchAll(/<([A-Za-z_][\w.-]*)[\s/>]/g)].map((p) => p[1]!);
    out.push({ control: m[1]!, parameters });
  }
  return out;
}

export interface ImportCheckContext {
  /** True when the environment has an sdkmessage row with this id. */
  messageExists(id: string): boolean;
}

/** The model as import applies it (unmodified tables dropped); throws what Dataverse would refuse. */
export function checkImport(model: SolutionModel, env: ImportCheckContext): SolutionModel {
  for (const step of model.steps) {
    const id = step.sdkMessageId;
    if (id && !env.messageExists(id)) {
      throw new DataverseHttpError(
        400,
        ErrorCodes.RecordNotFound,
        `The import of the step "${step.name}" failed: sdkmessage With Id = ${id} Does Not Exist.`,
      );
    }
  }
  for (const table of model.tables) {
    for (const form of table.forms) {
      for (const { control, parameters } of formControlParameters(form.formXml)) {
        const declared = manifestParameters(model, control);
        if (!declared) continue;
        const unknown = parameters.filter((p) => !declared.has(p));
        if (unknown.length > 0) {
          throw new DataverseHttpError(
            400,
            ErrorCodes.InvalidArgument,
            `The form "${form.name}" of ${table.logicalName} gives the control ${control} the parameter(s) ${unknown.join(", ")}, which its manifest does not declare (declared: ${[...declared].join(", ")}).`,
          );
        }
      }
    }
  }
  return { ...model, tables: model.tables.filter((t) => !t.unmodified) };
}
