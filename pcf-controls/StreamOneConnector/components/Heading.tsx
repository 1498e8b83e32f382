import { tokens } from "@fluentui/react-components";
import * as React from "react";

export interface HeadingProps {
  readonly level: 1 | 2;
  readonly id: string;
  readonly children: React.ReactNode;
}

/** A view heading that takes focus when its view opens (tabIndex -1), so keyboard and screen-reader users land on it. */
export const Heading = React.forwardRef<HTMLHeadingElement, HeadingProps>(function Heading(props, ref) {
  const style: React.CSSProperties = {
    fontFamily: tokens.fontFamilyBase,
    fontSize: props.level === 1 ? tokens.fontSizeBase600 : tokens.fontSizeBase500,
    fontWeight: tokens.fontWeightSemibold,
    margin: "0 0 8px",
  };
  return React.createElement(`h${props.level}`, { id: props.id, ref, tabIndex: -1, style }, props.children);
});
