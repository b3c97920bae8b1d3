/** @module What the AWS tenant holds (or what the state says it holds), as the planner sees it. */
import type { UserAttributes } from "./user.ts";

export interface TenantUser {
  scimId: string;
  externalId?: string;
  /**
   * Attributes as AWS holds them. `managerSourceId` means nothing here and is never read (a tenant
   * built from the state carries the record's): the manager is `managerScimId`.
   */
  attributes: UserAttributes;
  /** The SCIM id in the enterprise `manager.value`, when AWS has one. */
  managerScimId?: string;
}

export interface TenantGroup {
  scimId: string;
  externalId?: string;
  displayName: string;
  /** SCIM ids of the members; `undefined` when they were not read (AWS never lists them with the group). */
  memberScimIds?: string[];
}

export interface TenantSnapshot {
  users: TenantUser[];
  groups: TenantGroup[];
}
