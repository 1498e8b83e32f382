import { Combobox, Option } from "@fluentui/react-components";
import * as React from "react";

import type { CodeOption } from "../../../ui-shared/isoCountries";
import { formatCodeOption, resolveCodeOption, searchCodeOptions } from "../../../ui-shared/validation";

export interface CodePickerProps {
  /** Options to pick from: ISO 3166-1 countries or ISO 4217 currencies. */
  readonly options: readonly CodeOption[];
  /** The chosen code ("" when none). */
  readonly value: string;
  readonly onChange: (code: string) => void;
  /** Called on leaving the box with the code it now holds. */
  readonly onBlur?: (code: string) => void;
  readonly noMatchText: string;
  readonly placeholder?: string;
  readonly name: string;
  readonly inputRef?: React.Ref<HTMLInputElement>;
}

/**
 * A searchable, keyboard-operable picker (Fluent Combobox): type a name, a code or a common alias ("UK", "Holland",
 * "€"), arrow to an option, Enter. A text that names exactly one option ("us", "England", "Türkiye") makes that
 * option the active one, so Tab, Enter or leaving the box selects it and shows it in full; any other text leaves no
 * option active until the admin arrows to one, stays as typed and is reported as not in the list, so nothing the
 * admin did not pick is ever saved.
 */
export function CodePicker(props: CodePickerProps): React.ReactElement {
  const { options, value, onChange, onBlur, noMatchText, placeholder, name, inputRef } = props;
  const selected = React.useMemo(() => options.find((o) => o.code === value), [options, value]);
  const [query, setQuery] = React.useState(selected ? formatCodeOption(selected) : value);

  React.useEffect(() => {
    setQuery(selected ? formatCodeOption(selected) : value);
  }, [selected, value]);

  const showingSelection = selected !== undefined && query === formatCodeOption(selected);
  const matches = React.useMemo(
    () => (showingSelection ? [...options] : searchCodeOptions(options, query)),
    [options, query, showingSelection],
  );
  // The option the text names, ranked first by searchCodeOptions; Fluent activates the first option only when allowed.
  const named = React.useMemo(() => (showingSelection ? undefined : resolveCodeOption(options, query)), [options, query, showingSelection]);

  const onInput = (event: React.ChangeEvent<HTMLInputElement>): void => {
    const text = event.target.value;
    setQuery(text);
    if (!text.trim()) onChange("");
  };

  const onSelect = (_event: unknown, data: { optionValue?: string }): void => {
    if (data.optionValue === undefined) return;
    onChange(data.optionValue);
    const option = options.find((o) => o.code === data.optionValue);
    setQuery(option ? formatCodeOption(option) : data.optionValue);
  };

  const onLeave = (): void => {
    let code = value;
    if (!showingSelection) {
      // Keep an unmatched text as typed so validation can say it is not in the list.
      code = named ? named.code : query.trim();
      if (named) setQuery(formatCodeOption(named));
    }
    if (code !== value) onChange(code);
    onBlur?.(code);
  };

  return (
    <Combobox
      name={name}
      ref={inputRef}
      value={query}
      selectedOptions={value ? [value] : []}
      onOptionSelect={onSelect}
      onChange={onInput}
      onBlur={onLeave}
      placeholder={placeholder}
      autoComplete="off"
      freeform
      disableAutoFocus={!showingSelection && named === undefined}
    >
      {matches.map((option) => (
        // Fluent makes the first option whose text starts with the typed text active ("UK" → Ukraine, "America" →
        // American Samoa). The leading space keeps that from ever matching (Fluent trims what is typed, not the
        // option's text); the text is not shown, the children are.
        <Option key={option.code} value={option.code} text={` ${formatCodeOption(option)}`}>
          {formatCodeOption(option)}
        </Option>
      ))}
      {matches.length === 0 ? (
        <Option key="__none" value="" text={noMatchText} disabled>
          {noMatchText}
        </Option>
      ) : null}
    </Combobox>
  );
}
