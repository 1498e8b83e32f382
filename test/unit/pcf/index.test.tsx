/** @jest-environment jsdom */
import "./jsdom-env";

import { render, screen } from "@testing-library/react";
import * as React from "react";

import { StreamOneConnector } from "../../../pcf-controls/StreamOneConnector/index";
import { MAPPING_HANDOFF_KEY, writeMappingHandoff } from "../../../ui-shared/mappingLink";
import { getString } from "./resx";

/** A ComponentFramework context with the members the control uses; webAPI answers from a list. */
function context(rows: Record<string, unknown>[], openWebResource = jest.fn()) {
  const webAPI = {
    retrieveMultipleRecords: jest.fn(async () => ({ entities: rows, nextLink: "" })),
    retrieveRecord: jest.fn(),
    createRecord: jest.fn(),
    updateRecord: jest.fn(),
    deleteRecord: jest.fn(),
  };
  return {
    webAPI,
    ctx: {
      parameters: { hostField: { raw: null }, pollIntervalSeconds: { raw: 3 }, ionBaseUrl: { raw: null } },
      webAPI,
      resources: { getString },
      formatting: { formatDateLong: (d: Date) => d.toISOString().slice(0, 10), formatTime: () => "10:00" },
      navigation: { openWebResource },
    } as unknown as ComponentFramework.Context<never>,
  };
}

describe("StreamOneConnector control", () => {
  it("init + updateView render the connector list from context.webAPI with resx text", async () => {
    const { ctx, webAPI } = context([{ w365_providerconnectionid: "c1", w365_name: "Main", w365_status: 365000001 }]);
    const control = new StreamOneConnector();
    control.init(ctx as never);
    render(control.updateView() as React.ReactElement);
    expect(await screen.findByText("Main")).toBeTruthy();
    expect(screen.getByText("Connected")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Add New" })).toBeTruthy();
    expect(webAPI.retrieveMultipleRecords).toHaveBeenCalledWith(
      "w365_providerconnection",
      expect.stringContaining("$orderby=w365_name asc"),
      undefined,
    );
    expect(control.getOutputs()).toStrictEqual({});
    control.destroy();
  });

  it("opens on the mapping view when the mapping web resource left a note, and only once", async () => {
    const id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    writeMappingHandoff(window, id);
    const { ctx, webAPI } = context([]);
    webAPI.retrieveRecord.mockImplementation(async () => ({ w365_name: "Main" }));
    const control = new StreamOneConnector();
    control.init(ctx as never);
    expect(window.sessionStorage.getItem(MAPPING_HANDOFF_KEY)).toBeNull();
    const { unmount } = render(control.updateView() as React.ReactElement);
    expect(await screen.findByRole("heading", { name: "Provider account mapping" })).toBeTruthy();
    expect(await screen.findByText("Connector: Main")).toBeTruthy();
    expect(webAPI.retrieveMultipleRecords).toHaveBeenCalledWith(
      "w365_provideraccount",
      expect.stringContaining(`$filter=_w365_connection_value eq ${id}`),
      5000,
    );
    unmount();
    const again = new StreamOneConnector();
    again.init(context([]).ctx as never);
    render(again.updateView() as React.ReactElement);
    expect(await screen.findByRole("button", { name: "Add New" })).toBeTruthy();
    expect(screen.queryByRole("heading", { name: "Provider account mapping" })).toBeNull();
  });
});
