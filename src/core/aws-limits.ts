/**
 * @module AWS's limits on what the sync writes, in one place (pure): a source snapshot made fit
 * for IAM Identity Center. Identities are never altered, only accepted or rejected; free text is
 * cleaned and cut, each change with a warning.
 */
import type { RejectedRecord, SourceSnapshot, SourceUser } from "./ports.ts";
import type { Address, DesiredGroup, UserAttributes } from "../model/index.ts";
import { escapeChar, shown } from "./text.ts";

/*
 * The limits, from the Identity Store API reference (the store behind the SCIM endpoint,
 * https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/) and the SCIM user
 * pages (https://docs.aws.amazon.com/singlesignon/latest/developerguide/createuser.html):
 * - userName: 1–128 characters of "letters, accented characters, symbols, numbers, and
 *   punctuation" (API_CreateUser), so no spaces; "Administrator" and "AWSAdministrators" are
 *   reserved "for users or groups".
 * - externalId (our source id): 1–256 characters of `[\p{L}\p{M}\p{S}\p{N}\p{P}]` (API_ExternalId).
 * - email value, group and user displayName, name parts: 1–1024 characters of
 *   `[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r ]` (API_Email, API_CreateUser, API_CreateGroup).
 * - other strings (title, address parts, phone, enterprise fields): 1–1024, the Identity Store's
 *   String constraint; AWS documents no pattern for the SCIM enterprise fields, so only control
 *   characters are removed from them.
 * Lengths are checked in code points (Smithy's `@length` on a string counts them) for a rejection,
 * so nothing AWS accepts is rejected here; cuts go to 1024 UTF-16 code units, which is at most
 * 1024 code points under either reading.
 * Identities are stricter than AWS in one point: no control character at all, not even \t \n \r
 * (which the 1024-character pattern lets through): a name with a line break cannot be typed at
 * sign-in, matched with a SCIM `eq` filter nor printed on one line.
 */
export const AWS_LIMITS = {
  userName: 128,
  externalId: 256,
  string: 1024,
} as const;

const RESERVED_NAMES: readonly string[] = ["Administrator", "AWSAdministrators"];

const ID_CHAR = /[\p{L}\p{M}\p{S}\p{N}\p{P}]/u;
const NAME_CHAR = /[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r ]/u;
const CONTROL = /\p{Cc}/u;
// Cc except \t \n \r: refused in every AWS string, and never meaningful in a directory value.
const TEXT_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/gu;
/** TEXT_CONTROL without the global flag, whose `test` keeps no position between calls. */
const HAS_TEXT_CONTROL = new RegExp(TEXT_CONTROL.source, "u");
/** What fitText removed from nearly every value: one shared empty list, not one made per value of 200,000 users. */
const NOTHING: readonly string[] = [];
// No-break and other space separators: outside the name pattern, but a plain space keeps the words apart.
const OTHER_SPACES = /(?! )\p{Zs}/gu;

/**
 * Whether a name has a character AWS's name pattern takes other than a space: a name made only of
 * control or format characters is left empty by `fitForAws`, so a source mapping treats it as missing.
 */
export function hasNameCharacter(value: string): boolean {
  return ID_CHAR.test(value);
}

/** `char` over a whole string: every character one it allows. */
const wholeOf = new Map<RegExp, RegExp>();
function whole(char: RegExp): RegExp {
  let pattern = wholeOf.get(char);
  if (pattern === undefined) wholeOf.set(char, (pattern = new RegExp(`^${char.source}*$`, char.flags)));
  return pattern;
}

interface IdentityRule {
  label: string;
  max: number;
  /** One allowed character. */
  char: RegExp;
  /** AWS requires a value (1 character at least). */
  required: boolean;
  reserved?: boolean;
}

const RULES = {
  userName: { label: "userName", max: AWS_LIMITS.userName, char: ID_CHAR, required: true, reserved: true },
  email: { label: "email", max: AWS_LIMITS.string, char: NAME_CHAR, required: false },
  externalId: { label: "externalId (the source id)", max: AWS_LIMITS.externalId, char: ID_CHAR, required: true },
  groupName: { label: "group name", max: AWS_LIMITS.string, char: NAME_CHAR, required: true, reserved: true },
} satisfies Record<string, IdentityRule>;

/**
 * Why AWS would refuse this identity, or `undefined` when it would take it as it is. Every
 * problem is named, with the attribute and the limit.
 *
 * @example identityProblem("u".repeat(140), "userName") // "userName is 140 characters; AWS allows at most 128"
 */
