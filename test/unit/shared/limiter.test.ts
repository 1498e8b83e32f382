import { ValidationError } from "../../../src/shared/errors";
import { ConcurrencyLimiter, FairShareLimiter } from "../../../src/shared/limiter";

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
  it("gives the next free slot to an urgent task before the tasks already waiting, each kind in its order", async () => {
    const limiter = new ConcurrencyLimiter(1);
    const started: string[] = [];
    const gates = new Map<string, () => void>();
    const task = (name: string, urgent = false) =>
      limiter.run(
        () =>
          new Promise<void>((resolve) => {
            started.push(name);
            gates.set(name, resolve);
          }),
        urgent,
      );
    const all = [task("first"), task("bulk-1"), task("bulk-2"), task("chain-1", true), task("chain-2", true)];
    await Promise.resolve();
    expect(started).toEqual(["first"]);
    expect(limiter.queued).toBe(4);
    for (const name of ["first", "chain-1", "chain-2", "bulk-1", "bulk-2"]) {
      await new Promise((resolve) => setImmediate(resolve));
      expect(started.at(-1)).toBe(name);
      gates.get(name)!();
    }
    await Promise.all(all);
    expect(started).toEqual(["first", "chain-1", "chain-2", "bulk-1", "bulk-2"]);
    expect(limiter.peakInFlight).toBe(1);
  });

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

describe("FairShareLimiter", () => {
  it("serves waiting lanes in turn, priority lanes first, and keeps every lane under its cap and all under the capacity", async () => {
    const pool = new FairShareLimiter(2);
    const a = pool.lane("a", { max: 2 });
    const b = pool.lane("b", { max: 2 });
    const hooks = pool.lane("webhooks", { max: 1, priority: true });
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const task = (lane: typeof a, id: string) => {
      const gate = deferred();
      gates.set(id, gate);
      return lane.run(async () => {
        started.push(id);
        await gate.promise;
      });
    };
    const runs = [task(a, "a1"), task(a, "a2"), task(a, "a3"), task(a, "a4"), task(b, "b1"), task(b, "b2")];
    await flush();
    expect(started).toStrictEqual(["a1", "a2"]);
    runs.push(task(hooks, "w1"));
    gates.get("a1")!.resolve();
    await flush();
    // The priority lane goes first, though lane a and lane b queued before it.
    expect(started).toStrictEqual(["a1", "a2", "w1"]);
    gates.get("a2")!.resolve();
    await flush();
    // Then in turn: b (a was served last), not a's deeper queue.
    expect(started).toStrictEqual(["a1", "a2", "w1", "b1"]);
    gates.get("w1")!.resolve();
    await flush();
    expect(started.at(-1)).toBe("a3");
    gates.get("b1")!.resolve();
    await flush();
    expect(started.at(-1)).toBe("b2");
    for (const id of ["a3", "b2"]) gates.get(id)!.resolve();
    await flush();
    expect(started.at(-1)).toBe("a4");
    gates.get("a4")!.resolve();
    await Promise.all(runs);
    expect(pool.peakInFlight).toBe(2);
    expect(pool.inFlight).toBe(0);
  });

  it("grows to a new capacity at once and never lets one lane pass its own cap", async () => {
    const pool = new FairShareLimiter(1);
    const a = pool.lane("a", { max: 2 });
    const gate = deferred();
    const runs = [1, 2, 3].map(() => a.run(() => gate.promise));
    await flush();
    expect(a.inFlight).toBe(1);
    pool.resize(8);
    await flush();
    expect([a.inFlight, a.queued]).toStrictEqual([2, 1]);
    gate.resolve();
    await Promise.all(runs);
    expect(a.peakInFlight).toBe(2);
    expect(() => pool.resize(0)).toThrow(ValidationError);
    expect(() => pool.lane("x", { max: 0 })).toThrow(ValidationError);
  });
});
