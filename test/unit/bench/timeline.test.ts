import { InFlightTimeline } from "../../../bench/timeline";

describe("InFlightTimeline", () => {
  it("weights requests in flight by time, and says how long the cap was reached", () => {
    const t = new InFlightTimeline();
    // Two at once over the first half, one over the second half of a 100 ms run.
    t.add(0, 50);
    t.add(0, 100);
    const s = t.summary(0, 100, 2);
    expect(s).toMatchObject({ requests: 2, meanInFlight: 1.5, atCapShare: 0.5 });
    expect(s.byTenth).toStrictEqual([2, 2, 2, 2, 2, 1, 1, 1, 1, 1]);
  });

  it("counts only the part of a request inside the run", () => {
    const t = new InFlightTimeline();
    t.add(-50, 10);
    t.add(90, 200);
    const s = t.summary(0, 100, 1);
    expect(s.meanInFlight).toBe(0.2);
    expect(s.byTenth).toStrictEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });
});
