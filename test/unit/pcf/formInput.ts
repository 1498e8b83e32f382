/** Typing into the connector form as a person does, for the PCF component tests (jsdom). */
import { act, fireEvent, screen } from "@testing-library/react";

/** The input whose label starts with `label` (required fields add a marker after it). */
export const field = (label: string): HTMLInputElement => screen.getByLabelText(new RegExp(`^${label}`)) as HTMLInputElement;

export const type = (label: string, value: string) => fireEvent.change(field(label), { target: { value } });

export interface FormInput {
  refreshToken: string;
  apiKey: string;
  apiSecret: string;
  accountId: string;
}

export function fillCredentials(v: FormInput): void {
  type("Refresh Token", v.refreshToken);
  type("API Key", v.apiKey);
  type("API Secret", v.apiSecret);
  type("Account ID", v.accountId);
}

/** Fills the credentials, types a country and a currency and leaves each field (which settles the choice), then presses Save. */
export async function fillAndSave(v: FormInput & { country: string; currency: string }): Promise<void> {
  fillCredentials(v);
  type("Country", v.country);
  fireEvent.blur(field("Country"));
  type("Currency Code", v.currency);
  fireEvent.blur(field("Currency Code"));
  await act(async () => {
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
  });
}
