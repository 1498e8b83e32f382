// The Fluent UI 9 components the mapping page uses. The page's script does not bundle them: build:ui puts React,
// ReactDOM and exactly these exports in one shared web resource (w365_/streamone/uiplatform.js, global
// W365UiPlatform) and points imports of this module at it, which keeps mapping.js small. Add a component here to
// use it in the page; TypeScript refuses a component the platform file does not carry.
export type { CheckboxOnChangeData, SortDirection } from "@fluentui/react-components";
export {
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  FluentProvider,
  Input,
  Link,
  makeStyles,
  ProgressBar,
  Select,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  tokens,
  Toolbar,
  webLightTheme,
} from "@fluentui/react-components";
