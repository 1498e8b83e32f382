/**
 * The accounts phase keeps Ion's customer-page chain going while it waits on Dataverse, and starts reading the
 * accounts to match against as soon as a customer Ion changed since the stored rows arrives (src/sync/accounts.ts):
 * the stored provider accounts' read is held here until then, so the order is observed, not timed.
 */
import { DataverseClient } from "../../../src/dataverse";
import { silentLogger } from "../../../src/shared/logger";
import { runSync, type SyncDeps } from "../../../src/sync";
import { startWorld, type World } from "../../support/world";

const PAGE = 5;
const CUSTOMERS = 40;

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

  /** Holds the stored-rows read until the accounts are asked for and every customer page is read, or 5 s pass. */
  const holdStoredRows = () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    hold = { release, released, isReleased: false, accountsReadWhileHeld: false, customerPagesWhileHeld: 0, profilesWhileHeld: 0 };
    const h = hold;
    void released.then(() => (h.isReleased = true));
    const started = customerPages();
    const profilesBefore = profileReads();
    const timer = setTimeout(release, 5000);
    const poll = setInterval(() => {
      if (h.accountsReadWhileHeld && customerPages() - started >= CUSTOMERS / PAGE && profileReads() > profilesBefore) {
        clearInterval(poll);
        clearTimeout(timer);
        release();
      }
    }, 5);
    void released.then(() => clearInterval(poll));
    return { h, started, profilesBefore };
  };

  it("a customer changed in Ion: the accounts and its cloud profile are asked for, and every customer page read, while the stored rows are still being read", async () => {
    const target = w.ion.control.customers()[CUSTOMERS - 3]!;
    // Half a second past a whole one: rows hold the time to the second, Ion to the millisecond.
    w.ion.control.advanceClock(60_500);
    w.ion.control.updateCustomer(target.id, { customerName: `${target.customerName} (changed)` });
    const { h, started, profilesBefore } = holdStoredRows();
    const s = await runSync(deps, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" });
    hold = undefined;
    expect(s.status).toBe("succeeded");
    expect(s.updated).toBe(1);
    expect(h.accountsReadWhileHeld).toBe(true);
    // Past the usual three pages ahead: the chain went on while the phase waited.
    expect(h.customerPagesWhileHeld - started).toBe(CUSTOMERS / PAGE);
    // Its cloud profile too: the only one the run reads.
    expect(h.profilesWhileHeld - profilesBefore).toBe(1);
    expect(profileReads() - profilesBefore).toBe(1);
  });

  it("nothing changed in Ion: the accounts are not read at all", async () => {
    accountReads = 0;
    const s = await runSync(deps, { connectionId: w.connectionId, kind: "accounts", trigger: "schedule" });
    expect(s.status).toBe("succeeded");
    expect(s.updated).toBe(0);
    expect(accountReads).toBe(0);
  });
});
