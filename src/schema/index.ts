/**
 * The Dataverse schema the product reads and writes, generated from solution/ (generated.ts), plus the one
 * helper every reader of a choice needs. Browser-safe: the PCF control and the web resources bundle this file,
 * so it never imports the generator (generate.ts, which reads files).
 */
export * from "./generated";

/** The label of a choice value as the solution names it, or undefined for a value the choice does not have. */
export function choiceLabel(labels: { readonly [value: number]: string }, value: unknown): string | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  return Object.prototype.hasOwnProperty.call(labels, Number(value)) ? labels[Number(value)] : undefined;
}
