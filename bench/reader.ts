/**
 * The bare reader: the reads any sync of the same data must make, with no processing, timed.
 * Dataverse: the floor's data sets, paged at 5,000 with the columns the sync selects. Ion: every customer
 * page, every subscription page and as many cloud profiles as the run read. Both sides run at once (the
 * sync overlaps them too). Together with the loader it is the time floor of a run: a run that writes
 * 1% of the rows still has to read all of them, which the loader alone does not measure.
 */
import type { DataverseClient } from "../src/dataverse";
import { mapPool } from "../src/shared/pool";
import { ACCOUNT_MATCH_COLUMNS, PROVIDER_ACCOUNT_STATE_COLUMNS, PROVIDER_SUBSCRIPTION_STATE_COLUMNS, SETS } from "../src/sync/schema";

/** Columns the sync reads per data set (the floor's reads). */
export const READ_COLUMNS: Record<string, readonly string[]> = {
  [SETS.providerAccount]: PROVIDER_ACCOUNT_STATE_COLUMNS,
  [SETS.providerSubscription]: PROVIDER_SUBSCRIPTION_STATE_COLUMNS,
  [SETS.account]: ACCOUNT_MATCH_COLUMNS,
};

export interface ReaderInput {
  dv: DataverseClient;
  connectionId: string;
  /** The floor's data sets (entity set → rows). */
  reads: Record<string, number>;
  ion: { url: string; accountId: string; accessToken: string };
  cloudProfiles: number;
  pageLimit: number;
  profileConcurrency: number;
}

export interface ReaderResult {
  ms: number;
  dataverseRows: number;
  ionRequests: number;
}

async function ionGet(input: ReaderInput, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${input.ion.url}/api/v3/accounts/${input.ion.accountId}${path}`, {
    headers: { authorization: `Bearer ${input.ion.accessToken}` },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`bare reader: GET ${path.replace(/\?.*/, "")} answered ${res.status}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const firstArray = (body: Record<string, unknown>): Record<string, unknown>[] =>
  (Object.values(body).find(Array.isArray) as Record<string, unknown>[] | undefined) ?? [];

export async function runReader(input: ReaderInput): Promise<ReaderResult> {
  const started = performance.now();
  let dataverseRows = 0;
  let ionRequests = 0;
  const dataverse = async () => {
    for (const set of Object.keys(input.reads)) {
      const select = [...(READ_COLUMNS[set] ?? [])];
      const filter = set === SETS.account ? undefined : `_w365_connection_value eq ${input.connectionId}`;
      for await (const page of input.dv.queryPages(set, { select, filter, pageSize: 5000 })) dataverseRows += page.length;
    }
  };
  const ion = async () => {
    const customerIds: string[] = [];
    let token = "";
    do {
      const body = await ionGet(
        input,
        `/customers?pageSize=${input.pageLimit}${token ? `&pageToken=${encodeURIComponent(token)}` : ""}&filter.customerStatus=CUSTOMER_STATUS_UNSPECIFIED`,
      );
      ionRequests++;
      // Ion names a customer "accounts/{A}/customers/{C}".
      for (const c of firstArray(body))
        customerIds.push(
          String(c.name ?? "")
            .split("/")
            .pop() ?? "",
        );
      token = typeof body.nextPageToken === "string" ? body.nextPageToken : "";
    } while (token);
    const profiles = mapPool(customerIds.slice(0, input.cloudProfiles), input.profileConcurrency, async (id) => {
      await ionGet(input, `/customers/${encodeURIComponent(id)}/cloudProfiles`);
      ionRequests++;
    });
    const subscriptions = async () => {
      for (let offset = 0; ; offset += input.pageLimit) {
        const body = await ionGet(input, `/subscriptions?pagination.limit=${input.pageLimit}&pagination.offset=${offset}`);
        ionRequests++;
        const total = Number(body.totalCount);
        if (firstArray(body).length < input.pageLimit || (Number.isFinite(total) && offset + input.pageLimit >= total)) break;
      }
    };
    await Promise.all([profiles, subscriptions()]);
  };
  await Promise.all([dataverse(), ion()]);
  return { ms: Math.round(performance.now() - started), dataverseRows, ionRequests };
}
