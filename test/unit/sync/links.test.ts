import { CustomerLinks, type LinkDecision } from "../../../src/sync/links";

function links() {
  const released: { customer: string; items: string[]; link: LinkDecision }[] = [];
  const l = new CustomerLinks<string>();
  l.onRelease = (items, link, customer) => released.push({ customer, items: [...items], link });
  return { l, released };
}

describe("CustomerLinks", () => {
  it("answers pending until a customer is decided, then releases what waited for it in order", () => {
    const { l, released } = links();
    expect(l.lookup("c1")).toBe("pending");
    l.hold("c1", "s1");
    l.hold("c1", "s2");
    l.hold("c2", "s3");
    expect(l.heldCount).toBe(3);
    l.decide("c1", { providerAccountId: "p1", accountId: "a1" });
    expect(released).toStrictEqual([{ customer: "c1", items: ["s1", "s2"], link: { providerAccountId: "p1", accountId: "a1" } }]);
    expect(l.heldCount).toBe(1);
    expect(l.lookup("c1")).toStrictEqual({ providerAccountId: "p1", accountId: "a1" });
    expect(l.lookup("c2")).toBe("pending");
  });

  it("keeps the first decision (a stored Mapped row is decided before the run plans it)", () => {
    const { l } = links();
    l.decide("c1", { providerAccountId: "p1" });
    l.decide("c1", null);
    expect(l.lookup("c1")).toStrictEqual({ providerAccountId: "p1" });
  });

  it("null means not mapped: the held subscriptions are released with null", () => {
    const { l, released } = links();
    l.hold("c1", "s1");
    l.decide("c1", null);
    expect(released).toStrictEqual([{ customer: "c1", items: ["s1"], link: null }]);
  });

  it("close decides everyone left from the fallback, releases them and answers later lookups from it", async () => {
    const { l, released } = links();
    l.hold("c1", "s1");
    l.hold("c2", "s2");
    const below = l.whenHeldBelow(1);
    const later = l.whenHeldBelow(2);
    l.close((id) => (id === "c1" ? { providerAccountId: "p1" } : null));
    await expect(later).resolves.toBeUndefined();
    await expect(below).resolves.toBeUndefined();
    expect(released.map((r) => [r.customer, r.link])).toStrictEqual([
      ["c1", { providerAccountId: "p1" }],
      ["c2", null],
    ]);
    expect(l.heldCount).toBe(0);
    expect(l.lookup("c1")).toStrictEqual({ providerAccountId: "p1" });
    expect(l.lookup("unknown")).toBeNull();
    // Closed: every later lookup answers (never "pending") and holding is never needed again.
    expect(l.lookup("another")).not.toBe("pending");
  });

  it("whenHeldBelow waits until releases bring the count under the mark", async () => {
    const { l } = links();
    for (let i = 0; i < 4; i++) l.hold(`c${i}`, `s${i}`);
    let woke = false;
    const wait = l.whenHeldBelow(3).then(() => (woke = true));
    l.decide("c0", null);
    await Promise.resolve();
    expect(woke).toBe(false); // 3 held: not below 3
    l.decide("c1", null);
    await wait;
    expect(woke).toBe(true);
    await expect(l.whenHeldBelow(10)).resolves.toBeUndefined();
  });

  it("a failed accounts phase fails whoever waits, and later waits fail at once", async () => {
    const { l } = links();
    l.hold("c1", "s1");
    const planned = l.whenAllPlanned();
    const below = l.whenHeldBelow(1);
    const error = new Error("accounts phase failed");
    l.fail(error);
    await expect(planned).rejects.toBe(error);
    await expect(below).rejects.toBe(error);
    await expect(l.whenHeldBelow(1)).rejects.toBe(error);
    expect(l.heldCount).toBe(0);
    // Nothing is decided or released any more, and a reader beside the phase is told at its next page.
    l.decide("c2", null);
    expect(l.lookup("c2")).toBe("pending");
    expect(() => l.throwIfFailed()).toThrow(error);
    expect(() => links().l.throwIfFailed()).not.toThrow();
  });

  it("tells waiters when the accounts phase has planned everything, or that it failed", async () => {
    const { l } = links();
    expect(l.allPlanned).toBe(false);
    const planned = l.whenAllPlanned();
    l.markAllPlanned();
    await expect(planned).resolves.toBeUndefined();
    expect(l.allPlanned).toBe(true);
    await expect(l.whenAllPlanned()).resolves.toBeUndefined();

    const other = links().l;
    const waiting = other.whenAllPlanned();
    other.fail(new Error("accounts phase failed"));
    await expect(waiting).rejects.toThrow("accounts phase failed");
    await expect(other.whenAllPlanned()).rejects.toThrow("accounts phase failed");
  });

  it("refuses to hold items before a release handler is set", () => {
    const l = new CustomerLinks<string>();
    l.hold("c1", "s1");
    expect(() => l.decide("c1", null)).toThrow("CustomerLinks.onRelease must be set before items are held.");
  });
});
