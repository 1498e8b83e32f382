// window.Xrm for HTML web resources served by the harness (the mapping page): WebApi over the /api/data proxy,
// online.execute for custom APIs, and the Navigation calls the pages use.
import { createBrowserWebApi, executeRequest } from "./webApi";

export function createXrm(): Record<string, unknown> {
  const api = createBrowserWebApi();
  const webApi = {
    retrieveMultipleRecords: api.retrieveMultipleRecords,
    retrieveRecord: api.retrieveRecord,
    createRecord: api.createRecord,
    updateRecord: api.updateRecord,
    deleteRecord: api.deleteRecord,
  };
  return {
    WebApi: { ...webApi, online: { ...webApi, execute: (request: Record<string, unknown>) => executeRequest(api, request) } },
    Navigation: {
      openAlertDialog: async (alert: { text: string }) => {
        window.alert(alert.text);
        return {};
      },
      openConfirmDialog: async (confirm: { text: string }) => ({ confirmed: window.confirm(confirm.text) }),
      openWebResource: (name: string, _options?: unknown, data?: string) => {
        window.location.href = `/webresources/${name}${data ? `?data=${encodeURIComponent(data)}` : ""}`;
      },
      // The connector form hosts the control; here the admin page plays it (served at /main.aspx as well), at the
      // form's documented address (docs/platform/dataverse.md 6.1, 6.2).
      openForm: async (options: { entityName: string; entityId?: string }) => {
        const id = options.entityId ? `&id=${encodeURIComponent(options.entityId)}` : "";
        window.location.href = `/main.aspx?pagetype=entityrecord&etn=${encodeURIComponent(options.entityName)}${id}`;
        return { savedEntityReference: [] };
      },
    },
    Utility: {
      getGlobalContext: () => ({ getClientUrl: () => window.location.origin, userSettings: { languageId: 1033 } }),
    },
  };
}

(window as unknown as { Xrm: unknown }).Xrm = createXrm();
