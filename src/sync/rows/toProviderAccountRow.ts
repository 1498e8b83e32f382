import { contentHash } from "./contentHash";
import { toIsoOrNull } from "./dates";
import { clip, hostOf } from "./text";

/** The Ion customer fields the mapper reads (IonCustomer from src/ion satisfies it). */
export interface CustomerInput {
  id: string;
  organization?: string;
  contactName?: string;
  email?: string;
  phone?: string;
  domain?: string;
  address?: { street?: string; city?: string; state?: string; zip?: string; country?: string };
  status?: string;
  updateTime?: string;
}

/** Microsoft cloud-profile facts for a customer (tenant id and primary domain). */
export interface MicrosoftProfileInput {
  tenantId?: string;
  domain?: string;
}

/** Data columns of a w365_provideraccount row, as written (mapping columns are decided separately). */
export interface ProviderAccountData {
  w365_name: string;
  w365_ioncustomerid: string;
  w365_contactname: string | null;
  w365_contactemail: string | null;
  w365_domain: string | null;
  w365_tenantid: string | null;
  w365_ionstatus: string | null;
  w365_postalcode: string | null;
  w365_country: string | null;
  w365_ionupdatedon: string | null;
  w365_missingsince: null;
}

/**
 * Ion customer (+ Microsoft profile) → provider account data columns. Pure. The domain prefers the
 * customer's own domain over the Microsoft profile's (usually the tenant's initial *.onmicrosoft.com).
 */
export function toProviderAccountRow(customer: CustomerInput, profile: MicrosoftProfileInput | undefined): ProviderAccountData {
  const domain = hostOf(customer.domain) ?? hostOf(profile?.domain);
  return {
    w365_name: clip(customer.organization) ?? `Ion customer ${customer.id}`,
    w365_ioncustomerid: String(customer.id),
    w365_contactname: clip(customer.contactName),
    w365_contactemail: clip(customer.email?.toLowerCase()),
    w365_domain: domain ?? null,
    w365_tenantid: clip(profile?.tenantId?.toLowerCase()),
    w365_ionstatus: clip(customer.status?.toLowerCase()),
    w365_postalcode: clip(customer.address?.zip, 20),
    w365_country: clip(customer.address?.country?.toUpperCase(), 10),
    w365_ionupdatedon: toIsoOrNull(customer.updateTime),
    w365_missingsince: null,
  };
}

/** Hash of the data columns; stored in w365_contenthash. */
export function providerAccountHash(data: ProviderAccountData): string {
  return contentHash(data as unknown as Record<string, unknown>);
}
