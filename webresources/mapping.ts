/// <reference types="xrm" />
// The provider account mapping page (HTML web resource w365_/streamone/mapping.html): Ion customers with their
// suggested account, score and reason; Map, Create new account (likely duplicates first), Ignore, Unmap, and a
// bulk accept of strong suggestions. Plain DOM (no React) so the web resource stays small and loads fast.

import { type ExecuteCustomApi, findXrm, resolveCustomApiExecutor } from "../ui-shared/customApi";
import { mappingStatusLabel, type RecordsApi, recordsApiFrom } from "../ui-shared/records";
import {
  type AccountRef,
  countByStatus,
  FILTER_LABELS,
  filterRows,
  formatScore,
  type MapAction,
  MAPPING_FILTERS,
  MappingData,
  type MappingFilter,
  type ProviderAccountView,
  STRONG_SUGGESTION_CHOICES,
  STRONG_SUGGESTION_SCORE,
  strongSuggestions,
} from "./mappingModel";

type Child = Node | string | null | undefined | false;

/** Creates an element; text always goes through text nodes, so customer data can never inject markup. */
export function h(
  tag: string,
  attrs: Record<string, string | boolean | ((event: Event) => void) | undefined> = {},
  ...children: Child[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(key.replace(/^on/, "").toLowerCase(), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}

export interface MappingPageDeps {
  readonly records: RecordsApi;
  readonly execute: ExecuteCustomApi;
  readonly root: HTMLElement;
  readonly connectionId?: string;
  readonly sleep?: (ms: number) => Promise<void>;
  /** How long to wait for the mapping handler to write its outcome to the row. */
  readonly settleTimeoutMs?: number;
  /** Rows per Web API page (default 5000, Dataverse's maximum); tests lower it to exercise paging. */
  readonly fetchPageSize?: number;
  /** Rows shown per page of the table (default 100): thousands of rows stay fast to render and to tab through. */
  readonly rowsPerPage?: number;
}

export const ROWS_PER_PAGE = 100;

const EXPECTED: Record<MapAction, (row: ProviderAccountView, accountId?: string) => boolean> = {
  map: (row, accountId) => row.status === "mapped" && (!accountId || row.accountId?.toLowerCase() === accountId.toLowerCase()),
  create: (row) => row.status === "mapped" && Boolean(row.accountId),
  ignore: (row) => row.status === "ignored",
  unmap: (row) => row.status === "unmapped" || row.status === "suggested",
};

export class MappingPage {
  private rows: ProviderAccountView[] = [];
  private filter: MappingFilter = "unmapped";
  private search = "";
  private busy = false;
  private pageIndex = 0;
  private strongThreshold = STRONG_SUGGESTION_SCORE;
  private connectorName = "";
  private readonly data: MappingData;
  private readonly sleep: (ms: number) => Promise<void>;
  private statusEl!: HTMLElement;
  private errorEl!: HTMLElement;
  private tableHost!: HTMLElement;
  private toolbar!: HTMLElement;
  private dialogReturnFocus: HTMLElement | null = null;

  constructor(private readonly deps: MappingPageDeps) {
    this.data = new MappingData(deps.records, deps.execute, deps.fetchPageSize, (n) => this.say(`Loading customers… ${n} so far.`));
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async start(): Promise<void> {
    const { root } = this.deps;
    root.textContent = "";
    this.statusEl = h("div", { id: "w365-status", role: "status", "aria-live": "polite", class: "status" });
    this.errorEl = h("div", { id: "w365-error", role: "alert", class: "error" });
    this.toolbar = h("div", { class: "toolbar" });
    this.tableHost = h("div", { class: "table-host" });
    const subtitle = h("p", { class: "connector", id: "w365-connector" });
    root.append(
      h("h1", { id: "w365-mapping-title" }, "Provider account mapping"),
      subtitle,
      h("p", { class: "intro" }, "Match each StreamOne Ion customer to a Work 365 account, create a new account, or ignore it."),
      this.toolbar,
      this.statusEl,
      this.errorEl,
      this.tableHost,
    );
    if (this.deps.connectionId) {
      // Which connector these customers belong to; the page still works when the name cannot be read.
      this.connectorName = await this.data.connectorName(this.deps.connectionId).catch(() => "");
      subtitle.textContent = this.connectorName ? `Connector: ${this.connectorName}` : "";
    } else {
      subtitle.textContent = "All connectors";
    }
    await this.reload();
  }

  async reload(): Promise<void> {
    this.say("Loading customers…");
    try {
      this.rows = await this.data.listProviderAccounts(this.deps.connectionId);
      this.pageIndex = 0;
      this.fail("");
      this.say(`${this.rows.length} customer(s) loaded.`);
      if (this.filter !== "all" && countByStatus(this.rows)[this.filter] === 0 && this.rows.length > 0) {
        this.filter = countByStatus(this.rows).suggested > 0 ? "suggested" : "all";
      }
    } catch (error) {
      this.fail(`The customers could not be loaded: ${(error as Error)?.message ?? String(error)}`);
    }
    this.render();
  }

  private say(message: string): void {
    this.statusEl.textContent = message;
  }

  private fail(message: string): void {
    this.errorEl.textContent = message;
  }

  /** Re-renders, keeping keyboard focus on the same control (filters, search, pager) so keyboard users keep their place. */
  private render(): void {
    const active = document.activeElement as HTMLElement | null;
    const focusKey = active && this.deps.root.contains(active) ? active.getAttribute("data-focus") : null;
    this.renderToolbar();
    this.renderTable();
    if (focusKey) this.deps.root.querySelector<HTMLElement>(`[data-focus="${focusKey}"]`)?.focus();
  }

  private renderToolbar(): void {
    const counts = countByStatus(this.rows);
    const strong = strongSuggestions(this.rows, this.strongThreshold);
    const filters = h(
      "div",
      { class: "filters", role: "group", "aria-label": "Show customers" },
      ...MAPPING_FILTERS.map((f) =>
        h(
          "button",
          {
            type: "button",
            class: f === this.filter ? "filter active" : "filter",
            "aria-pressed": f === this.filter ? "true" : "false",
            "data-filter": f,
            "data-focus": `filter-${f}`,
            onclick: () => {
              this.filter = f;
              this.pageIndex = 0;
              this.render();
            },
          },
          `${FILTER_LABELS[f]} (${counts[f]})`,
        ),
      ),
    );
    const searchInput = h("input", {
      id: "w365-search",
      type: "search",
      "data-focus": "search",
      value: this.search,
      oninput: (event) => {
        this.search = (event.target as HTMLInputElement).value;
        this.pageIndex = 0;
        this.renderTable();
      },
    }) as HTMLInputElement;
    searchInput.value = this.search;
    const threshold = h(
      "select",
      {
        id: "w365-strong-threshold",
        "data-focus": "threshold",
        disabled: this.busy,
        onchange: (event) => {
          this.strongThreshold = Number((event.target as HTMLSelectElement).value);
          this.renderToolbar();
        },
      },
      ...STRONG_SUGGESTION_CHOICES.map((value) =>
        h("option", { value: String(value), selected: value === this.strongThreshold }, `${formatScore(value)} or more`),
      ),
    ) as HTMLSelectElement;
    threshold.value = String(this.strongThreshold);
    const bulk = h(
      "button",
      {
        type: "button",
        class: "primary",
        id: "w365-accept-strong",
        "data-focus": "accept-strong",
        disabled: strong.length === 0 || this.busy,
        onclick: () => void this.acceptStrong(),
      },
      `Accept strong suggestions (${strong.length})`,
    );
    const refresh = h(
      "button",
      { type: "button", "data-focus": "refresh", disabled: this.busy, onclick: () => void this.reload() },
      "Refresh",
    );
    this.toolbar.textContent = "";
    this.toolbar.append(
      filters,
      h("span", { class: "field" }, h("label", { for: "w365-search" }, "Search customers"), searchInput),
      h("span", { class: "field" }, h("label", { for: "w365-strong-threshold" }, "Strong suggestion: score"), threshold, bulk),
      refresh,
    );
  }

  private renderTable(): void {
    const visible = filterRows(this.rows, this.filter, this.search);
    this.tableHost.textContent = "";
    if (visible.length === 0) {
      this.tableHost.append(h("p", { class: "empty" }, emptyText(this.rows.length, this.filter, this.search)));
      return;
    }
    const perPage = this.deps.rowsPerPage ?? ROWS_PER_PAGE;
    const pages = Math.ceil(visible.length / perPage);
    this.pageIndex = Math.min(this.pageIndex, pages - 1);
    const first = this.pageIndex * perPage;
    const shown = visible.slice(first, first + perPage);
    const head = h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["Ion customer", "Contact", "Domain / tenant", "Status", "Account", "Match", "Actions"].map((c) => h("th", { scope: "col" }, c)),
      ),
    );
    const body = h("tbody", {}, ...shown.map((row) => this.renderRow(row)));
    // The pager sits above the table, so the count and Next are in view without scrolling past 100 rows.
    this.tableHost.append(this.renderPager(first, shown.length, visible.length, pages));
    this.tableHost.append(h("table", { "aria-labelledby": "w365-mapping-title", "aria-describedby": "w365-range" }, head, body));
  }

  private renderPager(first: number, shown: number, total: number, pages: number): HTMLElement {
    const go = (index: number, pressed: "page-prev" | "page-next") => () => {
      this.pageIndex = index;
      this.renderTable();
      // Keep focus on the pager button pressed, or on its twin when the pressed one is now disabled (first/last page).
      const buttons = [pressed, pressed === "page-prev" ? "page-next" : "page-prev"].map((key) =>
        this.tableHost.querySelector<HTMLButtonElement>(`[data-focus="${key}"]`),
      );
      buttons.find((b) => b && !b.disabled)?.focus();
    };
    return h(
      "nav",
      { class: "pager", "aria-label": "Pages of customers" },
      h(
        "button",
        { type: "button", "data-focus": "page-prev", disabled: this.pageIndex === 0, onclick: go(this.pageIndex - 1, "page-prev") },
        "Previous",
      ),
      h(
        "span",
        { id: "w365-range", class: "range", "aria-live": "polite" },
        `${first + 1}–${first + shown} of ${total} · page ${this.pageIndex + 1} of ${pages}`,
      ),
      h(
        "button",
        { type: "button", "data-focus": "page-next", disabled: this.pageIndex >= pages - 1, onclick: go(this.pageIndex + 1, "page-next") },
        "Next",
      ),
    );
  }

  private renderRow(row: ProviderAccountView): HTMLElement {
    const button = (label: string, aria: string, onClick: () => void, cls = ""): HTMLElement =>
      h("button", { type: "button", class: cls, "aria-label": aria, disabled: this.busy, onclick: onClick }, label);
    const actions: HTMLElement[] = [];
    if (row.status === "suggested" && row.suggestedAccountId) {
      actions.push(
        button(
          "Accept",
          `Accept suggestion ${row.suggestedAccountName ?? ""} for ${row.name}`,
          () => void this.run(row, "map", row.suggestedAccountId),
          "primary",
        ),
      );
    }
    if (row.status !== "ignored")
      actions.push(button(row.status === "mapped" ? "Change…" : "Map…", `Map ${row.name} to an account`, () => this.openMapDialog(row)));
    if (row.status === "unmapped" || row.status === "suggested") {
      actions.push(button("Create new account", `Create new account for ${row.name}`, () => void this.createNew(row)));
      actions.push(button("Ignore", `Ignore ${row.name}`, () => void this.run(row, "ignore")));
    }
    if (row.status === "mapped") actions.push(button("Unmap", `Unmap ${row.name}`, () => void this.run(row, "unmap")));
    if (row.status === "ignored") actions.push(button("Restore", `Restore ${row.name}`, () => void this.run(row, "unmap")));

    // Account: the mapped account, or for an open row the suggested one (labelled as such).
    const account =
      row.status === "mapped"
        ? h("span", { class: "account" }, row.accountName ?? row.accountId ?? "")
        : row.suggestedAccountId && row.status !== "ignored"
          ? h(
              "div",
              {},
              h("div", { class: "muted" }, mappingStatusLabel("suggested")),
              h("span", { class: "account" }, row.suggestedAccountName ?? row.suggestedAccountId),
            )
          : h("span", { class: "muted" }, "None");
    const match =
      row.score !== undefined || row.reason
        ? h(
            "div",
            {},
            row.score !== undefined ? h("span", { class: "score" }, formatScore(row.score)) : null,
            row.reason ? h("div", { class: "reason" }, row.reason) : null,
          )
        : h("span", { class: "muted" }, "—");
    return h(
      "tr",
      { "data-id": row.id, "data-customer": row.customerId, "data-status": row.status },
      h("th", { scope: "row" }, h("div", { class: "name" }, row.name), h("div", { class: "muted" }, `Ion ID ${row.customerId}`)),
      h("td", {}, h("div", {}, row.contactName), h("div", { class: "muted" }, row.contactEmail)),
      h("td", {}, h("div", {}, row.domain), h("div", { class: "muted" }, row.tenantId)),
      h("td", {}, h("span", { class: `badge ${row.status}` }, mappingStatusLabel(row.status))),
      h("td", {}, account),
      h("td", { class: "match" }, match),
      h("td", {}, h("div", { class: "actions" }, ...actions)),
    );
  }

  /** Runs one mapping action and waits until the row shows its outcome. */
  async run(row: ProviderAccountView, action: MapAction, accountId?: string): Promise<boolean> {
    this.busy = true;
    this.render();
    const verb = { map: "Mapping", create: "Creating an account for", ignore: "Ignoring", unmap: "Unmapping" }[action];
    this.say(`${verb} ${row.name}…`);
    this.fail("");
    try {
      await this.data.apply(row, action, accountId);
      const updated = await this.waitForOutcome(row, action, accountId);
      this.rows = this.rows.map((r) => (r.id === updated.id ? updated : r));
      const done = EXPECTED[action](updated, accountId);
      if (!done) this.say(`${row.name}: the change was sent and is still being applied. Refresh in a moment.`);
      else if (action === "map" || action === "create") this.say(`${row.name} is mapped to ${updated.accountName ?? "the account"}.`);
      else if (action === "ignore") this.say(`${row.name} is ignored.`);
      else
        this.say(
          row.status === "ignored"
            ? `${row.name} is restored: it shows under ${FILTER_LABELS[updated.status]} again.`
            : `${row.name} is no longer mapped.`,
        );
      return done;
    } catch (error) {
      this.fail(`${row.name}: ${(error as Error)?.message ?? String(error)}`);
      this.say("");
      return false;
    } finally {
      this.busy = false;
      this.render();
    }
  }

  private async waitForOutcome(row: ProviderAccountView, action: MapAction, accountId?: string): Promise<ProviderAccountView> {
    const deadline = (this.deps.settleTimeoutMs ?? 30000) / 500;
    let current = await this.data.getProviderAccount(row.id);
    for (let i = 0; i < deadline && !EXPECTED[action](current, accountId); i++) {
      await this.sleep(500);
      current = await this.data.getProviderAccount(row.id);
    }
    return current;
  }

  async createNew(row: ProviderAccountView): Promise<void> {
    this.say(`Looking for accounts that may already be ${row.name}…`);
    let duplicates: AccountRef[] = [];
    try {
      duplicates = await this.data.findLikelyDuplicates(row);
    } catch (error) {
      this.fail(`Could not check for duplicates: ${(error as Error)?.message ?? String(error)}`);
      return;
    }
    if (duplicates.length === 0) {
      // Still one confirm: a new account is not undone by Unmap, and this button sits next to Map….
      this.say("No likely duplicates found.");
      this.openDialog(
        `Create a new account for ${row.name}?`,
        [
          h(
            "p",
            {},
            `No existing account matches this customer's name${row.domain ? ", domain" : ""}${row.tenantId ? " or Microsoft tenant" : ""}. A new account named "${row.name}" is created and mapped to it.`,
          ),
        ],
        [
          { label: "Create account", primary: true, onClick: () => (this.closeDialog(), void this.run(row, "create")) },
          { label: "Cancel", onClick: () => this.closeDialog() },
        ],
      );
      return;
    }
    this.say(`${duplicates.length} possible duplicate(s) found.`);
    const list = h(
      "ul",
      { class: "duplicates" },
      ...duplicates.map((d) =>
        h(
          "li",
          {},
          h("span", { class: "name" }, d.name),
          d.domain ? h("span", { class: "muted" }, ` ${d.domain}`) : null,
          d.city ? h("span", { class: "muted" }, ` · ${d.city}`) : null,
          " ",
          h(
            "button",
            {
              type: "button",
              "aria-label": `Map ${row.name} to ${d.name}`,
              onclick: () => (this.closeDialog(), void this.run(row, "map", d.id)),
            },
            "Map to this",
          ),
        ),
      ),
    );
    this.openDialog(
      `Possible duplicates of ${row.name}`,
      [h("p", {}, "These accounts may already be this customer. Map to one of them, or create a new account anyway."), list],
      [
        { label: "Create anyway", primary: true, onClick: () => (this.closeDialog(), void this.run(row, "create")) },
        { label: "Cancel", onClick: () => this.closeDialog() },
      ],
    );
  }

  openMapDialog(row: ProviderAccountView): void {
    const results = h("ul", { class: "results", id: "w365-account-results", "aria-live": "polite" });
    const input = h("input", { id: "w365-account-search", type: "search", autocomplete: "off" }) as HTMLInputElement;
    let seq = 0;
    const search = async (): Promise<void> => {
      const mine = ++seq;
      const query = input.value;
      results.textContent = "";
      if (!query.trim()) return;
      try {
        const accounts = await this.data.searchAccounts(query);
        if (mine !== seq) return;
        if (accounts.length === 0) results.append(h("li", { class: "muted" }, "No accounts match."));
        for (const account of accounts) {
          results.append(
            h(
              "li",
              {},
              h(
                "button",
                {
                  type: "button",
                  "aria-label": `Map to ${account.name}`,
                  onclick: () => (this.closeDialog(), void this.run(row, "map", account.id)),
                },
                account.name,
              ),
              account.domain ? h("span", { class: "muted" }, ` ${account.domain}`) : null,
              account.city ? h("span", { class: "muted" }, ` · ${account.city}`) : null,
            ),
          );
        }
      } catch (error) {
        if (mine === seq) results.append(h("li", { class: "error" }, `Search failed: ${(error as Error)?.message ?? String(error)}`));
      }
    };
    input.addEventListener("input", () => void search());
    this.openDialog(
      `Map ${row.name}`,
      [h("label", { for: "w365-account-search" }, "Search accounts by name or domain"), input, results],
      [{ label: "Cancel", onClick: () => this.closeDialog() }],
    );
    if (row.suggestedAccountName) {
      input.value = row.suggestedAccountName;
      void search();
    }
  }

  async acceptStrong(): Promise<void> {
    const strong = strongSuggestions(this.rows, this.strongThreshold);
    if (strong.length === 0) return;
    const confirmed = await new Promise<boolean>((resolve) => {
      this.openDialog(
        `Accept ${strong.length} strong suggestion(s)?`,
        [
          h("p", {}, `Each customer below is mapped to its suggested account (score ${formatScore(this.strongThreshold)} or more).`),
          h(
            "ul",
            {},
            ...strong.map((r) =>
              h("li", {}, `${r.name} → ${r.suggestedAccountName ?? r.suggestedAccountId ?? ""} (${formatScore(r.score)})`),
            ),
          ),
        ],
        [
          { label: "Accept all", primary: true, onClick: () => (this.closeDialog(), resolve(true)) },
          { label: "Cancel", onClick: () => (this.closeDialog(), resolve(false)) },
        ],
        () => resolve(false),
      );
    });
    if (!confirmed) return;
    let ok = 0;
    for (const [index, row] of strong.entries()) {
      this.say(`Accepting ${index + 1} of ${strong.length}…`);
      if (await this.run(row, "map", row.suggestedAccountId)) ok += 1;
    }
    this.say(`${ok} of ${strong.length} suggestion(s) accepted.`);
  }

  private openDialog(
    title: string,
    content: HTMLElement[],
    buttons: { label: string; primary?: boolean; onClick: () => void }[],
    onEscape?: () => void,
  ): void {
    this.closeDialog();
    this.dialogReturnFocus = document.activeElement as HTMLElement | null;
    const titleId = "w365-dialog-title";
    const dialog = h(
      "div",
      { class: "dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": titleId, id: "w365-dialog" },
      h("h2", { id: titleId }, title),
      ...content,
      h(
        "div",
        { class: "dialog-buttons" },
        ...buttons.map((b) => h("button", { type: "button", class: b.primary ? "primary" : "", onclick: b.onClick }, b.label)),
      ),
    );
    dialog.addEventListener("keydown", (event) => {
      const key = (event as KeyboardEvent).key;
      if (key === "Escape") {
        this.closeDialog();
        onEscape?.();
        return;
      }
      if (key !== "Tab") return;
      // Keep Tab inside the modal dialog (aria-modal alone does not stop focus from leaving it).
      const focusable = [...dialog.querySelectorAll<HTMLElement>("input, button:not([disabled]), select")];
      const first = focusable[0];
      const last = focusable[focusable.length - 1];
      if (!first || !last) return;
      if ((event as KeyboardEvent).shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!(event as KeyboardEvent).shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    });
    const backdrop = h("div", { class: "backdrop", id: "w365-backdrop" }, dialog);
    this.deps.root.append(backdrop);
    const first = dialog.querySelector<HTMLElement>("input, button");
    first?.focus();
  }

  private closeDialog(): void {
    const existing = this.deps.root.querySelector("#w365-backdrop");
    if (!existing) return;
    existing.remove();
    this.dialogReturnFocus?.focus?.();
    this.dialogReturnFocus = null;
  }
}

function emptyText(total: number, filter: MappingFilter, search: string): string {
  if (total === 0) return "No Ion customers yet. Run Sync Provider Accounts first.";
  if (search.trim()) return `No customers match "${search.trim()}".`;
  return filter === "all" ? "No customers match." : `No ${FILTER_LABELS[filter].toLowerCase()} customers.`;
}

/** The connector id passed by Xrm.Navigation.openWebResource (`data`) or `?id=`. */
export function connectionIdFromLocation(search: string): string | undefined {
  const params = new URLSearchParams(search);
  const raw = params.get("data") ?? params.get("id") ?? undefined;
  if (!raw) return undefined;
  const guid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(decodeURIComponent(raw));
  return guid ? guid[0].toLowerCase() : undefined;
}

/** Entry point called from mapping.html: uses window.Xrm or parent.Xrm (the host's). */
export function start(root: HTMLElement | null = document.getElementById("w365-mapping")): Promise<void> {
  const xrm = findXrm(window as unknown as { Xrm?: unknown; parent?: unknown }) as unknown as Xrm.XrmStatic | undefined;
  if (!root) return Promise.resolve();
  if (!xrm?.WebApi) {
    root.textContent = "Open this page from Work 365: Xrm is not available here.";
    return Promise.resolve();
  }
  const page = new MappingPage({
    records: recordsApiFrom(xrm.WebApi),
    execute: resolveCustomApiExecutor(window as unknown as { Xrm?: unknown; parent?: unknown; fetch?: unknown }),
    root,
    connectionId: connectionIdFromLocation(window.location.search),
  });
  return page.start();
}