export function identityProblem(value: string, rule: keyof typeof RULES): string | undefined {
  const { label, max, char, required, reserved }: IdentityRule = RULES[rule];
  if (value === "") return required ? `${label} is empty; AWS requires 1 to ${max} characters` : undefined;
  // Nearly every value is fine: one test of the whole string, without splitting it into characters.
  if (value.length <= max && whole(char).test(value) && !CONTROL.test(value) && !(reserved === true && RESERVED_NAMES.includes(value))) return undefined;
  const chars = [...value];
  const problems: string[] = [];
  if (chars.length > max) problems.push(`${label} is ${chars.length} characters; AWS allows at most ${max}`);
  const controls = chars.filter((c) => CONTROL.test(c));
  if (controls.length > 0) problems.push(`${label} contains ${plural(controls.length, "control character")} (${listChars(controls)})`);
  const refused = chars.filter((c) => !CONTROL.test(c) && !char.test(c));
  if (refused.length > 0) problems.push(`${label} contains ${plural(refused.length, "character")} AWS refuses there (${listChars(refused)})`);
  if (reserved === true && RESERVED_NAMES.includes(value)) problems.push(`${label} "${value}" is reserved by AWS`);
  return problems.length > 0 ? problems.join("; ") : undefined;
}

/**
 * The snapshot as AWS can take it:
 * - a user whose userName, email or source id, or a group whose name or source id, AWS would
 *   refuse is moved to `rejected` (with the reason) and out of `users`/`groups`; a rejected user
 *   leaves every group's members too. Identities are never cut or rewritten: two users cut to the
 *   same 128 characters would be one user in AWS.
 * - free text (names, title, address, phone, enterprise fields) loses the characters AWS refuses
 *   and is cut to AWS's limit, each with a warning naming the user and the attribute.
 *
 * @example const source = fitForAws(await deps.source.read());
 */
export function fitForAws(snapshot: SourceSnapshot): SourceSnapshot {
  const warnings = [...snapshot.warnings];
  const rejected: RejectedRecord[] = [...(snapshot.rejected ?? [])];
  const rejectedUsers = new Set<string>();

  const users: SourceUser[] = [];
  // One list of notes, emptied for each user: 200,000 users make nearly none.
  const notes: string[] = [];
  for (const user of snapshot.users) {
    const a = user.attributes;
    const reason = userProblem(user);
    if (reason !== undefined) {
      rejectedUsers.add(user.sourceId);
      rejected.push({ kind: "user", sourceId: user.sourceId, subject: shown(a.email || a.userName || `id ${user.sourceId}`), reason });
      continue;
    }
    notes.length = 0;
    const fitted = fitAttributes(a, notes);
    // The user as read when AWS takes it as it is (nearly all): no second copy of every user.
    users.push(fitted === a ? user : { ...user, attributes: fitted });
    for (const note of notes) warnings.push(`user ${shown(a.email || a.userName)}: ${note}`);
  }

  const groups: DesiredGroup[] = [];
  for (const group of snapshot.groups) {
    const reason = joinProblems(identityProblem(group.displayName, "groupName"), identityProblem(group.sourceId, "externalId"));
    if (reason !== undefined) {
      rejected.push({ kind: "group", sourceId: group.sourceId, subject: `"${shown(group.displayName || `id ${group.sourceId}`)}"`, reason });
      continue;
    }
    const members = group.memberSourceIds.filter((id) => !rejectedUsers.has(id));
    groups.push(members.length === group.memberSourceIds.length ? group : { ...group, memberSourceIds: members });
  }

  return { ...snapshot, users, groups, warnings, ...(rejected.length > 0 ? { rejected } : {}) };
}

/** Why AWS would refuse the user's identity, or undefined (nearly always: then no list of problems is made). */
function userProblem(user: SourceUser): string | undefined {
  const { userName, email } = user.attributes;
  const name = identityProblem(userName, "userName");
  const address = identityProblem(email, "email");
  const id = identityProblem(user.sourceId, "externalId");
  return name === undefined && address === undefined && id === undefined ? undefined : joinProblems(name, address, id);
}

const NAME_FIELDS = ["givenName", "familyName", "displayName", "formattedName"] as const;
const TEXT_FIELDS = [
  "title", "preferredLanguage", "nickName", "profileUrl", "userType", "locale", "timezone",
  "employeeNumber", "costCenter", "organization", "division", "department",
] as const;
const ADDRESS_FIELDS = ["type", "formatted", "streetAddress", "locality", "region", "postalCode", "country"] as const;

/**
 * The free-text attributes as AWS takes them; `notes` gets one line per change. The object itself
 * when nothing changes (nearly every user): a copy of each of 200,000 users, made only to find it
 * equal, was 130 MB of garbage at the peak of a read.
 */
