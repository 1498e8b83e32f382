import { Button, MessageBar, MessageBarBody } from "@fluentui/react-components";
import * as React from "react";

import type { Localize } from "../services/strings";
import { Heading } from "./Heading";

export interface ConnectorViewHeaderProps {
  readonly id: string;
  readonly title: string;
  readonly t: Localize;
  readonly onBack: () => void;
  readonly onRefresh: () => void;
  /** Refresh waits while the view is changing rows. */
  readonly refreshDisabled?: boolean;
  /** What went wrong loading the view, already worded for the admin (describeFailure). */
  readonly error?: React.ReactNode;
}

/**
 * The top of a view opened from a connector's ⚙️ menu: back to Integrations, the title (focused on open, so
 * keyboard and screen-reader users land on it), Refresh, and the load error when there is one.
 */
export function ConnectorViewHeader(props: ConnectorViewHeaderProps): React.ReactElement {
  const { id, title, t, onBack, onRefresh, refreshDisabled, error } = props;
  const heading = React.useRef<HTMLHeadingElement>(null);
  React.useEffect(() => heading.current?.focus(), []);
  return (
    <>
      <div className="w365-toolbar">
        <Button appearance="subtle" onClick={onBack}>
          {t("History_Back")}
        </Button>
        <Heading level={1} id={id} ref={heading}>
          {title}
        </Heading>
        <Button appearance="subtle" disabled={refreshDisabled} onClick={onRefresh}>
          {t("Integrations_Refresh")}
        </Button>
      </div>
      {error ? (
        <MessageBar intent="error" role="alert">
          <MessageBarBody>{error}</MessageBarBody>
        </MessageBar>
      ) : null}
    </>
  );
}
