import { redactValue } from "../../shared/redact";
import { IonResponseError } from "../errors";
import { IonAddress, IonCustomer, IonCustomerInput } from "../types";
import { asObject, compact, idFromName, Json, lastSegment, lower, str, tokenPage, withRedactedRaw } from "./common";

/** Ion customer JSON → IonCustomer. Throws IonResponseError only when no id can be found at all. */
export function fromIonCustomer(value: unknown): IonCustomer {
  const raw = asObject(value);
  const name = str(raw.name) ?? "";
  const id = idFromName(name, "customers") ?? str(raw.customerId) ?? str(raw.id) ?? lastSegment(name);
  if (!id)
    throw new IonResponseError("ION_BAD_RESPONSE", "StreamOne Ion returned a customer without a name or id.", { raw: redactValue(raw) });
  const addr = asObject(raw.customerAddress);
  const address: IonAddress = compact({
    street: str(addr.street),
    suite: str(addr.suite),
    city: str(addr.city),
    state: str(addr.state),
    zip: str(addr.zip) ?? str(addr.postalCode),
    country: str(addr.country),
  });
  const customer = compact({
    id,
    name: name || `customers/${id}`,
    organization: str(raw.customerOrganization) ?? str(raw.orgName) ?? "",
    contactName: str(raw.customerName),
    email: str(raw.customerEmail),
    phone: str(raw.customerPhone),
    title: str(raw.customerTitle),
    domain: str(raw.customerDomain),
    address: Object.keys(address).length ? address : undefined,
    status: lower(raw.customerStatus) ?? "unknown",
    languageCode: str(raw.languageCode),
    uid: str(raw.uid),
    createTime: str(raw.createTime),
    updateTime: str(raw.updateTime),
  });
  return withRedactedRaw(customer, raw);
}

/** `{customers:[...], nextPageToken}` → page. */
export function fromIonCustomerPage(value: unknown): { items: IonCustomer[]; nextPageToken?: string } {
  return tokenPage(value, "customers", fromIonCustomer);
}

/** IonCustomerInput → create/PUT body (docs/platform/ion-api.md §4.1). */
export function toIonCustomerBody(input: IonCustomerInput, resourceName?: string): Json {
  return compact({
    name: resourceName,
    customerOrganization: input.organization,
    customerAddress: compact({ ...input.address }),
    customerName: input.contactName,
    customerEmail: input.email,
    customerTitle: input.title,
    customerPhone: input.phone,
    customerDomain: input.domain,
    languageCode: input.languageCode,
  });
}
