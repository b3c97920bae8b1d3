/** @module Maps one Google Directory User resource to the source-neutral `UserAttributes` (pure, no I/O). */
import { shown } from "../core/text.ts";
import type { Address, PhoneNumber, UserAttributes, UserFieldName } from "../model/index.ts";

export { USER_FIELD_NAMES, type UserFieldName } from "../model/index.ts";

/*
 * The Directory User fields this mapping reads (google-directory.md §5.1). Multi-valued fields are
 * typed as free JSON in the discovery document, so every element is read defensively.
 */
export interface GooglePhone { value?: string | null; type?: string | null; primary?: boolean | null }
export interface GoogleAddress {
  type?: string | null;
  primary?: boolean | null;
  formatted?: string | null;
  streetAddress?: string | null;
  locality?: string | null;
  region?: string | null;
  postalCode?: string | null;
  country?: string | null;
  countryCode?: string | null;
}
export interface GoogleOrganization {
  primary?: boolean | null;
  name?: string | null;
  title?: string | null;
  department?: string | null;
  costCenter?: string | null;
  description?: string | null;
  domain?: string | null;
}
export interface GoogleLanguage { languageCode?: string | null; preference?: string | null }
export interface GoogleTypedValue { type?: string | null; value?: string | null; primary?: boolean | null }

export interface GoogleUser {
  id?: string | null;
  primaryEmail?: string | null;
  name?: { givenName?: string | null; familyName?: string | null; fullName?: string | null } | null;
  suspended?: boolean | null;
  archived?: boolean | null;
  phones?: unknown;
  addresses?: unknown;
  organizations?: unknown;
  languages?: unknown;
  relations?: unknown;
  externalIds?: unknown;
  websites?: unknown;
}

export interface MappedGoogleUser {
  attributes: UserAttributes;
  warnings: string[];
  /**
   * The manager's email (`relations[type=manager].value`, §5.1): Google stores an email, not an id.
   * Only the source adapter, which sees every read user, can turn it into `managerSourceId`.
   */
  managerEmail?: string;
}

/** The Directory `fields` a user read must request so that `mapGoogleUser` sees what the selection needs. */
export function googleUserFields(fields: ReadonlySet<UserFieldName>): string[] {
  const out = ["id", "primaryEmail", "name", "suspended", "archived"];
  if (fields.has("phoneNumbers")) out.push("phones");
  if (fields.has("addresses")) out.push("addresses");
  if (fields.has("title") || fields.has("userType") || fields.has("enterprise")) out.push("organizations");
  if (fields.has("preferredLanguage") || fields.has("locale")) out.push("languages");
  if (fields.has("profileUrl")) out.push("websites");
  if (fields.has("enterprise")) out.push("relations", "externalIds");
  return out;
}

/**
 * Never drops a user: AWS requires userName, displayName, givenName and familyName (aws-scim.md
 * §5.1), so missing names are filled in, with a warning. Values are otherwise taken as Google
 * holds them: what AWS would refuse (an over-long email, control characters) is dealt with in
 * one place, `fitForAws` (core/aws-limits.ts), which rejects identities and cleans free text.
 * `active` is always true: suspension travels as `SourceUser.suspended` and the planner applies
 * the policy.
 *
 * Ambiguous fields (no direct Google counterpart), chosen as follows:
 * - nickName, timezone: the Directory User has no such field; never set.
 * - userType: the primary organization's `description`, which the Admin console shows as
 *   "Type of employee".
 * - locale: the same language code as preferredLanguage; Workspace has one language setting that
 *   drives both the UI language and date/number formats.
 * - division: the primary organization's `domain` (FORMAT.md's example puts "R&D" there).
 * - address country: `countryCode` (ISO 3166-1, what SCIM expects) when present, else `country`.
 *
 * @example mapGoogleUser(user, { fields: new Set(["title", "enterprise"]) })
 */
