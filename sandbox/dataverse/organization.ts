/**
 * How the emulated environment describes its organization, as Dataverse does. Three different names
 * exist for one organization and a real tenant never makes them equal:
 * - `UrlName`: the label of the environment's URL (`contoso` in https://contoso.crm.dynamics.com);
 * - `UniqueName`: the organization's unique name, of the form `unq` + 32 hex digits; it is what a
 *   webhook's RemoteExecutionContext carries as `OrganizationName`;
 * - the domain in the `WebApplication` endpoint, which webhooks name in `x-ms-dynamics-organization`.
 * `OrganizationId` is the one value a delivery, WhoAmI and RetrieveCurrentOrganization share.
 * Followed: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/retrievecurrentorganization ,
 * https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/organizationdetail ,
 * https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/endpointcollection and
 * https://learn.microsoft.com/power-apps/developer/data-platform/use-webhooks (headers and payload).
 */
import { createHash } from "node:crypto";

import { DataverseHttpError } from "./errors";
import { deterministicGuid } from "./store";

export interface EmulatedOrganization {
  id: string;
  /** `unq` + 32 hex digits, derived from the URL label so a sandbox keeps it across restarts. */
  uniqueName: string;
  /** The label of the environment URL. */
  urlName: string;
  friendlyName: string;
  /** Host of the WebApplication endpoint: what `x-ms-dynamics-organization` carries. */
  domain: string;
  tenantId: string;
  environmentId: string;
}

export function describeOrganization(urlName: string): EmulatedOrganization {
  const label = urlName.toLowerCase();
  return {
    id: deterministicGuid(`org:${urlName}`),
    uniqueName: `unq${createHash("sha256").update(`unique:${label}`).digest("hex").slice(0, 32)}`,
    urlName: label,
    friendlyName: urlName,
    domain: `${label}.crm.dynamics.com`,
    tenantId: deterministicGuid(`tenant:${urlName}`),
    environmentId: deterministicGuid(`environment:${urlName}`),
  };
}

const ACCESS_TYPES = new Set(["Default", "Internet", "Intranet"]);

/**
 * The RetrieveCurrentOrganization function. Dataverse requires its AccessType parameter (an
 * EndpointAccessType: Default, Internet or Intranet), given inline or as a parameter alias.
 */
export function retrieveCurrentOrganization(
  o: EmulatedOrganization,
  key: string | undefined,
  query: URLSearchParams,
  base: string,
): Record<string, unknown> {
  const argument = /^\s*AccessType\s*=\s*(.+?)\s*$/.exec(key ?? "")?.[1];
  const value = argument?.startsWith("@") ? query.get(argument) : argument;
  const accessType = /^(?:Microsoft\.Dynamics\.CRM\.EndpointAccessType)?'(\w+)'$/.exec(value ?? "")?.[1];
  if (!accessType || !ACCESS_TYPES.has(accessType)) {
    throw new DataverseHttpError(
      400,
      "0x80060888",
      "RetrieveCurrentOrganization needs its AccessType parameter, e.g. RetrieveCurrentOrganization(AccessType=Microsoft.Dynamics.CRM.EndpointAccessType'Default').",
    );
  }
  const web = `https://${o.domain}/`;
  return {
    "@odata.context": `${base}$metadata#Microsoft.Dynamics.CRM.RetrieveCurrentOrganizationResponse`,
    Detail: {
      OrganizationId: o.id,
      FriendlyName: o.friendlyName,
      OrganizationVersion: "9.2.25063.00000",
      EnvironmentId: o.environmentId,
      DatacenterId: deterministicGuid(`datacenter:${o.urlName}`),
      Geo: "NA",
      TenantId: o.tenantId,
      UrlName: o.urlName,
      UniqueName: o.uniqueName,
      Endpoints: {
        Count: 3,
        IsReadOnly: false,
        Keys: ["WebApplication", "OrganizationService", "OrganizationDataService"],
        Values: [web, `${web}XRMServices/2011/Organization.svc`, `${web}XRMServices/2011/OrganizationData.svc`],
      },
      State: "Enabled",
      SchemaType: "Standard",
      OrganizationType: "Customer",
    },
  };
}
