/** @jest-environment jsdom */
import "./jsdom-env";

import { FluentProvider, webLightTheme } from "@fluentui/react-components";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import * as React from "react";

import { ConnectorForm } from "../../../pcf-controls/StreamOneConnector/components/ConnectorForm";
import { createLocalizer } from "../../../pcf-controls/StreamOneConnector/services/strings";
import type { ConnectorView } from "../../../ui-shared/records";
import type { NormalizedConnector } from "../../../ui-shared/validation";
import { field, fillAndSave, fillCredentials, type } from "./formInput";
import { getString } from "./resx";

const t = createLocalizer(getString);
const CREDENTIALS = { refreshToken: "rt", apiKey: "k", apiSecret: "s", accountId: "1" };
const formatDate = (d: Date): string => d.toISOString().slice(0, 10);

function renderForm(
  connector?: ConnectorView,
  onSave = jest.fn(async (_v: NormalizedConnector, _id?: string) => undefined),
  locale?: string,
) {
  const onCancel = jest.fn();
  const utils = render(
    <FluentProvider theme={webLightTheme}>
      <ConnectorForm connector={connector} t={t} formatDate={formatDate} onSave={onSave} onCancel={onCancel} locale={locale} />
    </FluentProvider>,
  );
  return { ...utils, onSave, onCancel };
}

async function pick(label: string, query: string, optionText: RegExp) {
  const box = field(label);
  fireEvent.click(box);
  fireEvent.change(box, { target: { value: query } });
  fireEvent.click(await screen.findByRole("option", { name: optionText }));
}

