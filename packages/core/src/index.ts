export * from "./trainer-contract.ts";
export * from "./trial-data.ts";
