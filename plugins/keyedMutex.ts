/**
 * Serialises async sections per key within one process. The sync custom APIs check "no identical run
 * in flight" and then create the queued run; two deliveries racing through that pair would both pass
 * the check. Across instances the race remains possible but harmless: the engine serialises token use
 * through the connector's lease, so a duplicate run only repeats idempotent upserts.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(section);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  get size(): number {
    return this.tails.size;
  }
}
