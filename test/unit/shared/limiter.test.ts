import { ValidationError } from "../../../src/shared/errors";
import { ConcurrencyLimiter } from "../../../src/shared/limiter";

/** A task the test finishes by hand, so concurrency is observed without timers. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("ConcurrencyLimiter", () => {
  it("refuses a cap that is not a positive integer", () => {
    expect(() => new ConcurrencyLimiter(0)).toThrow(ValidationError);
    expect(() => new ConcurrencyLimiter(1.5)).toThrow(/maxConcurrency must be a positive integer/);
  });

  it("never runs more than max tasks at once and starts waiters first come, first served", async () => {
    const limiter = new ConcurrencyLimiter(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((gate, i) =>
      limiter.run(async () => {
        started.push(i);
        await gate.promise;
        return i;
      }),
    );
    await flush();
    expect(started).toStrictEqual([0, 1]);
    expect(limiter.inFlight).toBe(2);
    expect(limiter.queued).toBe(2);

    gates[1]!.resolve();
    await flush();
    expect(started).toStrictEqual([0, 1, 2]);
    expect(limiter.inFlight).toBe(2);

    gates[0]!.resolve();
    gates[2]!.resolve();
    gates[3]!.resolve();
    await expect(Promise.all(runs)).resolves.toStrictEqual([0, 1, 2, 3]);
    expect(limiter.inFlight).toBe(0);
    expect(limiter.queued).toBe(0);
    expect(limiter.peakInFlight).toBe(2);
  });

  it("frees the slot when a task fails", async () => {
    const limiter = new ConcurrencyLimiter(1);
    await expect(limiter.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(limiter.inFlight).toBe(0);
    await expect(limiter.run(async () => "next")).resolves.toBe("next");
  });
});
