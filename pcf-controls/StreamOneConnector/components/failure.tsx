import * as React from "react";

import { classifyFailure } from "../../../ui-shared/failure";
import type { Localize } from "../services/strings";

/**
 * What the admin can do about a failed call, first; the technical text behind a disclosure. Transport failures
 * (no network, a gateway error, a timeout) never read as a problem with a field the admin typed.
 */
export function describeFailure(error: unknown, t: Localize): React.ReactNode {
  const failure = classifyFailure(error);
  const headline =
    failure.kind === "network"
      ? t("Error_Network")
      : failure.kind === "busy"
        ? t("Error_Busy")
        : failure.kind === "permission"
          ? t("Error_Permission")
          : failure.message;
  if (!failure.detail || failure.detail === headline) return headline;
  return (
    <>
      {headline}
      <details className="w365-details">
        <summary>{t("Error_TechnicalDetails")}</summary>
        <code>{failure.detail}</code>
      </details>
    </>
  );
}