describe("ConnectorForm", () => {
  it("shows the guide's fields with Name defaulting to StreamOne Ion", () => {
    renderForm();
    expect(field("Name").value).toBe("StreamOne Ion");
    for (const label of ["Refresh Token", "API Key", "API Secret", "Account ID", "Country", "Currency Code"])
      expect(field(label)).toBeTruthy();
    expect(field("Refresh Token").type).toBe("password");
    expect(field("API Secret").type).toBe("password");
  });

  it("blocks Save, announces a summary and shows each field's message when inputs are invalid", async () => {
    const { onSave } = renderForm();
    type("Name", "   ");
    type("Account ID", "12-34");
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(
      await screen.findByText("Fix 7 fields before saving: Name, Refresh Token, API Key, API Secret, Account ID, Country, Currency Code."),
    ).toBeTruthy();
    expect(screen.getByText("Name is required.")).toBeTruthy();
    expect(screen.getByText("Refresh Token is required.")).toBeTruthy();
    expect(screen.getByText(/^Account ID must contain digits only/)).toBeTruthy();
    expect(screen.getByText("Country is required.")).toBeTruthy();
    expect(screen.getByText("Currency Code is required.")).toBeTruthy();
    expect(onSave).not.toHaveBeenCalled();
    // Focus goes to the first invalid field so keyboard users can fix it straight away.
    expect(document.activeElement).toBe(field("Name"));
    expect(field("Account ID").getAttribute("aria-invalid")).toBe("true");
  });

  it("validates a field when leaving it and clears the message once fixed", async () => {
    renderForm();
    type("Account ID", "abc");
    fireEvent.blur(field("Account ID"));
    expect(await screen.findByText(/^Account ID must contain digits only/)).toBeTruthy();
    type("Account ID", "123");
    await waitFor(() => expect(screen.queryByText(/^Account ID must contain digits only/)).toBeNull());
  });

  it("rejects a typed country code that is not ISO 3166-1", async () => {
    renderForm();
    type("Country", "Atlantis");
    fireEvent.blur(field("Country"));
    expect(await screen.findByText(/^Choose a country from the list/)).toBeTruthy();
  });

  it("clears a country error as soon as a valid country is picked from the list", async () => {
    renderForm();
    type("Country", "Atlantis");
    fireEvent.blur(field("Country"));
    expect(await screen.findByText(/^Choose a country from the list/)).toBeTruthy();
    await pick("Country", "united k", /United Kingdom \(GB\)/);
    await waitFor(() => expect(screen.queryByText(/^Choose a country from the list/)).toBeNull());
    expect(screen.getByRole("combobox", { name: /^Country/ }).getAttribute("aria-invalid")).not.toBe("true");
  });

  it("saves trimmed values picked from the searchable country and currency lists", async () => {
    const { onSave } = renderForm();
    type("Name", "  Contoso reseller ");
    type("Refresh Token", "  rt-123\n");
    type("API Key", " key ");
    type("API Secret", "sec");
    type("Account ID", " 987 ");
    await pick("Country", "united k", /United Kingdom \(GB\)/);
    await pick("Currency Code", "pound", /British Pound \(GBP\)/);
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Save" }));
    });
    expect(onSave).toHaveBeenCalledWith(
      {
        name: "Contoso reseller",
        refreshToken: "rt-123",
        apiKey: "key",
        apiSecret: "sec",
        accountId: "987",
        country: "GB",
        currencyCode: "GBP",
      },
      undefined,
    );
  });

  it("shows stored secrets as set with their date, never their value, and allows Replace", async () => {
    const connector: ConnectorView = {
      id: "c1",
      name: "Main",
      apiKey: "key-1",
      accountId: "42",
      country: "US",
      currencyCode: "USD",
      status: "connected",
      statusMessage: "",
      lastSyncStatus: "",
      refreshTokenSavedOn: new Date("2026-11-20T00:00:00Z"),
      active: true,
      apiSecretSavedOn: new Date("2026-11-21T00:00:00Z"),
    };
    const { onSave, container, unmount } = renderForm(connector);
    expect(screen.getByTestId("refreshToken-status").textContent).toBe("Set on 2026-11-20");
    expect(screen.getByTestId("apiSecret-status").textContent).toBe("Set on 2026-11-21");
    expect(container.querySelectorAll('input[type="password"]')).toHaveLength(0);
    // Saving without replacing keeps the stored secrets (none sent).
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Save" }));
    });
    expect(onSave).toHaveBeenLastCalledWith({ name: "Main", apiKey: "key-1", accountId: "42", country: "US", currencyCode: "USD" }, "c1");
    unmount();
    // Replace asks for a new value, which is then required.
    const again = renderForm(connector);
    fireEvent.click(screen.getByRole("button", { name: "Replace the Refresh Token" }));
    expect(field("Refresh Token").value).toBe("");
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Save" }));
    });
    expect(await screen.findByText("Refresh Token is required.")).toBeTruthy();
    expect(again.onSave).not.toHaveBeenCalled();
    // "Keep the stored value" goes back to the stored secret.
    fireEvent.click(screen.getByRole("button", { name: "Keep the stored value" }));
    expect(screen.getByTestId("refreshToken-status").textContent).toBe("Set on 2026-11-20");
  });

  it("shows the save error and stays on the form", async () => {
    const onSave = jest.fn(async (_v: NormalizedConnector, _id?: string): Promise<undefined> => {
      throw new Error("Principal user is missing prvCreatew365_providerconnection privilege");
    });
    renderForm(undefined, onSave);
    await fillAndSave({ ...CREDENTIALS, country: "US", currency: "USD" });
    expect(await screen.findByText(/^The connector was not saved: Principal user is missing/)).toBeTruthy();
    expect(screen.getByRole("button", { name: "Save" })).toBeTruthy();
  });

  it("takes the names and codes people type for a country or currency, shows the choice in full and saves its code", async () => {
    const { onSave } = renderForm();
    fillCredentials(CREDENTIALS);
    for (const [typed, shown] of [
      ["England", "United Kingdom (GB)"],
      ["USA", "United States (US)"],
      ["America", "United States (US)"],
      ["Turkey", /^T.rkiye \(TR\)$/],
      ["Holland", "Netherlands (NL)"],
      ["UK", "United Kingdom (GB)"],
    ] as const) {
      type("Country", typed);
      fireEvent.blur(field("Country"));
      expect([typed, field("Country").value]).toStrictEqual([typed, typeof shown === "string" ? shown : expect.stringMatching(shown)]);
    }
    type("Currency Code", "£");
    fireEvent.blur(field("Currency Code"));
    expect(field("Currency Code").value).toBe("British Pound (GBP)");
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Save" }));
    });
    expect(onSave).toHaveBeenCalledWith(expect.objectContaining({ country: "GB", currencyCode: "GBP" }), undefined);
  });

  it("never saves a country the admin did not pick: a partial name stays as typed and blocks the save", async () => {
    const { onSave } = renderForm();
    fillCredentials(CREDENTIALS);
    type("Currency Code", "USD");
    fireEvent.blur(field("Currency Code"));
    type("Country", "United");
    fireEvent.blur(field("Country"));
    expect(field("Country").value).toBe("United");
    expect(await screen.findByText(/^Choose a country from the list/)).toBeTruthy();
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Save" }));
    });
    expect(onSave).not.toHaveBeenCalled();
  });

  it("lists countries in the admin's language and still finds them by their English name", async () => {
    renderForm(undefined, undefined, "de");
    await pick("Country", "Vereinigtes", /^Vereinigtes Königreich \(GB\)$/);
    const country = screen.getByRole("combobox", { name: /^Country/ }) as HTMLInputElement;
    expect(country.value).toBe("Vereinigtes Königreich (GB)");
    fireEvent.change(country, { target: { value: "Germany" } });
    fireEvent.blur(country);
    expect(country.value).toBe("Deutschland (DE)");
  });
});
