/**
 * The one memory of rotations Ion issued that could not be saved. `from` is the refresh token the store
 * still holds (used up in Ion); `next` is the state Ion issued for it. The manager saves `next` under the
 * next lease of the connector, before anything else, instead of presenting `from` again. One journal
 * per process is injected by the composition root (SyncDeps.rotations); PROCESS_ROTATION_JOURNAL is the
 * default so every run, verify and keep-alive of a process share it unless told otherwise.
 */
import type { TokenState } from "./types";

export interface UnsavedRotation {
  from: string;
  next: TokenState;
  /** The lease holder that kept the lease for this save: the next lease of this process takes it over at once. */
  leaseHolder?: string;
}

export class RotationJournal {
  private readonly entries = new Map<string, UnsavedRotation>();

  get(key: string): UnsavedRotation | undefined {
    const entry = this.entries.get(key);
    return entry ? { ...entry, next: { ...entry.next } } : undefined;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  record(key: string, entry: UnsavedRotation): void {
    this.entries.set(key, { ...entry, next: { ...entry.next } });
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

export const PROCESS_ROTATION_JOURNAL = new RotationJournal();
