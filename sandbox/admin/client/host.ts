// Plays the model-driven app's part for a PCF virtual control: registers the control from its bundle, builds a
// ComponentFramework context (webAPI over the /api/data proxy, resources from the built resx, navigation,
// formatting, mode) and renders what updateView returns with the platform's React.

import { createBrowserWebApi } from "./webApi";

interface ControlInstance {
  init(context: unknown, notifyOutputChanged: () => void, state: Record<string, unknown>, container?: HTMLDivElement): void;
  updateView(context: unknown): unknown;
  destroy(): void;
}
type ControlConstructor = new () => ControlInstance;

export interface HostConfig {
  readonly controlName: string;
  readonly strings: Record<string, string>;
  readonly parameters: Record<string, unknown>;
  readonly containerId: string;
}

const registry = new Map<string, ControlConstructor>();
(window as unknown as { ComponentFramework: unknown }).ComponentFramework = {
  registerControl: (name: string, ctor: ControlConstructor) => registry.set(name, ctor),
};

interface ReactGlobals {
  React: { createElement: (...args: unknown[]) => unknown };
  ReactDOM: { render(element: unknown, container: Element): void; unmountComponentAtNode(container: Element): boolean };
}

const formatDate = (d: Date, options: Intl.DateTimeFormatOptions): string => d.toLocaleString("en-US", { timeZone: "UTC", ...options });

export function buildContext(config: HostConfig, rerender: () => void): Record<string, unknown> {
  const api = createBrowserWebApi();
  const parameters: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(config.parameters)) {
    parameters[name] = {
      raw,
      formatted: raw === null || raw === undefined ? "" : String(raw),
      attributes: {},
      error: false,
      errorMessage: "",
      type: typeof raw,
    };
  }
  return {
    parameters,
    updatedProperties: [],
    webAPI: {
      retrieveMultipleRecords: api.retrieveMultipleRecords,
      retrieveRecord: api.retrieveRecord,
      createRecord: api.createRecord,
      updateRecord: api.updateRecord,
      deleteRecord: api.deleteRecord,
    },
    resources: {
      getString: (key: string) => config.strings[key] ?? key,
      getResource: (_id: string, _success: unknown, failure: () => void) => failure(),
    },
    navigation: {
      openWebResource: (name: string, _options?: unknown, data?: string) => {
        window.location.href = `/webresources/${name}${data ? `?data=${encodeURIComponent(data)}` : ""}`;
        return Promise.resolve();
      },
      openUrl: (url: string) => void window.open(url, "_blank", "noopener"),
      openAlertDialog: async (alert: { text: string }) => window.alert(alert.text),
      openConfirmDialog: async (confirm: { text: string }) => ({ confirmed: window.confirm(confirm.text) }),
      openErrorDialog: async (error: { message: string }) => window.alert(error.message),
      openForm: async () => ({ savedEntityReference: [] }),
    },
    formatting: {
      formatDateLong: (d: Date) => formatDate(d, { year: "numeric", month: "long", day: "numeric" }),
      formatDateShort: (d: Date) => formatDate(d, { year: "numeric", month: "2-digit", day: "2-digit" }),
      formatTime: (d: Date) => formatDate(d, { hour: "2-digit", minute: "2-digit" }),
      formatDateYearMonth: (d: Date) => formatDate(d, { year: "numeric", month: "long" }),
      formatInteger: (n: number) => n.toLocaleString("en-US"),
      formatDecimal: (n: number) => n.toLocaleString("en-US"),
    },
    mode: {
      isControlDisabled: false,
      isVisible: true,
      label: "StreamOne",
      allocatedWidth: window.innerWidth,
      allocatedHeight: -1,
      trackContainerResize: () => undefined,
      setControlState: () => true,
      setFullScreen: () => undefined,
    },
    client: {
      getClient: () => "Web",
      getFormFactor: () => 1,
      isOffline: () => false,
      isNetworkAvailable: () => true,
      disableScroll: false,
    },
    userSettings: {
      languageId: 1033,
      isRTL: false,
      userId: "{00000000-0000-0000-0000-000000000001}",
      userName: "Work 365 Admin",
      securityRoles: [],
    },
    utils: {
      getEntityMetadata: async () => ({}),
      hasEntityPrivilege: () => true,
      lookupObjects: async () => [],
    },
    factory: { requestRender: rerender, getPopupService: () => undefined },
    events: {},
  };
}

/** Called by the page once the bundle has loaded (it registered itself through ComponentFramework.registerControl). */
export function boot(config: HostConfig): void {
  const { React, ReactDOM } = window as unknown as ReactGlobals;
  void React;
  const Ctor = registry.get(config.controlName);
  const container = document.getElementById(config.containerId) as HTMLDivElement | null;
  if (!Ctor || !container) {
    if (container) container.textContent = `Control ${config.controlName} did not register: is build/ui/pcf built?`;
    return;
  }
  const control = new Ctor();
  // render reads the context lazily, so the context can be built with render as its requestRender.
  const holder: { context?: Record<string, unknown> } = {};
  const render = () => ReactDOM.render(control.updateView(holder.context), container);
  const context = buildContext(config, render);
  holder.context = context;
  control.init(context, render, {}, container);
  render();
  window.addEventListener("unload", () => {
    control.destroy();
    ReactDOM.unmountComponentAtNode(container);
  });
}
