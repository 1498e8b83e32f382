/// <reference types="xrm" />
// Adapts Xrm.WebApi (classic forms, command bar, HTML web resources) to the RecordsApi the shared code uses.
import type { RecordsApi, Row } from "./shared/records";

export function recordsApiFromXrm(webApi: Xrm.WebApi): RecordsApi {
  return {
    retrieveMultipleRecords: async (name, options, maxPageSize) => {
      const result = await webApi.retrieveMultipleRecords(name, options, maxPageSize);
      return { entities: result.entities as Row[], nextLink: result.nextLink };
    },
    retrieveRecord: async (name, id, options) => (await webApi.retrieveRecord(name, id, options)) as Row,
    createRecord: async (name, data) => {
      const ref = await webApi.createRecord(name, data);
      return { id: ref.id, entityType: ref.entityType };
    },
    updateRecord: async (name, id, data) => webApi.updateRecord(name, id, data),
  };
}
