/**
 * The accounts phase keeps Ion's customer-page chain going while it waits on Dataverse, reads a changed customer's
 * cloud profile at once, and starts reading the accounts to match against as soon as a customer Ion created since
 * the stored rows arrives; a customer whose change matching does not read (a contact name) costs no account read
 * at all (src/sync/accounts.ts). The stored provider accounts' read is held here until then, so the order is
 * observed, not timed.
 */
import { DataverseClient } from "../../../src/dataverse";
import { silentLogger } from "../../../src/shared/logger";
import { runSync, type SyncDeps } from "../../../src/sync";
import { startWorld, type World } from "../../support/world";

const PAGE = 5;
const CUSTOMERS = 40;

const stripEtag = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).filter(([k]) => !k.startsWith("@odata")));

describe("accounts phase: reads started early", () => {
  let w: World;
  let deps: SyncDeps;
  /** Set while a test holds the stored provider accounts' read; resolved by `release`. */
  let hold:
    | {
        release: () => void;
        released: Promise<void>;
        isReleased: boolean;
        accountsReadWhileHeld: boolean;
        customerPagesWhileHeld: number;
        profilesWhileHeld: number;
      }
    | undefined;
  let accountReads = 0;

  const profileReads = () =>
    Object.entries(w.ion.control.counters())
      .filter(([k]) => /cloudProfiles/i.test(k))
      .reduce((a, [, v]) => a + v, 0);
  const customerPages = () =>
    Object.entries(w.ion.control.counters())
      .filter(([k]) => /GET \/customers$|\/customers \(list\)|customers$/.test(k) && !/cloudProfiles/i.test(k))
      .reduce((a, [, v]) => a + v, 0);

  beforeAll(async () => {
    w = await startWorld({ seed: 12, customers: CUSTOMERS, subscriptionsPerCustomer: 1 });
    const transport: typeof fetch = async (input, init) => {
      const url = decodeURIComponent(String(input instanceof Request ? input.url : input));
      const method = init?.method ?? "GET";
      if (method === "GET" && /\/accounts\?/.test(url)) {
        accountReads++;
        if (hold && !hold.isReleased) hold.accountsReadWhileHeld = true;
      }
      // The accounts phase's read of its stored rows (the mapping state), not the first $batch's probe.
      if (hold && method === "GET" && /\/w365_provideraccounts\?/.test(url) && /w365_mappingstatus/.test(url)) {
        const h = hold;
        await h.released;
        h.customerPagesWhileHeld = customerPages();
        h.profilesWhileHeld = profileReads();
      }
      return fetch(input, init);
    };
    const dv = new DataverseClient({
      url: w.emu.url,
      auth: { kind: "static", token: w.emu.integrationToken },
      logger: silentLogger,
      fetch: transport,
    });
    deps = { ...w.deps, dataverse: dv, ion: { customerPageSize: PAGE } };
    expect((await runSync(deps, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" })).status).toBe("succeeded");
  });
  afterAll(async () => {
    await w?.close();
  });

  /**
   * Holds the stored-rows read until every customer page and a cloud profile are read (and the accounts asked
   * for, when `accounts`), or 5 s pass.
   */
  const holdStoredRows = (accounts: boolean) => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    hold = { release, released, isReleased: false, accountsReadWhileHeld: false, customerPagesWhileHeld: 0, profilesWhileHeld: 0 };
    const h = hold;
    void released.then(() => (h.isReleased = true));
    const started = customerPages();
    const profilesBefore = profileReads();
    const timer = setTimeout(release, 5000);
    const poll = setInterval(() => {
      if ((h.accountsReadWhileHeld || !accounts) && customerPages() - started >= pagesNow() && profileReads() > profilesBefore) {
        clearInterval(poll);
        clearTimeout(timer);
        release();
      }
    }, 5);
    void released.then(() => clearInterval(poll));
    return { h, started, profilesBefore };
  };

  const pagesNow = () => Math.ceil(w.ion.control.customers().length / PAGE);

  it("a customer's contact name changed in Ion: its cloud profile is read and every customer page while the stored rows are still being read; the accounts are not read, and its mapping stays", async () => {
    const target = w.ion.control.customers()[CUSTOMERS - 3]!;
    // Half a second past a whole one: rows hold the time to the second, Ion to the millisecond.
    w.ion.control.advanceClock(60_500);
    w.ion.control.updateCustomer(target.id, { customerName: `${target.customerName} (changed)` });
    const mappingColumns = [
      "w365_mappingstatus",
      "w365_matchreason",
      "w365_matchscore",
      "_w365_suggestedaccount_value",
      "_w365_account_value",
    ];
    const rowOf = (select: string[]) =>
      deps.dataverse.queryFirst<Record<string, unknown>>("w365_provideraccounts", {
        select,
        filter: `w365_ioncustomerid eq '${target.id}'`,
      });
    const before = await rowOf(mappingColumns);
    accountReads = 0;
    const { h, started, profilesBefore } = holdStoredRows(false);
    const s = await runSync(deps, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" });
    hold = undefined;
    expect(s.status).toBe("succeeded");
    expect(s.updated).toBe(1);
    // Past the usual three pages ahead: the chain went on while the phase waited.
    expect(h.customerPagesWhileHeld - started).toBe(pagesNow());
    // Its cloud profile: the only one the run reads.
    expect(h.profilesWhileHeld - profilesBefore).toBe(1);
    expect(profileReads() - profilesBefore).toBe(1);
    // Matching reads no contact name: the stored decision stands, and no account is read for it.
    expect(accountReads).toBe(0);
    const { w365_contactname: contact, ...mapping } = (await rowOf([...mappingColumns, "w365_contactname"]))!;
    expect(contact).toBe(w.ion.control.customers().find((c) => c.id === target.id)!.customerName);
    expect(stripEtag(mapping)).toEqual(stripEtag(before!));
  });

  it("a customer added in Ion: the accounts and its cloud profile are asked for, and every customer page read, while the stored rows are still being read", async () => {
    w.ion.control.advanceClock(60_500);
    const added = w.ion.control.addCustomer({ customerOrganization: "Early Reads Added Ltd" });
    const { h, started, profilesBefore } = holdStoredRows(true);
    const s = await runSync(deps, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" });
    hold = undefined;
    expect(s.status).toBe("succeeded");
    expect(s.created).toBe(1);
    expect(h.accountsReadWhileHeld).toBe(true);
    expect(h.customerPagesWhileHeld - started).toBe(pagesNow());
    expect(h.profilesWhileHeld - profilesBefore).toBe(1);
    const row = await deps.dataverse.queryFirst<{ w365_matchreason?: string | null }>("w365_provideraccounts", {
      select: ["w365_matchreason"],
      filter: `w365_ioncustomerid eq '${added.id}'`,
    });
    // Matched: a reason is recorded whatever the decision.
    expect(row?.w365_matchreason ?? "").not.toBe("");
  });

  it("nothing changed in Ion: the accounts are not read at all", async () => {
    accountReads = 0;
    const s = await runSync(deps, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" });
    expect(s.status).toBe("succeeded");
    expect(s.updated).toBe(0);
    expect(accountReads).toBe(0);
  });
});
