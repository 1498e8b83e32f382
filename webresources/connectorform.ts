/// <reference types="xrm" />
// Classic model-driven form for w365_providerconnection: the same validation as the PCF control, on load, on
// change and on save. Registered as W365.StreamOne.ConnectorForm.onLoad / onSave (pass execution context).

import { type CodeOption, countryOptions } from "../ui-shared/isoCountries";
import { currencyOptions } from "../ui-shared/isoCurrencies";
import { languageTagOfLcid } from "../ui-shared/locale";
import {
  CONNECTOR_COLUMNS,
  CONNECTOR_FIELDS,
  type ConnectorField,
  type ConnectorInput,
  DEFAULT_CONNECTOR_NAME,
  describeFieldError,
  type FieldError,
  resolveCodeOption,
  validateConnectorInput,
} from "../ui-shared/validation";

const FORM_NOTIFICATION_ID = "w365_connector_validation";
const FIELD_NOTIFICATION_ID = "w365_field_validation";
const FORM_TYPE_CREATE = 1;
const SECRET_FIELDS: readonly ConnectorField[] = ["refreshToken", "apiSecret"];
const SAVED_ON_COLUMN: Partial<Record<ConnectorField, string>> = {
  refreshToken: "w365_refreshtokensavedon",
  apiSecret: "w365_apisecretsavedon",
};

function attribute(form: Xrm.FormContext, field: ConnectorField): Xrm.Attributes.StringAttribute | null {
  return form.getAttribute<Xrm.Attributes.StringAttribute>(CONNECTOR_COLUMNS[field]);
}

function isCreate(form: Xrm.FormContext): boolean {
  return form.ui.getFormType() === FORM_TYPE_CREATE;
}

/**
 * A stored secret reads back empty for admins (secured column), so it is required only on create, or when the admin
 * typed a new value (dirty).
 */
function options(form: Xrm.FormContext): { requireRefreshToken: boolean; requireApiSecret: boolean } {
  const create = isCreate(form);
  return {
    requireRefreshToken: create || Boolean(attribute(form, "refreshToken")?.getIsDirty()),
    requireApiSecret: create || Boolean(attribute(form, "apiSecret")?.getIsDirty()),
  };
}

function readInput(form: Xrm.FormContext): ConnectorInput {
  const input: ConnectorInput = {};
  for (const field of CONNECTOR_FIELDS) input[field] = attribute(form, field)?.getValue() ?? "";
  return input;
}

function showFieldError(form: Xrm.FormContext, field: ConnectorField, error: FieldError | undefined): void {
  const control = form.getControl<Xrm.Controls.StringControl>(CONNECTOR_COLUMNS[field]);
  if (!control) return;
  if (error) control.setNotification(describeFieldError(error), FIELD_NOTIFICATION_ID);
  else control.clearNotification(FIELD_NOTIFICATION_ID);
}

/** Validates one field (on change) and shows or clears its notification. Returns true when valid. */
export function validateField(form: Xrm.FormContext, field: ConnectorField): boolean {
  const result = validateConnectorInput(readInput(form), options(form));
  const error = result.ok ? undefined : result.errors.find((e) => e.field === field);
  showFieldError(form, field, error);
  return error === undefined;
}

/** The admin's Dataverse language as a BCP 47 tag (country and currency names are looked up in it). */
function userLocale(): string | undefined {
  try {
    return languageTagOfLcid(Xrm.Utility.getGlobalContext().userSettings.languageId);
  } catch {
    return undefined;
  }
}

/**
 * On the classic form Country and Currency Code are plain text: a typed name, code or alias that means exactly one
 * option ("UK", "England", "United Kingdom", "Vereinigtes Königreich") becomes its code in the field at once, so the
 * admin sees the value that will be saved. Anything else is left as typed for validation to refuse.
 */
export function replaceTypedNameWithCode(form: Xrm.FormContext, field: "country" | "currencyCode", options: readonly CodeOption[]): void {
  const attr = attribute(form, field);
  const typed = attr?.getValue() ?? "";
  const named = resolveCodeOption(options, typed);
  if (attr && named && named.code !== typed) attr.setValue(named.code);
}

export function onLoad(executionContext: Xrm.Events.EventContext): void {
  const form = executionContext.getFormContext();
  if (isCreate(form)) {
    const name = attribute(form, "name");
    if (name && !name.getValue()) name.setValue(DEFAULT_CONNECTOR_NAME);
  }
  for (const field of CONNECTOR_FIELDS) {
    const attr = attribute(form, field);
    if (!attr) continue;
    const secretOnUpdate = SECRET_FIELDS.includes(field) && !isCreate(form);
    // On update a blank secret keeps the stored one, so it cannot be marked required there.
    attr.setRequiredLevel(secretOnUpdate ? "none" : "required");
    if (field === "country" || field === "currencyCode") {
      let options: CodeOption[] | undefined;
      attr.addOnChange(() => {
        options ??= field === "country" ? countryOptions(userLocale()) : currencyOptions(userLocale());
        replaceTypedNameWithCode(form, field, options);
        validateField(form, field);
      });
    } else attr.addOnChange(() => validateField(form, field));
  }
}

/** Blocks the save while any field is invalid; otherwise trims, normalizes codes and stamps secret save dates. */
export function onSave(executionContext: Xrm.Events.SaveEventContext, now: () => Date = () => new Date()): void {
  const form = executionContext.getFormContext();
  const result = validateConnectorInput(readInput(form), options(form));
  for (const field of CONNECTOR_FIELDS) showFieldError(form, field, result.ok ? undefined : result.errors.find((e) => e.field === field));
  if (!result.ok) {
    executionContext.getEventArgs().preventDefault();
    form.ui.setFormNotification(`Fix ${result.errors.length} field(s) before saving.`, "ERROR", FORM_NOTIFICATION_ID);
    const first = result.errors[0];
    if (first) form.getControl<Xrm.Controls.StringControl>(CONNECTOR_COLUMNS[first.field])?.setFocus();
    return;
  }
  form.ui.clearFormNotification(FORM_NOTIFICATION_ID);
  // A blank secret on update is absent here, so the stored one is left alone.
  const normalized: Partial<Record<ConnectorField, string>> = result.value;
  for (const field of CONNECTOR_FIELDS) {
    const attr = attribute(form, field);
    const next = normalized[field];
    if (attr && next !== undefined && attr.getValue() !== next) attr.setValue(next);
  }
  for (const field of SECRET_FIELDS) {
    const savedOn = SAVED_ON_COLUMN[field];
    if (savedOn && attribute(form, field)?.getIsDirty()) {
      form.getAttribute<Xrm.Attributes.DateAttribute>(savedOn)?.setValue(now());
    }
  }
}
