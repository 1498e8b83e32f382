export * from "./accountIndex";
export * from "./normalize";
export * from "./score";
export * from "./similarity";
