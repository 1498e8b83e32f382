/*
*This is auto generated from the ControlManifest.Input.xml file
*/

// Define IInputs and IOutputs Type. They should match with ControlManifest.
export interface IInputs {
    hostField: ComponentFramework.PropertyTypes.StringProperty;
    pollIntervalSeconds: ComponentFramework.PropertyTypes.WholeNumberProperty;
    ionBaseUrl: ComponentFramework.PropertyTypes.StringProperty;
}
export interface IOutputs {
    hostField?: string;
}
