/** @module The group as the sync wants it in AWS, with its flattened (derived) members. */

export interface DesiredGroup {
  /** The source's stable id; becomes the SCIM `externalId`. */
  sourceId: string;
  displayName: string;
  /** Source ids of the users that are (derived) members, sorted, unique. */
  memberSourceIds: string[];
}
