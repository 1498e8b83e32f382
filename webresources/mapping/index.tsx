/// <reference types="xrm" />
// Entry point of the provider account mapping page (HTML web resource w365_/streamone/mapping.html), global
// W365.StreamOne.Mapping. React, ReactDOM and Fluent UI come from the shared web resource uiplatform.js.
import * as React from "react";
import * as ReactDOM from "react-dom";

import { findXrm, resolveCustomApiExecutor } from "../../ui-shared/customApi";
import { recordsApiFrom } from "../../ui-shared/records";
import { FluentProvider, webLightTheme } from "./fluent";
import { MappingApp } from "./MappingApp";

/** The connector id passed by Xrm.Navigation.openWebResource (`data`) or `?id=`. */
export function connectionIdFromLocation(search: string): string | undefined {
  const params = new URLSearchParams(search);
  const raw = params.get("data") ?? params.get("id") ?? undefined;
  if (!raw) return undefined;
  const guid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(decodeURIComponent(raw));
  return guid ? guid[0].toLowerCase() : undefined;
}

/**
 * Back to the Admin Hub's Integrations tab: the page is opened in the app's own window by openWebResource, so going
 * back in history returns to the tab as it was; opened on its own (a bookmark, the site map), the link's address,
 * the environment's root, is followed instead.
 */
function back(event: React.MouseEvent): void {
  if (document.referrer && new URL(document.referrer).origin === window.location.origin && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
}

/** Entry point called from mapping.html: uses window.Xrm or parent.Xrm (the host's). */
export function start(root: HTMLElement | null = document.getElementById("w365-mapping")): void {
  const xrm = findXrm(window as unknown as { Xrm?: unknown; parent?: unknown }) as unknown as Xrm.XrmStatic | undefined;
  if (!root) return;
  if (!xrm?.WebApi) {
    root.textContent = "Open this page from Work 365: Xrm is not available here.";
    return;
  }
  const clientUrl = xrm.Utility?.getGlobalContext?.().getClientUrl?.() ?? window.location.origin;
  ReactDOM.render(
    <FluentProvider theme={webLightTheme}>
      <MappingApp
        records={recordsApiFrom(xrm.WebApi)}
        execute={resolveCustomApiExecutor(window as unknown as { Xrm?: unknown; parent?: unknown; fetch?: unknown })}
        connectionId={connectionIdFromLocation(window.location.search)}
        backHref={`${clientUrl.replace(/\/$/, "")}/`}
        onBack={back}
      />
    </FluentProvider>,
    root,
  );
}
