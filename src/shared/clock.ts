/** Injected time source, so token expiry and schedules can be tested without waiting. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
