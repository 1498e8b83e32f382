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
 *   (https://learn.microsoft.com/power-apps/developer/component-framework/manifest-schema-reference/property);
 * - over an installed managed solution of the same unique name, an unmanaged package is refused, and so is a
 *   managed package with a lower version: a managed solution is updated only by a newer version of itself
 *   (https://learn.microsoft.com/power-platform/alm/update-solutions-alm). The exact error codes are not
 *   documented; the messages name the versions and kinds as the import log does.
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
  /** The installed solution with this unique name, if any. */
  installedSolution(uniqueName: string): { version: string; managed: boolean } | undefined;
}

/** Four-part solution versions compared part by part (1.0.10.0 is above 1.0.9.0). */
function versionOrder(a: string, b: string): number {
  const pa = a.split(".").map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(".").map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** The model as import applies it (unmodified tables dropped); throws what Dataverse would refuse. */
export function checkImport(model: SolutionModel, env: ImportCheckContext): SolutionModel {
  const installed = env.installedSolution(model.uniqueName);
  if (installed?.managed && !model.managed) {
    throw new DataverseHttpError(
      400,
      ErrorCodes.InvalidArgument,
      `The solution ${model.uniqueName} is already installed on this system as a managed solution and the package to be imported is an unmanaged solution.`,
    );
  }
  if (installed?.managed && versionOrder(model.version, installed.version) < 0) {
    throw new DataverseHttpError(
      400,
      ErrorCodes.InvalidArgument,
      `The solution ${model.uniqueName} cannot be imported: its version ${model.version} is lower than the installed version ${installed.version}.`,
    );
  }
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
