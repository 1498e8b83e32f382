/** The simulated clock (docs/platform/ion-api.md §9 test hooks: advancing a fake clock). */
import { SimApiError } from "../../../../sandbox/ion/errors";
import { SimClock } from "../../../../sandbox/ion/store";

describe("SimClock", () => {
  it("frozen: moves only when advanced; stamps are strictly increasing", () => {
    let real = 0;
    const clock = new SimClock(1_000, "frozen", () => real);
    real = 50_000;
    expect(clock.now()).toBe(1_000);
    clock.advance(500);
    expect(clock.now()).toBe(1_500);
    expect([clock.stamp(), clock.stamp(), clock.stamp()]).toStrictEqual([1_500, 1_501, 1_502]);
    expect(() => clock.advance(-1)).toThrow(SimApiError);
  });

  it("running: follows real time plus what was advanced", () => {
    let real = 10_000;
    const clock = new SimClock(1_000, "running", () => real);
    real += 2_000;
    clock.advance(300);
    expect(clock.now()).toBe(3_300);
  });
});
