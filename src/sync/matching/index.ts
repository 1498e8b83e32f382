export * from "./normalize";
export * from "./similarity";
export * from "./accountIndex";
export * from "./score";
