/** @module The model: plain data types shared by every layer. Imports nothing outside itself. */
export * from "./user.ts";
export * from "./group.ts";
export * from "./tenant.ts";
export * from "./state.ts";
