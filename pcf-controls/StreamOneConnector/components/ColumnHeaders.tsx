import { TableHeader, TableHeaderCell, TableRow } from "@fluentui/react-components";
import * as React from "react";

export interface ColumnHeadersProps {
  /** The visible column titles, in order. */
  readonly titles: readonly string[];
  /** A last column (row actions or details) named for screen readers only. */
  readonly hiddenTitle?: string;
}

/** A table's header row: one cell per title, and an optional action column read out but not shown. */
export function ColumnHeaders(props: ColumnHeadersProps): React.ReactElement {
  return (
    <TableHeader>
      <TableRow>
        {props.titles.map((title, i) => (
          <TableHeaderCell key={i}>{title}</TableHeaderCell>
        ))}
        {props.hiddenTitle === undefined ? null : (
          <TableHeaderCell>
            <span className="w365-visually-hidden">{props.hiddenTitle}</span>
          </TableHeaderCell>
        )}
      </TableRow>
    </TableHeader>
  );
}
