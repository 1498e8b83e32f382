import { notDueReason, STATUS_CONNECTED } from "../../../functions/scheduledSync";
import { isDue, nextOccurrence, parseNcrontab } from "../../../src/shared/cron";

const at = (iso: string) => new Date(iso);

describe("NCRONTAB", () => {
  it("finds the next daily 02:00", () => {
    const s = parseNcrontab("0 0 2 * * *");
    expect(nextOccurrence(s, at("2026-11-27T01:59:59Z"))?.toISOString()).toBe("2026-11-27T02:00:00.000Z");
    expect(nextOccurrence(s, at("2026-11-27T02:00:00Z"))?.toISOString()).toBe("2026-11-28T02:00:00.000Z");
  });

  it("handles steps, ranges, lists and names", () => {
    expect(nextOccurrence(parseNcrontab("*/15 * * * * *"), at("2026-01-01T00:00:07Z"))?.toISOString()).toBe("2026-01-01T00:00:15.000Z");
    expect(nextOccurrence(parseNcrontab("0 30 9-17 * * Mon-Fri"), at("2026-11-28T12:00:00Z"))?.toISOString()).toBe(
      "2026-11-30T09:30:00.000Z",
    );
    expect(nextOccurrence(parseNcrontab("0 0 0 1 Jan,Jul *"), at("2026-02-01T00:00:00Z"))?.toISOString()).toBe("2026-07-01T00:00:00.000Z");
    expect(nextOccurrence(parseNcrontab("0 0 12 * * 7"), at("2026-11-27T00:00:00Z"))?.toISOString()).toBe("2026-11-29T12:00:00.000Z");
  });

  it("returns undefined for a date that never comes", () => {
    expect(nextOccurrence(parseNcrontab("0 0 0 31 2 *"), at("2026-01-01T00:00:00Z"))).toBeUndefined();
  });

  it.each([
    "",
    "* * * * *",
    "60 * * * * *",
    "0 0 25 * * *",
    "0 0 0 0 * *",
    "0 0 0 * 13 *",
    "0 */0 * * * *",
    "0 5-1 * * * *",
    "a b c d e f",
  ])("refuses %p", (expr) => {
    expect(() => parseNcrontab(expr)).toThrow(/not a valid NCRONTAB schedule/);
  });

  it("says whether a schedule fired since a time", () => {
    const s = parseNcrontab("0 0 2 * * *");
    expect(isDue(s, at("2026-11-26T02:00:00Z"), at("2026-11-27T01:00:00Z"))).toBe(false);
    expect(isDue(s, at("2026-11-26T02:00:00Z"), at("2026-11-27T02:00:00Z"))).toBe(true);
  });
});

describe("NCRONTAB fields", () => {
  const set = (s: ReadonlySet<number>) => [...s].sort((a, b) => a - b);

  it("reads whole month and weekday names by their first three letters, in any case", () => {
    const s = parseNcrontab("0 0 0 1 JANUARY,july Monday,friday");
    expect(set(s.months)).toEqual([1, 7]);
    expect(set(s.weekdays)).toEqual([1, 5]);
  });

  it("reads numeric months and weekdays", () => {
    const s = parseNcrontab("0 0 0 1 6 3");
    expect(set(s.months)).toEqual([6]);
    expect(set(s.weekdays)).toEqual([3]);
  });

  it("steps from a start value to the field's end, Saturday ending the week", () => {
    expect(set(parseNcrontab("5/20 * * * * *").seconds)).toEqual([5, 25, 45]);
    expect(set(parseNcrontab("0 0 0 * * 1/2").weekdays)).toEqual([1, 3, 5]);
    expect(set(parseNcrontab("0 0 0 * * */2").weekdays)).toEqual([0, 2, 4, 6]);
    expect(set(parseNcrontab("0 0 0 * * 5-7").weekdays)).toEqual([0, 5, 6]);
  });

  it("accepts a one-value range", () => {
    expect(set(parseNcrontab("0 5-5 * * * *").minutes)).toEqual([5]);
  });

  it("accepts padding and runs of white space between fields", () => {
    expect(set(parseNcrontab("  0\t30   2 * * *  ").hours)).toEqual([2]);
  });

  it.each(["1//2 * * * * *", "/5 * * * * *", "1,,2 * * * * *", "1/2/3 * * * * *", "0 , * * * *"])(
    "refuses the empty or doubled part in %p",
    (expr) => {
      expect(() => parseNcrontab(expr)).toThrow(/not a valid NCRONTAB schedule: bad (second|minute) field/);
    },
  );

  it("takes the earliest time of a day whatever order the list is written in", () => {
    expect(nextOccurrence(parseNcrontab("30,10 45,15 20,5 * * *"), at("2026-03-01T00:00:00Z"))?.toISOString()).toBe(
      "2026-03-01T05:15:10.000Z",
    );
  });

  it("searches 1,830 days ahead and no further", () => {
    // Sunday 31 December: 2028, then 2034.
    const s = parseNcrontab("0 0 0 31 12 0");
    const target = Date.parse("2034-12-31T00:00:00Z");
    const days = (n: number) => n * 86_400_000;
    expect(nextOccurrence(s, new Date(target - days(1829)))?.toISOString()).toBe("2034-12-31T00:00:00.000Z");
    expect(nextOccurrence(s, new Date(target - days(1830)))).toBeUndefined();
  });

  it("is never due for a schedule that never fires", () => {
    expect(isDue(parseNcrontab("0 0 0 31 2 *"), at("2026-01-01T00:00:00Z"), at("2030-01-01T00:00:00Z"))).toBe(false);
  });
});

