// Browser APIs jsdom lacks that Fluent UI 9 calls on mount. Real no-op implementations of the observer
// interfaces: layout never changes in jsdom, so there is nothing to observe.
class NoopResizeObserver {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
}
const w = window as unknown as Record<string, unknown>;
if (!w.ResizeObserver) w.ResizeObserver = NoopResizeObserver;
