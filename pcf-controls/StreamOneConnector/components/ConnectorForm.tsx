import { Button, Field, Input, MessageBar, MessageBarBody, Text } from "@fluentui/react-components";
import * as React from "react";

import { countryOptions } from "../../../ui-shared/isoCountries";
import { currencyOptions } from "../../../ui-shared/isoCurrencies";
import type { ConnectorView } from "../../../ui-shared/records";
import {
  CONNECTOR_FIELDS,
  type ConnectorField,
  type ConnectorInput,
  DEFAULT_CONNECTOR_NAME,
  describeFieldError,
  type FieldError,
  type NormalizedConnector,
  validateConnectorInput,
} from "../../../ui-shared/validation";
import { ConnectorClashError } from "../services/connectorService";
import type { StringKey } from "../services/stringKeys";
import type { FormatDate, Localize } from "../services/strings";
import { CodePicker } from "./CodePicker";
import { Heading } from "./Heading";

export interface ConnectorFormProps {
  /** The connector being edited; undefined for Add New. */
  readonly connector?: ConnectorView;
  readonly t: Localize;
  readonly formatDate: FormatDate;
  /** Persists the validated values; rejects with an Error whose message is shown. */
  readonly onSave: (value: NormalizedConnector, existingId?: string) => Promise<void>;
  /** `dirty`: the admin typed something not saved yet, so the host asks before discarding it. */
  readonly onCancel: (dirty: boolean) => void;
  /** The admin's language (BCP 47) for country and currency names; the browser's when absent. */
  readonly locale?: string;
  /** Deactivate, Activate or Delete the connector being edited (the host confirms first); absent for Add New. */
  readonly onLifecycle?: (action: "deactivate" | "activate" | "delete") => void;
  /** False when the host cannot delete records: no Delete command. */
  readonly canDelete?: boolean;
}

type Values = Record<ConnectorField, string>;
type SecretField = "refreshToken" | "apiSecret";

const LABEL_KEYS: Record<ConnectorField, StringKey> = {
  name: "Field_Name",
  refreshToken: "Field_RefreshToken",
  apiKey: "Field_ApiKey",
  apiSecret: "Field_ApiSecret",
  accountId: "Field_AccountId",
  country: "Field_Country",
  currencyCode: "Field_CurrencyCode",
};

const HINT_KEYS: Record<ConnectorField, StringKey> = {
  name: "Field_Name_Hint",
  refreshToken: "Field_RefreshToken_Hint",
  apiKey: "Field_ApiKey_Hint",
  apiSecret: "Field_ApiSecret_Hint",
  accountId: "Field_AccountId_Hint",
  country: "Field_Country_Hint",
  currencyCode: "Field_CurrencyCode_Hint",
};

function initialValues(connector?: ConnectorView): Values {
  return {
    name: connector?.name ?? DEFAULT_CONNECTOR_NAME,
    refreshToken: "",
    apiKey: connector?.apiKey ?? "",
    apiSecret: "",
    accountId: connector?.accountId ?? "",
    country: connector?.country ?? "",
    currencyCode: connector?.currencyCode ?? "",
  };
}

const keepFocus = (event: React.MouseEvent): void => event.preventDefault();

/**
 * The connector form with the user guide's fields and labels. Validation runs per field on leaving it and for all
 * fields on Save; nothing is written while any field is invalid. Secrets are write-only: a stored one shows as
 * "Set on <date>" with Replace, and typed secrets live only in this component's state until Save.
 */
