import { XrmMockGenerator } from "xrm-mock";

import { onLoad, onSave } from "../../../webresources/connectorform";

const COLUMNS = [
  "w365_name",
  "w365_refreshtoken",
  "w365_apikey",
  "w365_apisecret",
  "w365_ionaccountid",
  "w365_country",
  "w365_currencycode",
];

function setUpForm(values: Partial<Record<string, string>>, formType: 1 | 2): void {
  XrmMockGenerator.initialise();
  for (const name of COLUMNS) XrmMockGenerator.Attribute.createString({ name, value: values[name] ?? "" }, [{ name }]);
  XrmMockGenerator.Attribute.createDate({ name: "w365_refreshtokensavedon" }, [{ name: "w365_refreshtokensavedon" }]);
  XrmMockGenerator.Attribute.createDate({ name: "w365_apisecretsavedon" }, [{ name: "w365_apisecretsavedon" }]);
  jest.spyOn(XrmMockGenerator.formContext.ui, "getFormType").mockReturnValue(formType);
}

function saveContext(): { context: Xrm.Events.SaveEventContext; prevented: () => boolean } {
  let prevented = false;
  const form = XrmMockGenerator.getFormContext();
  const context = {
    getFormContext: () => form,
    getEventArgs: () => ({ preventDefault: () => (prevented = true), isDefaultPrevented: () => prevented }),
  } as unknown as Xrm.Events.SaveEventContext;
  return { context, prevented: () => prevented };
}

function notification(column: string): string | undefined {
  const control = XrmMockGenerator.getFormContext().getControl<Xrm.Controls.StringControl>(column) as unknown as {
    getNotifications(): { messages: string[] }[];
  };
  return control.getNotifications()[0]?.messages[0];
}

const attr = (name: string) => XrmMockGenerator.getFormContext().getAttribute(name);

