/// <reference types="powerapps-component-framework" />
// Lifecycle glue only: builds the data service from the PCF context and renders <StreamOneAdmin>.
import * as React from "react";

import { createFetchBatchSender } from "../../ui-shared/batchDelete";
import { resolveCustomApiExecutor } from "../../ui-shared/customApi";
import { languageTagOfLcid } from "../../ui-shared/locale";
import { takeMappingHandoff } from "../../ui-shared/mappingLink";
import { recordsApiFrom } from "../../ui-shared/records";
import { StreamOneAdmin, type StreamOneAdminProps } from "./components/StreamOneAdmin";
import type { IInputs, IOutputs } from "./generated/ManifestTypes";
import { type ConnectorService, createConnectorService } from "./services/connectorService";
import { createMappingService } from "./services/mappingService";
import { createLocalizer, defaultFormatDate, type FormatDate } from "./services/strings";

const DEFAULT_POLL_SECONDS = 2;

export class StreamOneConnector implements ComponentFramework.ReactControl<IInputs, IOutputs> {
  private service!: ConnectorService;
  private props!: Omit<StreamOneAdminProps, "service">;

  /** Builds the service once: the webAPI and the custom API executor do not change during the control's life. */
  public init(context: ComponentFramework.Context<IInputs>): void {
    const seconds = context.parameters.pollIntervalSeconds?.raw ?? DEFAULT_POLL_SECONDS;
    const records = recordsApiFrom(context.webAPI);
    const executeCustomApi = resolveCustomApiExecutor(typeof window === "undefined" ? undefined : window);
    this.service = createConnectorService({
      records,
      executeCustomApi,
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
    this.props = {
      t: createLocalizer((key) => context.resources.getString(key)),
      formatDate,
      locale: languageTagOfLcid(context.userSettings?.languageId),
      theme: context.fluentDesignLanguage?.tokenTheme as StreamOneAdminProps["theme"],
      createMapping: createMappingService({ records, execute: executeCustomApi }),
      // Sent here by the mapping web resource (a bookmark or the site map): open on the mapping view, once.
      initialMapping: takeMappingHandoff(typeof window === "undefined" ? undefined : window),
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
