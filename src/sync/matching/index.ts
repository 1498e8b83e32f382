export * from "./accountIndex";
export * from "./duplicates";
export * from "./normalize";
export * from "./score";
export * from "./similarity";
