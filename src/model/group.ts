/** @module The group as the sync wants it in AWS, with its flattened (derived) members. */

export interface DesiredGroup {
  /** The source's stable id; becomes the SCIM `externalId`. */
  sourceId: string;
  displayName: string;
  /** Source ids of the users that are (derived) members, sorted, unique. */
  memberSourceIds: string[];
  /** The group's address where the source has one (Google): what `sync.exclude_groups` may name it by. */
  email?: string;
}

/**
 * Names of the groups AWS Control Tower and Account Factory create in Identity Center: they hold
 * the landing zone's administrators, so a Google group named like one must never take it over.
 * https://docs.aws.amazon.com/controltower/latest/userguide/sso-groups.html
 */
export const PROTECTED_GROUPS_DEFAULT = [
  "AWSControlTower*",
  "AWSAccountFactory",
  "AWSAuditAccountAdmins",
  "AWSLogArchive*",
  "AWSSecurityAudit*",
  "AWSServiceCatalogAdmins",
] as const;

/**
 * AWS refuses more than 100 member changes in one request, in CreateGroup and in PatchGroup:
 * the planner splits member lists at this size, and the SCIM adapter refuses a longer one.
 * https://docs.aws.amazon.com/singlesignon/latest/developerguide/creategroup.html
 * https://docs.aws.amazon.com/singlesignon/latest/developerguide/patchgroup.html
 */
export const MAX_MEMBERS_PER_REQUEST = 100;