export function mapGoogleUser(user: GoogleUser, options: { fields: ReadonlySet<UserFieldName> }): MappedGoogleUser {
  const primaryEmail = str(user.primaryEmail) ?? "";
  const who = `user ${shown(primaryEmail || str(user.id) || "(no email)")}`;
  const warnings: string[] = [];
  const fields = options.fields;

  // A name counts as given when it has a character AWS's name pattern takes that is not a
  // space: one made of control or format characters only would be left empty by fitForAws.
  const name = (value: string | null | undefined): string => {
    const text = str(value)?.trim() ?? "";
    return NAME_CHAR.test(text) ? text : "";
  };
  const localPart = primaryEmail.split("@")[0] ?? "";
  const given = name(user.name?.givenName);
  const family = name(user.name?.familyName);
  const fullName = name(user.name?.fullName);

  let givenName = given || family;
  let familyName = family || given;
  if (!givenName) {
    const fallback = name(localPart) || name(primaryEmail) || "-";
    givenName = fallback;
    familyName = fallback;
    warnings.push(`${who}: has no given or family name; using "${shown(fallback)}" for both`);
  }
  const displayName = fullName || `${given} ${family}`.trim() || givenName;

  const attributes: UserAttributes = {
    userName: primaryEmail,
    displayName,
    givenName,
    familyName,
    email: primaryEmail,
    active: true,
  };
  if (fullName) attributes.formattedName = fullName;

  if (fields.has("phoneNumbers")) {
    const phones = list<GooglePhone>(user.phones).filter((p) => str(p.value));
    const phone = phones.find((p) => p.type === "work") ?? phones.find((p) => p.type === "mobile") ?? phones[0];
    if (phone) {
      const out: PhoneNumber = { value: str(phone.value)! };
      const type = str(phone.type);
      if (type) out.type = type;
      attributes.phoneNumber = out;
    }
  }

  if (fields.has("addresses")) {
    const addresses = list<GoogleAddress>(user.addresses);
    const a = addresses.find((x) => x.primary === true) ?? addresses.find((x) => x.type === "work") ?? addresses[0];
    if (a) {
      const out: Address = {};
      const parts: [keyof Address, string | undefined][] = [
        ["type", str(a.type)],
        ["formatted", str(a.formatted)],
        ["streetAddress", str(a.streetAddress)],
        ["locality", str(a.locality)],
        ["region", str(a.region)],
        ["postalCode", str(a.postalCode)],
        ["country", str(a.countryCode) ?? str(a.country)],
      ];
      for (const [key, value] of parts) if (value) out[key] = value;
      if (Object.keys(out).some((k) => k !== "type")) attributes.address = out;
    }
  }

  const organizations = list<GoogleOrganization>(user.organizations);
  const primaryOrg = organizations.find((o) => o.primary === true) ?? organizations[0];

  if (fields.has("title")) {
    const title = str(primaryOrg?.title) ?? str(organizations.find((o) => str(o.title))?.title);
    if (title) attributes.title = title;
  }

  const languages = list<GoogleLanguage>(user.languages).filter((l) => str(l.languageCode));
  const language = str((languages.find((l) => l.preference === "preferred") ?? languages[0])?.languageCode);
  if (fields.has("preferredLanguage") && language) attributes.preferredLanguage = language;
  if (fields.has("locale") && language) attributes.locale = language;

  if (fields.has("profileUrl")) {
    const url = str(list<GoogleTypedValue>(user.websites).find((w) => w.type === "profile" && str(w.value))?.value);
    if (url) attributes.profileUrl = url;
  }

  if (fields.has("userType")) {
    const type = str(primaryOrg?.description);
    if (type) attributes.userType = type;
  }

  let managerEmail: string | undefined;
  if (fields.has("enterprise")) {
    const employeeNumber = str(list<GoogleTypedValue>(user.externalIds).find((e) => e.type === "organization" && str(e.value))?.value);
    if (employeeNumber) attributes.employeeNumber = employeeNumber;
    const enterprise: [keyof UserAttributes & ("costCenter" | "department" | "organization" | "division"), string | undefined][] = [
      ["costCenter", str(primaryOrg?.costCenter)],
      ["department", str(primaryOrg?.department)],
      ["organization", str(primaryOrg?.name)],
      ["division", str(primaryOrg?.domain)],
    ];
    for (const [key, value] of enterprise) if (value) attributes[key] = value;
    managerEmail = str(list<GoogleTypedValue>(user.relations).find((r) => r.type === "manager" && str(r.value))?.value)?.trim();
  }

  return managerEmail ? { attributes, warnings, managerEmail } : { attributes, warnings };
}

// A visible character of AWS's name pattern `[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r ]` (aws-scim.md §5.1).
const NAME_CHAR = /[\p{L}\p{M}\p{S}\p{N}\p{P}]/u;

/** A non-blank string, or undefined. */
function str(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

/** The objects of a free-JSON array field; anything else reads as empty. */
function list<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value.filter((v) => typeof v === "object" && v !== null) as T[]) : [];
}
