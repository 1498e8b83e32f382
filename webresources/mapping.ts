// The mapping web resource (w365_/streamone/mapping.html), global W365.StreamOne.Mapping. Mapping itself is a view of
// the PCF control (Admin Hub → Integrations → ⚙️ → Map provider accounts), where React and Fluent UI come from the
// platform; this page is kept for bookmarks and site map entries and only sends the admin there: it leaves the
// connector to open for the control (ui-shared/mappingLink.ts) and opens the connector form that hosts it. No React,
// no Fluent: a few kilobytes.
import { appIdFromAppUrl, connectionIdFromLocation, connectorFormUrl, writeMappingHandoff } from "../ui-shared/mappingLink";

/** The table whose main form hosts the control (solution/Entities/w365_providerconnection). */
const CONNECTOR_TABLE = "w365_providerconnection";

interface XrmNavigationLike {
  openForm?: (options: { entityName: string; entityId?: string }) => PromiseLike<unknown>;
}
interface XrmLike {
  Navigation?: XrmNavigationLike;
  Utility?: { getGlobalContext?: () => { getClientUrl?: () => string; getCurrentAppUrl?: () => string | null } };
}
export interface LinkPageHost {
  readonly location: { readonly search: string; readonly origin: string; replace(url: string): void };
  readonly sessionStorage?: Storage;
  readonly Xrm?: XrmLike;
  readonly parent?: unknown;
}

function hostXrm(host: LinkPageHost): XrmLike | undefined {
  if (host.Xrm) return host.Xrm;
  try {
    const parent = host.parent as { Xrm?: XrmLike } | undefined;
    return parent && parent !== host ? parent.Xrm : undefined;
  } catch {
    return undefined; // cross-origin parent
  }
}

/**
 * Sends the admin to the control's mapping view. Inside the app (Xrm present, as for a site map entry) the app opens
 * the connector form itself (Xrm.Navigation.openForm, which Learn names for opening a form from a web resource inside
 * the app); opened on its own (a bookmark), the page goes to the form's documented address,
 * main.aspx?pagetype=entityrecord (docs/platform/dataverse.md 6.1, 6.2). Returns where it went, for the page's
 * fallback link, which carries the current app's id when there is one.
 */
export function start(
  host: LinkPageHost = window as unknown as LinkPageHost,
  link: HTMLAnchorElement | null = document.getElementById("w365-open") as HTMLAnchorElement | null,
): string {
  const connectorId = connectionIdFromLocation(host.location.search);
  writeMappingHandoff(host, connectorId);
  const xrm = hostXrm(host);
  const context = xrm?.Utility?.getGlobalContext?.();
  const clientUrl = context?.getClientUrl?.() ?? host.location.origin;
  const url = connectorFormUrl(clientUrl, CONNECTOR_TABLE, connectorId, appIdFromAppUrl(context?.getCurrentAppUrl?.()));
  if (link) link.href = url;
  const openForm = xrm?.Navigation?.openForm;
  if (typeof openForm === "function") {
    void Promise.resolve(
      openForm.call(
        xrm?.Navigation,
        connectorId ? { entityName: CONNECTOR_TABLE, entityId: connectorId } : { entityName: CONNECTOR_TABLE },
      ),
    ).then(undefined, () => host.location.replace(url));
  } else {
    host.location.replace(url);
  }
  return url;
}
