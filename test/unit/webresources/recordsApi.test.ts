import { type ODataWebApi, recordsApiFrom } from "../../../ui-shared/records";

/** Xrm.WebApi-style thenables (not real Promises) must work as well as PCF's Promises. */
const thenable = <T>(value: T) => ({
  then: (onFulfilled: (v: T) => unknown) => onFulfilled(value),
});

describe("recordsApiFrom", () => {
  it("narrows a PCF or Xrm WebApi to RecordsApi, passing names, queries and bodies through", async () => {
    const calls: unknown[][] = [];
    const webApi: ODataWebApi = {
      retrieveMultipleRecords: (...args) => {
        calls.push(["list", ...args]);
        return thenable({ entities: [{ w365_name: "Main" }], nextLink: "next" });
      },
      retrieveRecord: (...args) => {
        calls.push(["get", ...args]);
        return Promise.resolve({ w365_name: "One" });
      },
      createRecord: (...args) => {
        calls.push(["create", ...args]);
        return thenable({ id: "new-id", entityType: "w365_providerconnection", extra: true });
      },
      updateRecord: (...args) => {
        calls.push(["update", ...args]);
        return Promise.resolve(undefined);
      },
    };
    const records = recordsApiFrom(webApi);
    expect(await records.retrieveMultipleRecords("w365_providerconnection", "?$top=1", 5)).toStrictEqual({
      entities: [{ w365_name: "Main" }],
      nextLink: "next",
    });
    expect(await records.retrieveRecord("w365_providerconnection", "c1", "?$select=w365_name")).toStrictEqual({ w365_name: "One" });
    expect(await records.createRecord("w365_providerconnection", { w365_name: "X" })).toStrictEqual({
      id: "new-id",
      entityType: "w365_providerconnection",
    });
    await records.updateRecord("w365_providerconnection", "c1", { w365_name: "Y" });
    expect(calls).toStrictEqual([
      ["list", "w365_providerconnection", "?$top=1", 5],
      ["get", "w365_providerconnection", "c1", "?$select=w365_name"],
      ["create", "w365_providerconnection", { w365_name: "X" }],
      ["update", "w365_providerconnection", "c1", { w365_name: "Y" }],
    ]);
  });

  it("passes a rejection through unchanged", async () => {
    const failure = new Error("Principal user is missing prvReadw365_providerconnection privilege");
    const webApi = { retrieveRecord: () => Promise.reject(failure) } as unknown as ODataWebApi;
    await expect(recordsApiFrom(webApi).retrieveRecord("w365_providerconnection", "c1")).rejects.toBe(failure);
  });
});
