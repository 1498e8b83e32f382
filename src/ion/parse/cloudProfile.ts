import { GUID_PATTERN } from "../../shared/guid";
import { IonCloudProfile } from "../types";
import { asArray, asObject, bool, compact, str } from "./common";

export function fromIonCloudProfile(value: unknown): IonCloudProfile {
  const raw = asObject(value);
  return compact({
    providerId: str(raw.providerId),
    displayName: str(raw.displayName),
    shortName: str(raw.shortName),
    enabled: bool(raw.enabled),
    tenantId: str(raw.customerTenantId) ?? str(raw.tenantId),
    domain: str(raw.customerDomain) ?? str(raw.domain),
    raw,
  });
}

/** `{customerId, customerOrganization, customerCloudProfiles:[...]}` → profiles. */
export function fromIonCloudProfiles(value: unknown): IonCloudProfile[] {
  const body = asObject(value);
  const list = Array.isArray(value) ? value : (body.customerCloudProfiles ?? body.cloudProfiles);
  return asArray(list).map(fromIonCloudProfile);
}

const MICROSOFT = /microsoft|azure|office ?365|m365|\bcsp\b|nce/i;

/**
 * The Microsoft tenant and domain among a customer's cloud profiles: the first Microsoft-looking
 * profile carrying a tenant or domain (enabled ones first); undefined when there is none.
 */
export function pickMicrosoftProfile(profiles: IonCloudProfile[]): { tenantId?: string; domain?: string } | undefined {
  const isMicrosoft = (p: IonCloudProfile) => MICROSOFT.test(`${p.shortName ?? ""} ${p.displayName ?? ""} ${p.providerId ?? ""}`);
  const candidates = profiles.filter((p) => isMicrosoft(p) && (p.tenantId || p.domain));
  candidates.sort((a, b) => Number(b.enabled !== false) - Number(a.enabled !== false));
  const best = candidates[0];
  if (!best) return undefined;
  const tenantId = best.tenantId && GUID_PATTERN.test(best.tenantId) ? best.tenantId.toLowerCase() : best.tenantId;
  return compact({ tenantId, domain: best.domain?.toLowerCase() });
}
