/** Dataverse text columns have a maximum length; Ion values are not bounded, so clip before writing. */
export function clip(value: string | undefined | null, max = 100): string | null {
  if (value === undefined || value === null) return null;
  const trimmed = String(value).trim();
  if (trimmed === "") return null;
  return trimmed.length > max ? trimmed.slice(0, max) : trimmed;
}

/** Lower-case host of a domain, URL or e-mail address ("https://www.Contoso.com/x" → "contoso.com"). */
export function hostOf(value: string | undefined | null): string | undefined {
  if (!value) return undefined;
  let text = String(value).trim().toLowerCase();
  if (text === "") return undefined;
  const at = text.lastIndexOf("@");
  if (at >= 0) text = text.slice(at + 1);
  text = text.replace(/^[a-z][a-z0-9+.-]*:\/\//, "");
  text = text.split(/[/?#:]/)[0] ?? "";
  text = text.replace(/^www\./, "").replace(/\.$/, "");
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(text) ? text : undefined;
}
