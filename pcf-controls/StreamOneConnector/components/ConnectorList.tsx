import {
  Badge,
  Button,
  Link,
  Menu,
  MenuItem,
  MenuList,
  MenuPopover,
  MenuTrigger,
  Table,
  TableBody,
  TableCell,
  TableRow,
  Text,
} from "@fluentui/react-components";
import * as React from "react";

import type { ConnectorStatusKey, ConnectorView } from "../../../ui-shared/records";
import type { StringKey } from "../services/stringKeys";
import type { FormatDate, Localize } from "../services/strings";
import { ColumnHeaders } from "./ColumnHeaders";

export type ConnectorAction =
  | "verify"
  | "syncAccounts"
  | "syncSubscriptions"
  | "edit"
  | "mapAccounts"
  | "history"
  | "accounts"
  | "subscriptions"
  | "deactivate"
  | "activate"
  | "delete";

export interface ConnectorListProps {
  readonly connectors: readonly ConnectorView[];
  readonly t: Localize;
  readonly formatDate: FormatDate;
  /** Connector ids with an operation in progress: their menu stays usable for Edit only. */
  readonly busyIds: ReadonlySet<string>;
  readonly onAction: (action: ConnectorAction, connector: ConnectorView) => void;
  /** Hidden when the host has no way to open the mapping page. */
  readonly canOpenMapping: boolean;
  /** The row whose ⚙️ button takes keyboard focus (after the admin comes back from one of its views or a dialog). */
  readonly focusRowId?: string;
  /** Changes with every focus request, so the same row can be focused again (a second dialog on the same row). */
  readonly focusTick?: number;
  /** False when the host cannot delete records: no Delete item. */
  readonly canDelete?: boolean;
}

const STATUS_TEXT: Record<ConnectorStatusKey, StringKey> = {
  connected: "Status_Connected",
  failed: "Status_Failed",
  credentialsExpired: "Status_CredentialsExpired",
  notVerified: "Status_NotVerified",
};

const STATUS_COLOR: Record<ConnectorStatusKey, "success" | "danger" | "warning" | "informative"> = {
  connected: "success",
  failed: "danger",
  credentialsExpired: "warning",
  notVerified: "informative",
};

export function StatusBadge(props: { status: ConnectorStatusKey; t: Localize }): React.ReactElement {
  return (
    <Badge appearance="tint" color={STATUS_COLOR[props.status]} data-status={props.status}>
      {props.t(STATUS_TEXT[props.status])}
    </Badge>
  );
}

/** The list of connectors; the ⚙️ button at the right end of each row opens its commands, as the user guide says. */
export function ConnectorList(props: ConnectorListProps): React.ReactElement {
  const { connectors, t, formatDate, busyIds, onAction, canOpenMapping, focusRowId, focusTick, canDelete = true } = props;
  const gearButtons = React.useRef(new Map<string, HTMLButtonElement>());
  React.useEffect(() => {
    if (focusRowId) gearButtons.current.get(focusRowId)?.focus();
  }, [focusRowId, focusTick]);
  const when = (date?: Date): string => (date ? formatDate(date) : t("List_Never"));
  return (
    <Table aria-label={t("Integrations_Title")} size="medium">
      <ColumnHeaders
        titles={[
          t("List_Column_Name"),
          t("List_Column_Account"),
          t("List_Column_Status"),
          t("List_Column_LastVerified"),
          t("List_Column_TokenExpires"),
          t("List_Column_LastSync"),
        ]}
        hiddenTitle={t("List_Column_Actions")}
      />
      <TableBody>
        {connectors.map((connector) => {
          const busy = busyIds.has(connector.id);
          // A deactivated connector neither verifies nor syncs; the engine refuses both as well.
          const idle = busy || !connector.active;
          return (
            <TableRow key={connector.id} data-connector-id={connector.id} data-active={String(connector.active)}>
              <TableCell>
                <Text weight="semibold">{connector.name}</Text>
              </TableCell>
              <TableCell>{connector.accountId}</TableCell>
              <TableCell>
                {connector.active ? (
                  <StatusBadge status={connector.status} t={t} />
                ) : (
                  <Badge appearance="outline" color="informative" data-status="deactivated">
                    {t("Status_Deactivated")}
                  </Badge>
                )}
                {connector.statusMessage ? (
                  // Long handler messages are clamped to three lines here; the full text is in the tooltip and the outcome panel.
                  <Text size={200} block title={connector.statusMessage} className="w365-clamp">
                    {connector.statusMessage}
                  </Text>
                ) : null}
              </TableCell>
              <TableCell>{when(connector.lastVerifiedOn)}</TableCell>
              <TableCell>
                {connector.status === "credentialsExpired"
                  ? t("List_TokenRejected")
                  : connector.refreshTokenExpiresOn
                    ? formatDate(connector.refreshTokenExpiresOn)
                    : t("List_Unknown")}
              </TableCell>
              <TableCell>
                {connector.lastSyncOn ? (
                  <Link onClick={() => onAction("history", connector)} title={t("Action_History")}>
                    {connector.lastSyncStatus
                      ? t("LastSync_Value", formatDate(connector.lastSyncOn), connector.lastSyncStatus)
                      : formatDate(connector.lastSyncOn)}
                  </Link>
                ) : (
                  t("List_Never")
                )}
              </TableCell>
              <TableCell>
                <Menu>
                  <MenuTrigger disableButtonEnhancement>
                    <Button
                      appearance="subtle"
                      ref={(el: HTMLButtonElement | null) => {
                        if (el) gearButtons.current.set(connector.id, el);
                        else gearButtons.current.delete(connector.id);
                      }}
                      aria-label={t("List_ActionsAria", connector.name)}
                      title={t("List_ActionsAria", connector.name)}
                    >
                      <span aria-hidden="true">⚙️</span>
                    </Button>
                  </MenuTrigger>
                  <MenuPopover>
                    <MenuList>
                      <MenuItem disabled={idle} onClick={() => onAction("verify", connector)}>
                        {t("Action_Verify")}
                      </MenuItem>
                      <MenuItem disabled={idle} onClick={() => onAction("syncAccounts", connector)}>
                        {t("Action_SyncAccounts")}
                      </MenuItem>
                      <MenuItem disabled={idle} onClick={() => onAction("syncSubscriptions", connector)}>
                        {t("Action_SyncSubscriptions")}
                      </MenuItem>
                      {canOpenMapping ? (
                        <MenuItem onClick={() => onAction("mapAccounts", connector)}>{t("Action_MapAccounts")}</MenuItem>
                      ) : null}
                      <MenuItem onClick={() => onAction("accounts", connector)}>{t("Action_ProviderAccounts")}</MenuItem>
                      <MenuItem onClick={() => onAction("subscriptions", connector)}>{t("Action_ProviderSubscriptions")}</MenuItem>
                      <MenuItem onClick={() => onAction("history", connector)}>{t("Action_History")}</MenuItem>
                      <MenuItem onClick={() => onAction("edit", connector)}>{t("Action_Edit")}</MenuItem>
                      {connector.active ? (
                        <MenuItem onClick={() => onAction("deactivate", connector)}>{t("Action_Deactivate")}</MenuItem>
                      ) : (
                        <MenuItem onClick={() => onAction("activate", connector)}>{t("Action_Activate")}</MenuItem>
                      )}
                      {canDelete ? <MenuItem onClick={() => onAction("delete", connector)}>{t("Action_Delete")}</MenuItem> : null}
                    </MenuList>
                  </MenuPopover>
                </Menu>
              </TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}
