/**
 * The scores that decide what the sync does with a match, in a module of their own that imports nothing, so the
 * mapping page can use the same numbers without bundling the scorer.
 */

/** Auto-map only at or above this score... */
export const AUTO_MAP_THRESHOLD = 0.9;
/** ...and only when the runner-up is at least this far behind. */
export const AUTO_MAP_MARGIN = 0.1;
/** Below this, no suggestion is recorded. */
export const SUGGEST_THRESHOLD = 0.5;
