/** @module Static discovery documents of the SCIM emulator: ServiceProviderConfig, Schemas, ResourceTypes (docs/aws-scim.md §2). */
import { GROUP_SCHEMA } from "./store.ts";
import { ENTERPRISE_URN, USER_SCHEMA } from "./users.ts";

export const LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/** The captured shape (test/fixtures/aws-captures/ServiceProviderConfig.json) with filter.maxResults 100, the current documented value (§2, §12.7). */
export const SERVICE_PROVIDER_CONFIG = {
  schemas: ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
  documentationUri: "https://docs.aws.amazon.com/singlesignon/latest/developerguide/what-is-scim.html",
  authenticationSchemes: [
    {
      type: "oauthbearertoken",
      name: "OAuth Bearer Token",
      description: "Authentication scheme using the OAuth Bearer Token Standard",
      specUri: "https://www.rfc-editor.org/info/rfc6750",
      documentationUri: "https://docs.aws.amazon.com/singlesignon/latest/developerguide/provision-automatically.html",
      primary: true,
    },
  ],
  bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
  filter: { supported: true, maxResults: 100 },
  patch: { supported: true },
  changePassword: { supported: false },
  sort: { supported: false },
  etag: { supported: false },
};

const str = (name: string, required = false) => ({
  name, type: "string", multiValued: false, required, caseExact: false, mutability: "readWrite", returned: "default", uniqueness: "none",
});
const complex = (name: string, subAttributes: object[], multiValued = false, required = false) => ({
  name, type: "complex", multiValued, required, mutability: "readWrite", returned: "default", subAttributes,
});
const schemaMeta = (id: string) => ({ resourceType: "Schema", location: `/Schemas/${id}` });

/** Abridged schema documents: attribute lists of §5.1 and §6; enough for discovery, not a full RFC 7643 dump. */
export const SCHEMAS = [
  {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: [
      { ...str("userName", true), uniqueness: "server" },
      complex("name", ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"].map((n) => str(n, n === "familyName" || n === "givenName")), false, true),
      str("displayName", true),
      ...["nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale", "timezone"].map((n) => str(n)),
      { name: "active", type: "boolean", multiValued: false, required: false, mutability: "readWrite", returned: "default" },
      complex("emails", ["value", "type"].map((n) => str(n)).concat([{ ...str("primary"), type: "boolean" }]), true),
      complex("addresses", ["formatted", "streetAddress", "locality", "region", "postalCode", "country", "type"].map((n) => str(n)), true),
      complex("phoneNumbers", ["value", "type"].map((n) => str(n)), true),
      complex("roles", ["value", "type"].map((n) => str(n)), true),
    ],
    meta: schemaMeta(USER_SCHEMA),
  },
  {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: [
      str("displayName", true),
      complex("members", [str("value"), str("type")], true),
    ],
    meta: schemaMeta(GROUP_SCHEMA),
  },
  {
    id: ENTERPRISE_URN,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: [
      ...["employeeNumber", "costCenter", "organization", "division", "department"].map((n) => str(n)),
      complex("manager", [str("value")]),
    ],
    meta: schemaMeta(ENTERPRISE_URN),
  },
].map((s) => ({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:Schema"], ...s }));

export const RESOURCE_TYPES = [
  {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
    id: "User",
    name: "User",
    endpoint: "/Users",
    description: "User Account",
    schema: USER_SCHEMA,
    schemaExtensions: [{ schema: ENTERPRISE_URN, required: false }],
    meta: { resourceType: "ResourceType", location: "/ResourceTypes/User" },
  },
  {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
    id: "Group",
    name: "Group",
    endpoint: "/Groups",
    description: "Group",
    schema: GROUP_SCHEMA,
    meta: { resourceType: "ResourceType", location: "/ResourceTypes/Group" },
  },
];

export const listOf = (resources: unknown[]) => ({
  schemas: [LIST_RESPONSE],
  totalResults: resources.length,
  itemsPerPage: resources.length,
  startIndex: 1,
  Resources: resources,
});
