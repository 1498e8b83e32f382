/// <reference types="powerapps-component-framework" />
// Lifecycle glue only: builds the data service from the PCF context and renders <StreamOneAdmin>.
import * as React from "react";

import { createFetchBatchSender } from "../../ui-shared/batchDelete";
import { resolveCustomApiExecutor } from "../../ui-shared/customApi";
import { languageTagOfLcid } from "../../ui-shared/locale";
import { recordsApiFrom } from "../../ui-shared/records";
import { StreamOneAdmin, type StreamOneAdminProps } from "./components/StreamOneAdmin";
import type { IInputs, IOutputs } from "./generated/ManifestTypes";
import { type ConnectorService, createConnectorService } from "./services/connectorService";
import { createLocalizer, defaultFormatDate, type FormatDate } from "./services/strings";

/** The mapping page web resource (see webresources/README.md). */
const MAPPING_WEB_RESOURCE = "w365_/streamone/mapping.html";
const DEFAULT_POLL_SECONDS = 2;

export class StreamOneConnector implements ComponentFramework.ReactControl<IInputs, IOutputs> {
  private service!: ConnectorService;
  private props!: Omit<StreamOneAdminProps, "service">;

  /** Builds the service once: the webAPI and the custom API executor do not change during the control's life. */
  public init(context: ComponentFramework.Context<IInputs>): void {
    const seconds = context.parameters.pollIntervalSeconds?.raw ?? DEFAULT_POLL_SECONDS;
    this.service = createConnectorService({
      records: recordsApiFrom(context.webAPI),
      executeCustomApi: resolveCustomApiExecutor(typeof window === "undefined" ? undefined : window),
      // $batch is not in context.webAPI: same-origin fetch to the Web API, with the signed-in user's session.
      sendBatch: typeof fetch === "function" ? createFetchBatchSender((url, init) => fetch(url, init)) : undefined,
      pollIntervalMs: Math.max(1, seconds) * 1000,
      ionBaseUrl: context.parameters.ionBaseUrl?.raw ?? undefined,
    });
    const formatDate: FormatDate = (date) => {
      try {
        return context.formatting.formatDateLong(date) + " " + context.formatting.formatTime(date, 0);
      } catch {
        return defaultFormatDate(date);
      }
    };
    const navigation = context.navigation;
    this.props = {
      t: createLocalizer((key) => context.resources.getString(key)),
      formatDate,
      locale: languageTagOfLcid(context.userSettings?.languageId),
      theme: context.fluentDesignLanguage?.tokenTheme as StreamOneAdminProps["theme"],
      openMapping:
        navigation && typeof navigation.openWebResource === "function"
          ? (connectorId) => navigation.openWebResource(MAPPING_WEB_RESOURCE, { openInNewWindow: false }, connectorId)
          : undefined,
    };
  }

  public updateView(): React.ReactElement {
    return React.createElement(StreamOneAdmin, { ...this.props, service: this.service });
  }

  /** The control never changes its host field. */
  public getOutputs(): IOutputs {
    return {};
  }

  public destroy(): void {
    // React unmounts the tree; <StreamOneAdmin> stops its polling on unmount.
  }
}