describe("W365.StreamOne.ConnectorForm", () => {
  afterEach(() => jest.restoreAllMocks());

  it("onLoad defaults the name on a new connector and marks every field required", () => {
    setUpForm({}, 1);
    onLoad(XrmMockGenerator.getEventContext());
    expect(attr("w365_name")?.getValue()).toBe("StreamOne Ion");
    expect(attr("w365_refreshtoken")?.getRequiredLevel()).toBe("required");
    expect(attr("w365_currencycode")?.getRequiredLevel()).toBe("required");
  });

  it("onSave blocks an invalid form and puts a message on each bad field", () => {
    setUpForm({ w365_name: "Main", w365_apikey: "k", w365_ionaccountid: "12ab", w365_country: "ZZ", w365_currencycode: "usd" }, 1);
    const { context, prevented } = saveContext();
    onSave(context);
    expect(prevented()).toBe(true);
    expect(notification("w365_refreshtoken")).toBe("Refresh Token is required.");
    expect(notification("w365_apisecret")).toBe("API Secret is required.");
    expect(notification("w365_ionaccountid")).toMatch(/^Account ID must contain digits only/);
    expect(notification("w365_country")).toMatch(/^Choose a country from the list/);
    expect(notification("w365_currencycode")).toBeUndefined();
    expect(notification("w365_name")).toBeUndefined();
  });

  it("onSave on a valid form trims values, upper-cases codes and stamps the secrets' saved-on dates", () => {
    setUpForm(
      {
        w365_name: " Main ",
        w365_refreshtoken: " rt-1\n",
        w365_apikey: "k ",
        w365_apisecret: "s",
        w365_ionaccountid: " 42 ",
        w365_country: "gb",
        w365_currencycode: "gbp",
      },
      1,
    );
    attr("w365_refreshtoken")?.setValue(" rt-1\n"); // typed by the admin: dirty
    attr("w365_apisecret")?.setValue("s");
    const now = new Date("2026-11-27T09:00:00Z");
    const { context, prevented } = saveContext();
    onSave(context, () => now);
    expect(prevented()).toBe(false);
    expect(attr("w365_name")?.getValue()).toBe("Main");
    expect(attr("w365_refreshtoken")?.getValue()).toBe("rt-1");
    expect(attr("w365_country")?.getValue()).toBe("GB");
    expect(attr("w365_currencycode")?.getValue()).toBe("GBP");
    expect(attr("w365_refreshtokensavedon")?.getValue()).toStrictEqual(now);
    expect(attr("w365_apisecretsavedon")?.getValue()).toStrictEqual(now);
  });

  it("on an existing connector a blank (stored) secret is allowed and not re-stamped", () => {
    setUpForm({ w365_name: "Main", w365_apikey: "k", w365_ionaccountid: "42", w365_country: "US", w365_currencycode: "USD" }, 2);
    onLoad(XrmMockGenerator.getEventContext());
    expect(attr("w365_refreshtoken")?.getRequiredLevel()).toBe("none");
    const { context, prevented } = saveContext();
    onSave(context);
    expect(prevented()).toBe(false);
    expect(attr("w365_refreshtokensavedon")?.getValue()).toBeFalsy();
  });

  it("on an existing connector a secret the admin cleared is refused, and only the secret typed anew is stamped", () => {
    setUpForm({ w365_name: "Main", w365_apikey: "k", w365_ionaccountid: "42", w365_country: "US", w365_currencycode: "USD" }, 2);
    onLoad(XrmMockGenerator.getEventContext());
    attr("w365_refreshtoken")?.setValue(""); // cleared by the admin: dirty and blank
    const refused = saveContext();
    onSave(refused.context);
    expect(refused.prevented()).toBe(true);
    expect(notification("w365_refreshtoken")).toBe("Refresh Token is required.");
    expect(notification("w365_apisecret")).toBeUndefined();

    attr("w365_refreshtoken")?.setValue("rt-new-1");
    const now = new Date("2026-11-27T09:00:00Z");
    const accepted = saveContext();
    onSave(accepted.context, () => now);
    expect(accepted.prevented()).toBe(false);
    expect(attr("w365_refreshtokensavedon")?.getValue()).toStrictEqual(now);
    expect(attr("w365_apisecretsavedon")?.getValue()).toBeFalsy();
  });

  it("validates a field as soon as it changes", () => {
    setUpForm({}, 1);
    onLoad(XrmMockGenerator.getEventContext());
    attr("w365_ionaccountid")?.setValue("abc");
    attr("w365_ionaccountid")?.fireOnChange();
    expect(notification("w365_ionaccountid")).toMatch(/digits only/);
    attr("w365_ionaccountid")?.setValue("123");
    attr("w365_ionaccountid")?.fireOnChange();
    expect(notification("w365_ionaccountid")).toBeUndefined();
  });

  it("turns a typed country or currency name, code or alias into its code at once, and leaves anything else to validation", () => {
    setUpForm({}, 1);
    onLoad(XrmMockGenerator.getEventContext());
    for (const [typed, code] of [
      ["England", "GB"],
      ["uk", "GB"],
      ["USA", "US"],
      ["Holland", "NL"],
      ["Türkiye", "TR"],
      ["Turkey", "TR"],
    ] as [string, string][]) {
      attr("w365_country")?.setValue(typed);
      attr("w365_country")?.fireOnChange();
      expect([typed, attr("w365_country")?.getValue()]).toStrictEqual([typed, code]);
      expect(notification("w365_country")).toBeUndefined();
    }
    attr("w365_currencycode")?.setValue("€");
    attr("w365_currencycode")?.fireOnChange();
    expect(attr("w365_currencycode")?.getValue()).toBe("EUR");
    // A partial name is not a choice: it stays as typed and the field says to choose from the list.
    attr("w365_country")?.setValue("United");
    attr("w365_country")?.fireOnChange();
    expect(attr("w365_country")?.getValue()).toBe("United");
    expect(notification("w365_country")).toMatch(/^Choose a country from the list/);
  });
});