function fitAttributes(attributes: UserAttributes, notes: string[]): UserAttributes {
  let copy: UserAttributes | undefined;
  const out = () => (copy ??= { ...attributes });
  const now = () => copy ?? attributes;
  for (const key of NAME_FIELDS) {
    const value = attributes[key];
    if (value === undefined) continue;
    const fitted = fitText(key, value, "name", notes);
    if (fitted === value) continue;
    if (fitted !== undefined) out()[key] = fitted;
    else if (key === "formattedName") delete out().formattedName;
    else out()[key] = "";
  }
  // The three required names must not end up empty (AWS needs 1 character): borrow from each other.
  const fallback = (key: "givenName" | "familyName" | "displayName", value: string) => {
    notes.push(`${key} has no character AWS accepts; using "${shown(value)}"`);
    return value;
  };
  if (now().givenName === "") out().givenName = fallback("givenName", now().familyName || now().displayName || "-");
  if (now().familyName === "") out().familyName = fallback("familyName", now().givenName);
  if (now().displayName === "") out().displayName = fallback("displayName", `${now().givenName} ${now().familyName}`);

  for (const key of TEXT_FIELDS) {
    const value = attributes[key];
    if (value === undefined) continue;
    const fitted = fitText(key, value, "text", notes);
    if (fitted === value) continue;
    if (fitted === undefined) delete out()[key];
    else out()[key] = fitted;
  }
  const phone = attributes.phoneNumber;
  if (phone) {
    const value = fitText("phoneNumber", phone.value, "text", notes);
    const type = phone.type === undefined ? undefined : fitText("phoneNumber type", phone.type, "text", notes);
    if (value === undefined) delete out().phoneNumber;
    else if (value !== phone.value || type !== phone.type) out().phoneNumber = type === undefined ? { value } : { value, type };
  }
  const address = attributes.address && fitAddress(attributes.address, notes);
  if (address === null) delete out().address;
  else if (address !== undefined && address !== attributes.address) out().address = address;
  return now();
}

/** The address as AWS takes it (the same object when it does as it is); `null` when only its type would be left. */
function fitAddress(address: Address, notes: string[]): Address | null {
  const fitted: Address = {};
  let changed = false;
  for (const key of ADDRESS_FIELDS) {
    const value = address[key];
    if (value === undefined) continue;
    const text = fitText(`address.${key}`, value, "text", notes);
    if (text !== undefined) fitted[key] = text;
    if (text !== value) changed = true;
  }
  if (!Object.keys(fitted).some((k) => k !== "type")) return null;
  return changed ? fitted : address;
}

/**
 * `value` without the characters AWS refuses, cut to 1024; `undefined` when nothing is left.
 * Names follow AWS's name pattern (other spaces become plain ones, silently: that changes no
 * word); other text loses control characters only. Lengths here are UTF-16 code units.
 */
function fitText(label: string, value: string, kind: "name" | "text", notes: string[]): string | undefined {
  let out: string;
  let removed: readonly string[];
  if (kind === "name") {
    const spaced = value.replace(OTHER_SPACES, " ");
    removed = whole(NAME_CHAR).test(spaced) ? NOTHING : [...spaced].filter((c) => !NAME_CHAR.test(c));
    // Trimmed only when something was removed: a removed character may leave a space at an end.
    out = removed.length > 0 ? [...spaced].filter((c) => NAME_CHAR.test(c)).join("").trim() : spaced;
  } else {
    removed = HAS_TEXT_CONTROL.test(value) ? (value.match(TEXT_CONTROL) ?? NOTHING) : NOTHING;
    out = removed.length > 0 ? value.replace(TEXT_CONTROL, "") : value;
  }
  if (removed.length > 0) {
    const what = removed.every((c) => CONTROL.test(c)) ? plural(removed.length, "control character") : `${plural(removed.length, "character")} AWS refuses in names (${listChars(removed)})`;
    notes.push(`removed ${what} from ${label}${out === "" ? `; nothing was left` : ""}`);
  }
  if (out.length > AWS_LIMITS.string) {
    const length = out.length;
    out = cut(out, AWS_LIMITS.string);
    if (kind === "name") out = out.trimEnd();
    notes.push(`cut ${label} to ${AWS_LIMITS.string} characters (it had ${length})`);
  }
  return out === "" ? undefined : out;
}

/** Cuts to at most `max` UTF-16 code units without splitting a surrogate pair. */
function cut(value: string, max: number): string {
  let end = max;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return value.slice(0, end);
}

function joinProblems(...problems: (string | undefined)[]): string | undefined {
  const found = problems.filter((p): p is string => p !== undefined);
  return found.length > 0 ? found.join("; ") : undefined;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** The distinct characters, each visible: `\x1b` for a control, `U+200B` for anything else. */
function listChars(chars: readonly string[]): string {
  const distinct = [...new Set(chars)];
  const named = distinct.slice(0, 5).map((c) => (CONTROL.test(c) ? escapeChar(c) : `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`));
  return distinct.length > 5 ? `${named.join(", ")}, …` : named.join(", ");
}
