/** In-process token store: one lease at a time (a promise chain), for tests, the bench and the demo. */
import { registerSecret } from "../shared/redact";
import { TokenRotationConflictError } from "./errors";
import type { TokenLease, TokenState, TokenStore } from "./types";

let memoryStores = 0;

export class MemoryTokenStore implements TokenStore {
  readonly key = `memory|${++memoryStores}`;
  private state: TokenState;
  private chain: Promise<unknown> = Promise.resolve();
  /** How many saves succeeded; tests read it. */
  commits = 0;

  constructor(initial: TokenState) {
    registerSecret(initial.refreshToken);
    registerSecret(initial.accessToken);
    this.state = { ...initial };
  }

  current(): TokenState {
    return { ...this.state };
  }

  async load(): Promise<TokenState> {
    return this.current();
  }

  withRefreshLease<T>(work: (lease: TokenLease) => Promise<T>): Promise<T> {
    const run = this.chain.then(() => work({ fresh: this.current(), holdFor: async () => undefined }));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async save(from: string, next: TokenState): Promise<void> {
    if (this.state.refreshToken === next.refreshToken) return;
    if (this.state.refreshToken !== from)
      throw new TokenRotationConflictError("The stored refresh token changed before the rotated one was saved.");
    this.state = { ...next };
    this.commits++;
  }
}
