// User text comes from strings/StreamOneConnector.1033.resx through context.resources.getString.
import { formatMessage } from "../../../ui-shared/validation";
import type { StringKey } from "./stringKeys";

export type Localize = (key: StringKey, ...args: readonly (string | number)[]) => string;

/** Wraps getString; `{0}`-style placeholders are filled from args. A missing key shows the key, never a blank. */
export function createLocalizer(getString: (key: string) => string): Localize {
  return (key, ...args) => {
    const template = getString(key);
    return formatMessage(template || key, ...args.map(String));
  };
}

/** Dates as the admin's locale shows them; the control passes the user's formatting when it has one. */
export type FormatDate = (date: Date) => string;

export const defaultFormatDate: FormatDate = (date) =>
  date.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