export function ConnectorForm(props: ConnectorFormProps): React.ReactElement {
  const { connector, t, formatDate, onSave, onCancel, locale, onLifecycle, canDelete = true } = props;
  const countries = React.useMemo(() => countryOptions(locale), [locale]);
  const currencies = React.useMemo(() => currencyOptions(locale), [locale]);
  const [values, setValues] = React.useState<Values>(() => initialValues(connector));
  const [replacing, setReplacing] = React.useState<Record<SecretField, boolean>>({
    refreshToken: !connector,
    apiSecret: !connector,
  });
  const [errors, setErrors] = React.useState<Partial<Record<ConnectorField, FieldError>>>({});
  const [summary, setSummary] = React.useState("");
  const [saveError, setSaveError] = React.useState("");
  const [saving, setSaving] = React.useState(false);
  // Refusals that come from Dataverse rather than from the field's own rules (another connector has this Account ID).
  const [serverErrors, setServerErrors] = React.useState<Partial<Record<ConnectorField, string>>>({});
  const initial = React.useMemo(() => initialValues(connector), [connector]);
  const dirty = CONNECTOR_FIELDS.some((field) => values[field] !== initial[field]);
  const cancel = (): void => onCancel(dirty);
  const inputs = React.useRef<Partial<Record<ConnectorField, HTMLInputElement | null>>>({});
  const headingRef = React.useRef<HTMLHeadingElement>(null);

  React.useEffect(() => {
    headingRef.current?.focus();
  }, []);

  const labels = React.useMemo(() => {
    const result = {} as Record<ConnectorField, string>;
    for (const field of CONNECTOR_FIELDS) result[field] = t(LABEL_KEYS[field]);
    return result;
  }, [t]);

  const options = React.useCallback(
    () => ({ requireRefreshToken: replacing.refreshToken, requireApiSecret: replacing.apiSecret }),
    [replacing],
  );

  const validateAll = (current: Values): ReturnType<typeof validateConnectorInput> =>
    validateConnectorInput(current as ConnectorInput, options());

  const checkField = (field: ConnectorField, current: Values = values): void => {
    const result = validateAll(current);
    const error = result.ok ? undefined : result.errors.find((e) => e.field === field);
    setErrors((prev) => ({ ...prev, [field]: error }));
  };

  const setValue = (field: ConnectorField, value: string): void => {
    if (serverErrors[field]) setServerErrors((prev) => ({ ...prev, [field]: undefined }));
    setValues((prev) => {
      const next = { ...prev, [field]: value };
      // Once a field shows an error, re-check it as the admin types so the message clears as soon as it is fixed.
      if (errors[field]) {
        const result = validateConnectorInput(next as ConnectorInput, options());
        setErrors((prevErrors) => ({ ...prevErrors, [field]: result.ok ? undefined : result.errors.find((e) => e.field === field) }));
      }
      return next;
    });
  };

  const message = (field: ConnectorField): string | undefined => {
    const error = errors[field];
    return error ? describeFieldError(error, (key) => t(key as StringKey), labels) : serverErrors[field];
  };

  const submit = async (event?: React.FormEvent): Promise<void> => {
    event?.preventDefault();
    if (saving) return;
    setSaveError("");
    const result = validateAll(values);
    if (!result.ok) {
      const byField: Partial<Record<ConnectorField, FieldError>> = {};
      for (const error of result.errors) byField[error.field] ??= error;
      setErrors(byField);
      const names = CONNECTOR_FIELDS.filter((field) => byField[field]).map((field) => labels[field]);
      setSummary(names.length === 1 ? t("Form_FixErrorsOne", names[0] ?? "") : t("Form_FixErrors", names.length, names.join(", ")));
      const first = result.errors[0];
      if (first) inputs.current[first.field]?.focus();
      return;
    }
    setErrors({});
    setSummary("");
    setSaving(true);
    try {
      await onSave(result.value, connector?.id);
    } catch (error) {
      setSaving(false);
      if (error instanceof ConnectorClashError) {
        const field = error.clash.field;
        setServerErrors({ [field]: error.message });
        setSummary(t("Form_FixErrorsOne", labels[field]));
        inputs.current[field]?.focus();
        return;
      }
      setSaveError(t("Form_SaveFailed", (error as Error)?.message ?? String(error)));
    }
  };

  /** The labelled, hinted wrapper every editable field shares, showing that field's validation message. */
  const validatedField = (field: ConnectorField, control: React.ReactElement): React.ReactElement => (
    <Field
      key={field}
      label={labels[field]}
      required
      hint={t(HINT_KEYS[field])}
      validationState={errors[field] || serverErrors[field] ? "error" : "none"}
      validationMessage={message(field)}
    >
      {control}
    </Field>
  );

  const textField = (field: ConnectorField, type: "text" | "password" = "text", inputMode?: "numeric"): React.ReactElement =>
    validatedField(
      field,
      <Input
        name={field}
        type={type}
        value={values[field]}
        input={{ ref: (el: HTMLInputElement | null) => (inputs.current[field] = el), inputMode, spellCheck: false }}
        autoComplete={type === "password" ? "new-password" : "off"}
        onChange={(_e, data) => setValue(field, data.value)}
        onBlur={() => checkField(field)}
      />,
    );

  const secretField = (field: SecretField, savedOn?: Date): React.ReactElement => {
    if (replacing[field]) {
      return (
        <div key={field} className="w365-secret">
          {textField(field, "password")}
          {connector ? (
            <Button
              appearance="subtle"
              size="small"
              onClick={() => {
                setReplacing((prev) => ({ ...prev, [field]: false }));
                setValues((prev) => ({ ...prev, [field]: "" }));
                setErrors((prev) => ({ ...prev, [field]: undefined }));
              }}
            >
              {t("Secret_KeepStored")}
            </Button>
          ) : null}
        </div>
      );
    }
    return (
      <Field key={field} label={labels[field]} required hint={t(HINT_KEYS[field])}>
        <div className="w365-secret-set" style={{ display: "flex", alignItems: "center", gap: 8 }}>
          <Text data-testid={`${field}-status`}>{savedOn ? t("Secret_SetOn", formatDate(savedOn)) : t("Secret_Set")}</Text>
          <Button
            size="small"
            aria-label={t("Secret_ReplaceAria", labels[field])}
            onClick={() => {
              setReplacing((prev) => ({ ...prev, [field]: true }));
              // Focus the new empty input once it is rendered.
              setTimeout(() => inputs.current[field]?.focus(), 0);
            }}
          >
            {t("Secret_Replace")}
          </Button>
        </div>
      </Field>
    );
  };

  const pickerField = (field: "country" | "currencyCode"): React.ReactElement =>
    validatedField(
      field,
      <CodePicker
        name={field}
        options={field === "country" ? countries : currencies}
        value={values[field]}
        noMatchText={t("Picker_NoMatch")}
        inputRef={(el: HTMLInputElement | null) => (inputs.current[field] = el)}
        // setValue already re-checks a field that shows an error, so a pick clears a fixed message.
        onChange={(code) => setValue(field, code)}
        onBlur={(code) => checkField(field, { ...values, [field]: code })}
      />,
    );

  return (
    <form noValidate onSubmit={(e) => void submit(e)} aria-labelledby="w365-form-title" className="w365-form">
      {/* A command bar, as model-driven forms have: Save and Cancel stay in view at 1366×768 whatever the scroll. */}
      <div role="toolbar" aria-label={t("Form_Commands")} className="w365-commandbar">
        {/* mousedown must not blur the field being edited: its validation message would move the layout between
            mousedown and mouseup, and the click would be lost. Save validates every field anyway. */}
        <Button appearance="primary" type="submit" disabled={saving} onMouseDown={keepFocus}>
          {saving ? t("Form_Saving") : t("Form_Save")}
        </Button>
        <Button type="button" onClick={cancel} disabled={saving} onMouseDown={keepFocus}>
          {t("Form_Cancel")}
        </Button>
        {connector && onLifecycle ? (
          <>
            <Button
              type="button"
              appearance="subtle"
              disabled={saving}
              onClick={() => onLifecycle(connector.active ? "deactivate" : "activate")}
            >
              {connector.active ? t("Action_Deactivate") : t("Action_Activate")}
            </Button>
            {canDelete ? (
              <Button type="button" appearance="subtle" disabled={saving} onClick={() => onLifecycle("delete")}>
                {t("Action_Delete")}
              </Button>
            ) : null}
          </>
        ) : null}
      </div>
      <Heading level={2} id="w365-form-title" ref={headingRef}>
        {connector ? t("Form_TitleEdit", connector.name) : t("Form_TitleNew")}
      </Heading>
      <Text as="p">{t("Form_Intro")}</Text>
      <div role="status" aria-live="assertive" className="w365-form-summary" data-testid="form-summary">
        {summary ? (
          <MessageBar intent="error">
            <MessageBarBody>{summary}</MessageBarBody>
          </MessageBar>
        ) : null}
      </div>
      <div style={{ display: "grid", gap: 12, maxWidth: 560 }}>
        {textField("name")}
        {secretField("refreshToken", connector?.refreshTokenSavedOn)}
        {textField("apiKey")}
        {secretField("apiSecret", connector?.apiSecretSavedOn)}
        {textField("accountId", "text", "numeric")}
        {pickerField("country")}
        {pickerField("currencyCode")}
      </div>
      {saveError ? (
        <MessageBar intent="error" role="alert">
          <MessageBarBody>{saveError}</MessageBarBody>
        </MessageBar>
      ) : null}
    </form>
  );
}