describe("which connectors the scheduled sync picks", () => {
  const now = at("2026-11-27T02:00:05Z");
  const row = { w365_providerconnectionid: "c", w365_status: STATUS_CONNECTED };
  it("picks connected connectors without their own schedule", () => expect(notDueReason(row, now)).toBeUndefined());
  it("skips connectors that are not connected", () =>
    expect(notDueReason({ ...row, w365_status: 365000003 }, now)).toMatch(/not connected/));
  it("honours a connector's own weekly schedule", () => {
    const weekly = { ...row, w365_syncschedule: "0 0 2 * * Mon", w365_lastsyncon: "2026-11-23T02:00:10Z" };
    expect(notDueReason(weekly, now)).toMatch(/no occurrence since the last sync/);
    expect(notDueReason(weekly, at("2026-11-30T02:00:00Z"))).toBeUndefined();
  });
  it("uses the environment's default schedule (w365_DefaultSyncSchedule) for connectors without their own", () => {
    const synced = { ...row, w365_lastsyncon: "2026-11-23T02:00:10Z" };
    expect(notDueReason(synced, now, "0 0 2 * * Mon")).toMatch(/environment's default schedule .* has no occurrence since the last sync/);
    expect(notDueReason(synced, at("2026-11-30T02:00:00Z"), "0 0 2 * * Mon")).toBeUndefined();
    // A connector's own schedule wins over the default.
    expect(notDueReason({ ...synced, w365_syncschedule: "0 0 2 * * *" }, now, "0 0 2 * * Mon")).toBeUndefined();
  });
  it("falls back to the app schedule when the connector's schedule is unreadable", () => {
    expect(notDueReason({ ...row, w365_syncschedule: "every day", w365_lastsyncon: "2026-11-27T00:00:00Z" }, now)).toBeUndefined();
  });

  it("reads a field's value only as decimal digits or a name", () => {
    // A three-digit number in a field without names is a number out of range, not a name.
    expect(() => parseNcrontab("0 100 * * * *")).toThrow(/minute value "100" must be 0-59/);
    expect(() => parseNcrontab("0 0 123 * * *")).toThrow(/hour value "123" must be 0-23/);
    // JavaScript's own number forms are not NCRONTAB.
    for (const token of ["1e1", "0x1", "1.0"]) expect(() => parseNcrontab(`0 ${token} * * * *`)).toThrow(/minute value/);
    for (const step of ["1e1", "0x2", "2.0"]) expect(() => parseNcrontab(`0 */${step} * * * *`)).toThrow(/bad step in minute field/);
    expect(nextOccurrence(parseNcrontab("0 */10 * * * *"), at("2026-01-01T00:00:01Z"))?.toISOString()).toBe("2026-01-01T00:10:00.000Z");
  });
});
