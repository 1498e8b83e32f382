import { KeyedMutex } from "../../../plugins/keyedMutex";

describe("KeyedMutex", () => {
  it("runs sections of one key one at a time, in order, and other keys freely", async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const section = (name: string) => async () => {
      events.push(`${name}:start`);
      await new Promise((r) => setImmediate(r));
      events.push(`${name}:end`);
      return name;
    };
    const results = await Promise.all([mutex.run("a", section("a1")), mutex.run("a", section("a2")), mutex.run("b", section("b1"))]);
    expect(results).toStrictEqual(["a1", "a2", "b1"]);
    expect(events.indexOf("a1:end")).toBeLessThan(events.indexOf("a2:start"));
    expect(events.indexOf("b1:start")).toBeLessThan(events.indexOf("a1:end"));
    expect(mutex.size).toBe(0);
  });

  it("keeps going after a failing section", async () => {
    const mutex = new KeyedMutex();
    await expect(mutex.run("a", async () => Promise.reject(new Error("x")))).rejects.toThrow("x");
    await expect(mutex.run("a", async () => 1)).resolves.toBe(1);
  });
});
