// How the mapping web resource (w365_/streamone/mapping.html, kept for bookmarks and site map entries) hands the admin
// over to the PCF control's mapping view: the page notes which connector to open in sessionStorage (same origin and
// same tab as the app) and opens the connector form that hosts the control; the control takes the note once, on
// init. Framework-free and without schema imports, so the page's script stays a few kilobytes.

/** sessionStorage key of the hand-over note. */
export const MAPPING_HANDOFF_KEY = "w365.streamone.openMapping";
/** A note older than this is left unread (the navigation it was written for did not happen). */
export const MAPPING_HANDOFF_MAX_AGE_MS = 2 * 60 * 1000;

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A window, as far as the hand-over uses it; storage access can throw (blocked storage), which is tolerated. */
interface HandoffHost {
  readonly sessionStorage?: StorageLike;
}

/** The connector id passed by Xrm.Navigation.openWebResource (`data`), a site map entry or a bookmark (`?id=`). */
export function connectionIdFromLocation(search: string): string | undefined {
  const params = new URLSearchParams(search);
  const raw = params.get("data") ?? params.get("id") ?? undefined;
  if (!raw) return undefined;
  const guid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(decodeURIComponent(raw));
  return guid ? guid[0].toLowerCase() : undefined;
}

function storageOf(host: HandoffHost | undefined): StorageLike | undefined {
  try {
    return host?.sessionStorage ?? undefined;
  } catch {
    return undefined;
  }
}

/** Notes that the control should open its mapping view (for one connector, or every connector's customers). */
export function writeMappingHandoff(host: HandoffHost | undefined, connectorId: string | undefined, now: number = Date.now()): boolean {
  try {
    const storage = storageOf(host);
    if (!storage) return false;
    storage.setItem(MAPPING_HANDOFF_KEY, JSON.stringify({ connectorId: connectorId ?? null, at: now }));
    return true;
  } catch {
    return false;
  }
}

/** Reads and removes the note; undefined when there is none, it is stale or unreadable. */
export function takeMappingHandoff(host: HandoffHost | undefined, now: number = Date.now()): { connectorId?: string } | undefined {
  let raw: string | null;
  const storage = storageOf(host);
  try {
    raw = storage?.getItem(MAPPING_HANDOFF_KEY) ?? null;
    if (raw !== null) storage?.removeItem(MAPPING_HANDOFF_KEY);
  } catch {
    return undefined;
  }
  if (!raw) return undefined;
  try {
    const note = JSON.parse(raw) as { connectorId?: unknown; at?: unknown };
    if (typeof note.at !== "number" || now - note.at > MAPPING_HANDOFF_MAX_AGE_MS || note.at - now > MAPPING_HANDOFF_MAX_AGE_MS)
      return undefined;
    const id = typeof note.connectorId === "string" ? connectionIdFromLocation(`?id=${note.connectorId}`) : undefined;
    return id ? { connectorId: id } : {};
  } catch {
    return undefined;
  }
}

/**
 * The app id in the current app's URL (`Xrm.Utility.getGlobalContext().getCurrentAppUrl()`, `…/main.aspx?appid=<GUID>`);
 * undefined outside an app or on the mobile client (null there).
 * https://learn.microsoft.com/power-apps/developer/model-driven-apps/clientapi/reference/xrm-utility/getglobalcontext/getcurrentappurl
 */
export function appIdFromAppUrl(appUrl: string | null | undefined): string | undefined {
  if (!appUrl) return undefined;
  const query = appUrl.includes("?") ? appUrl.slice(appUrl.indexOf("?")) : "";
  const raw = new URLSearchParams(query).get("appid") ?? "";
  return /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i.test(raw)
    ? raw.replace(/[{}]/g, "").toLowerCase()
    : undefined;
}

/**
 * The model-driven app address of the connector form (which hosts the control): `main.aspx?pagetype=entityrecord&etn=…&id=…`,
 * as "Open apps, forms, views, dialogs, and reports with a URL" documents it
 * (https://learn.microsoft.com/power-apps/developer/model-driven-apps/open-forms-views-dialogs-reports-url,
 * docs/platform/dataverse.md 6.1). `appid` keeps the form in the app the admin is in (Admin Hub); without it the form
 * opens in the environment's default app. Without a connector, a new connector form (the control shows every connector).
 */
export function connectorFormUrl(clientUrl: string, entityName: string, connectorId: string | undefined, appId?: string): string {
  const base = clientUrl.replace(/\/$/, "");
  const app = appId ? `appid=${encodeURIComponent(appId)}&` : "";
  return `${base}/main.aspx?${app}pagetype=entityrecord&etn=${encodeURIComponent(entityName)}${connectorId ? `&id=${connectorId}` : ""}`;
}
