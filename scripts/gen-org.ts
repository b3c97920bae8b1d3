/** @module Deterministic generator of large, realistically shaped scenarios (test/scenarios/FORMAT.md): `bun run scripts/gen-org.ts --users N --groups G --seed S [--scim-users K] > org.json`. */
import { seededRandom } from "../test/emulators/faults.ts";
import {
  parseScenario,
  ScenarioError,
  type Scenario,
  type ScenarioGoogleGroup,
  type ScenarioGoogleUser,
  type ScenarioMember,
  type ScenarioScimGroup,
  type ScenarioScimUser,
} from "../test/emulators/scenario.ts";

export interface GenerateOrgOptions {
  users: number;
  groups: number;
  seed: number;
  /** Pre-existing SCIM users in the AWS tenant (default 0: an empty tenant). */
  scimUsers?: number;
}

const DOMAIN = "example.com";
const EXTERNAL_DOMAINS = ["partner.example.net", "contractor.example.org", "gmail.example"];

// "Display|ascii" where the ASCII spelling (used for email addresses) cannot be derived by
// stripping diacritics. The named ones are forced into every org bigger than a handful of users.
const GIVEN_NAMES = [
  "Ana", "Bo", "Carla", "Dev", "Eun", "Farah", "Goran", "Hana", "Ivan", "Jo", "Kai", "Lena", "Marta", "Noor", "Omar",
  "Priya", "Quinn", "Rui", "Sven", "Tariq", "Uma", "Vera", "Wei", "Ximena", "Yusuf", "Zoë", "José", "Łukasz|Lukasz",
  "Søren|Soren", "Chloé", "François", "Björn", "Ingrid", "Małgorzata|Malgorzata", "Thảo", "Renée", "Jürgen", "Oğuz|Oguz",
  "Siobhán", "Mikael", "Aiko", "Kwame", "Amara", "Mateus", "Nikolai", "Olga", "Pedro", "Rania", "Sakura", "Tomás",
  "小龙|xiaolong", "美玲|meiling", "Dmitri", "Elif", "Fatima", "Gustavo", "Hyun-woo", "Ines", "Jakub", "Leilani",
];
const FAMILY_NAMES = [
  "Lima", "Chen", "Díaz", "Patel", "Kim", "Ivić", "Sato", "Petrov", "Ng", "Berg", "Vogel", "Silva", "Müller", "Ødegård|Odegard",
  "Nguyễn", "Kowalski", "Brontë", "García", "Öztürk", "O'Brien", "Smith", "Johnson", "Wójcik|Wojcik", "Lindqvist", "Haddad",
  "Okafor", "Tanaka", "Rossi", "Dubois", "Novák", "Fernández", "Ahmed", "Costa", "Jensen", "van der Berg", "de la Cruz",
  "Mendoza", "Park", "Søndergaard|Sondergaard", "Kovačević", "Yılmaz|Yilmaz", "Schäfer", "李|li", "王|wang", "Đorđević|Dordevic",
  "Nakamura", "Andersson", "Murphy", "Popescu", "Horváth",
];
const MONONYMS = ["Madonna", "Sukarno", "Teller", "Bjørk|Bjork", "Pelé"];
const REQUIRED_NAMES: [string, string][] = [
  ["Zoë", "Ødegård|Odegard"],
  ["Łukasz|Lukasz", "Wójcik|Wojcik"],
  ["José", "García"],
  ["小龙|xiaolong", "李|li"],
  ["Thảo", "Nguyễn"],
];
const DEPARTMENTS = [
  "Engineering", "Sales", "Marketing", "Finance", "People", "Legal", "Support", "Operations", "Security", "Product",
  "Design", "Data", "Research", "Facilities", "IT",
];
const TEAM_WORDS = [
  "platform", "payments", "identity", "mobile", "web", "infra", "sre", "billing", "growth", "search", "ml", "analytics",
  "emea", "apac", "amer", "enterprise", "smb", "partners", "compliance", "audit", "onboarding", "tooling", "core", "edge",
];
const TITLES = ["Engineer", "Senior Engineer", "Staff Engineer", "Manager", "Director", "Analyst", "Specialist", "Lead", "Associate", "VP"];
const CITIES: [city: string, countryCode: string, country: string, dialPrefix: string, street: string][] = [
  ["Lisbon", "PT", "Portugal", "+351 21", "Rua Augusta"],
  ["Berlin", "DE", "Germany", "+49 30", "Hauptstraße"],
  ["São Paulo", "BR", "Brazil", "+55 11", "Avenida Paulista"],
  ["Kraków", "PL", "Poland", "+48 12", "ul. Floriańska"],
  ["Oslo", "NO", "Norway", "+47 22", "Storgata"],
  ["Tokyo", "JP", "Japan", "+81 3", "Chūō-dōri"],
  ["Austin", "US", "United States", "+1 512", "Congress Ave"],
  ["Hà Nội", "VN", "Vietnam", "+84 24", "Phố Hàng Bạc"],
];
const LANGUAGES = ["en", "pt-PT", "de", "pl", "ja", "vi", "zh-CN", "es", "fr", "nb"];

/** Google group ids look like `01ci93xb3tmzyin`; user ids are 21 digits starting with 1. */
const BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz";

export function generateOrg(options: GenerateOrgOptions): Scenario {
  const userCount = Math.max(0, Math.floor(options.users));
  const groupCount = Math.max(0, Math.floor(options.groups));
  const rng = seededRandom(options.seed);
  const int = (n: number) => Math.floor(rng() * n);
  const chance = (p: number) => rng() < p;
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;

  const usedIds = new Set<string>();
  const uniqueId = (make: () => string) => {
    let id = make();
    while (usedIds.has(id)) id = make();
    usedIds.add(id);
    return id;
  };
  const userId = () => uniqueId(() => "1" + Array.from({ length: 20 }, () => int(10)).join(""));
  const groupId = () => uniqueId(() => "0" + Array.from({ length: 14 }, () => BASE36[int(36)]).join(""));

  const usedEmails = new Set<string>();
  const uniqueEmail = (local: string) => {
    let candidate = `${local}@${DOMAIN}`;
    for (let n = 2; usedEmails.has(candidate); n++) candidate = `${local}${n}@${DOMAIN}`;
    usedEmails.add(candidate);
    return candidate;
  };
  // Group addresses are reserved first so user addresses can never collide with them.
  const groupPlans = planGroups(groupCount, rng);
  for (const plan of groupPlans) usedEmails.add(plan.email);

  // ---- users ----
  const departments = DEPARTMENTS.slice(0, Math.max(1, Math.min(DEPARTMENTS.length, groupPlans.filter((g) => g.kind === "department").length || 3)));
  const requiredAt = new Map<number, [string, string]>();
  if (userCount >= 20) REQUIRED_NAMES.forEach((names, i) => requiredAt.set(Math.floor(((i + 1) * userCount) / (REQUIRED_NAMES.length + 2)), names));
  const mononymCount = userCount >= 20 ? Math.max(2, Math.round(userCount * 0.004)) : 0;
  const mononymAt = new Set(Array.from({ length: mononymCount }, (_, i) => Math.floor(((i + 0.5) * userCount) / mononymCount) + 1).filter((i) => i < userCount && !requiredAt.has(i)));

  const users: ScenarioGoogleUser[] = [];
  let mononymsMade = 0;
  const userDepartment: string[] = [];
  for (let i = 0; i < userCount; i++) {
    const forced = requiredAt.get(i);
    const mononym = mononymAt.has(i);
    const [given, givenAscii] = spell(forced ? forced[0] : mononym ? pick(MONONYMS) : pick(GIVEN_NAMES));
    const [family, familyAscii] = mononym ? ["", ""] : spell(forced ? forced[1] : pick(FAMILY_NAMES));
    const primaryEmail = uniqueEmail(mononym ? emailLocal(givenAscii) : `${emailLocal(givenAscii)}.${emailLocal(familyAscii)}`);
    const department = pick(departments);
    userDepartment.push(department);
    const fullName = mononym ? given : `${given} ${family}`;
    // Mononyms come both ways Google holds them: familyName absent, or present but empty.
    const name = mononym
      ? mononymsMade++ % 2 === 0
        ? { givenName: given, fullName }
        : { givenName: given, familyName: "", fullName }
      : { givenName: given, familyName: family, fullName };
    const user: ScenarioGoogleUser = {
      id: userId(),
      primaryEmail,
      name,
      suspended: i > 0 && chance(0.03),
      orgUnitPath: chance(0.85) ? `/${department}` : "/",
      emails: [{ address: primaryEmail, primary: true }],
    };
    if (i === 0) user.isAdmin = true;
    if (chance(0.05)) (user.emails as unknown[]).push({ address: primaryEmail.replace("@", ".alias@"), type: "work" });
    if (chance(0.7)) {
      user.organizations = [
        { primary: true, title: pick(TITLES), department, costCenter: `CC-${100 + DEPARTMENTS.indexOf(department)}`, name: "Example Corp" },
      ];
    }
    const [city, countryCode, country, dial, street] = pick(CITIES);
    if (chance(0.4)) {
      const phones: Record<string, unknown>[] = [{ value: `${dial} ${String(int(10_000_000)).padStart(7, "0")}`, type: "work" }];
      // Several phones on some users: SCIM on AWS keeps one, so the mapping has to choose.
      if (chance(0.25)) phones.push({ value: `${dial} 9${String(int(10_000_000)).padStart(7, "0")}`, type: "mobile", primary: true });
      user.phones = phones;
    }
    if (chance(0.25)) {
      user.addresses = [
        { type: "work", streetAddress: `${1 + int(300)} ${street}`, locality: city, postalCode: String(10000 + int(89999)), countryCode, country, primary: true },
      ];
    }
    if (i > 0 && chance(0.5)) user.relations = [{ type: "manager", value: users[int(Math.min(i, Math.max(1, Math.ceil(i / 10))))]!.primaryEmail }];
    if (chance(0.3)) user.externalIds = [{ type: "organization", value: `E-${String(i + 1).padStart(6, "0")}` }];
    if (chance(0.1)) user.languages = [{ languageCode: pick(LANGUAGES), preference: "preferred" }];
    users.push(user);
  }

  // ---- groups and memberships ----
  const members: Map<string, ScenarioMember>[] = groupPlans.map(() => new Map());
  const statusOf = (user: ScenarioGoogleUser) => (user.suspended ? "SUSPENDED" : "ACTIVE");
  const addUser = (groupIndex: number, user: ScenarioGoogleUser, role: ScenarioMember["role"] = "MEMBER") => {
    const group = members[groupIndex];
    if (!group || group.has(user.primaryEmail)) return;
    group.set(user.primaryEmail, { email: user.primaryEmail, type: "USER", role, status: statusOf(user) });
  };
  const addGroup = (parent: number, child: number) => {
    const plan = groupPlans[child];
    const group = members[parent];
    // Nesting only from a lower to a higher index keeps the graph acyclic.
    if (!plan || !group || parent >= child || group.has(plan.email)) return;
    group.set(plan.email, { email: plan.email, type: "GROUP", role: "MEMBER", status: "ACTIVE" });
  };

  const indexesOf = (kind: GroupKind) => groupPlans.flatMap((g, i) => (g.kind === kind ? [i] : []));
  const deptGroups = indexesOf("department");
  const teamGroups = indexesOf("team");
  const listGroups = indexesOf("list");
  const awsGroups = indexesOf("aws");

  // Teams hang under departments or under earlier teams: chains several levels deep.
  const teamsByDepartment = new Map<string, number[]>();
  for (const t of teamGroups) {
    const earlierTeams = teamGroups.slice(0, teamGroups.indexOf(t));
    if (earlierTeams.length > 0 && chance(0.35)) {
      const parent = earlierTeams[earlierTeams.length - 1 - int(Math.min(earlierTeams.length, 8))]!;
      addGroup(parent, t);
      groupPlans[t]!.department = groupPlans[parent]!.department;
    } else if (deptGroups.length > 0) {
      const parent = pick(deptGroups);
      addGroup(parent, t);
      groupPlans[t]!.department = groupPlans[parent]!.department;
    }
    const department = groupPlans[t]!.department ?? "";
    teamsByDepartment.set(department, [...(teamsByDepartment.get(department) ?? []), t]);
  }
  // AWS access groups nest (readers ⊃ developers ⊃ admins style) and take whole teams.
  for (let a = 1; a < awsGroups.length; a++) addGroup(awsGroups[a - 1]!, awsGroups[a]!);
  for (const a of awsGroups) for (let k = 0; k < 2 && teamGroups.length > 0; k++) addGroup(a, pick(teamGroups));
  // Some mailing lists include other lists or teams.
  for (const l of listGroups) {
    const later = Math.min(50, groupPlans.length - 1 - l);
    if (later > 0 && chance(0.15)) addGroup(l, l + 1 + int(later));
  }

  // Mailing-list popularity is skewed (a few big lists, a long tail), like real directories.
  const listWeights = listGroups.map((_, rank) => 1 / (rank + 1));
  const listTotal = listWeights.reduce((a, b) => a + b, 0);
  const pickList = () => {
    let r = rng() * listTotal;
    for (let k = 0; k < listGroups.length; k++) {
      r -= listWeights[k]!;
      if (r <= 0) return listGroups[k]!;
    }
    return listGroups[listGroups.length - 1]!;
  };

  const allStaff = groupPlans.findIndex((g) => g.kind === "all-staff");
  users.forEach((user, i) => {
    if (allStaff !== -1) addUser(allStaff, user);
    const department = userDepartment[i]!;
    const teams = teamsByDepartment.get(department) ?? teamGroups;
    if (teams.length > 0) addUser(pick(teams), user, chance(0.05) ? "MANAGER" : "MEMBER");
    if (teams.length > 1 && chance(0.2)) addUser(pick(teams), user);
    if (listGroups.length > 0) for (let k = int(4); k > 0; k--) addUser(pickList(), user);
    if (awsGroups.length > 0 && chance(0.08)) addUser(pick(awsGroups), user);
  });

  // A few people are in very many groups (≥ 120 when the org has that many): the token-size and paging edge.
  const powerUserCount = userCount >= 50 ? 4 : userCount > 0 ? 1 : 0;
  const powerTarget = Math.min(groupCount, Math.max(120, Math.round(groupCount * 0.3)));
  const activeUsers = users.filter((u) => !u.suspended);
  for (let p = 0; p < powerUserCount && activeUsers.length > 0; p++) {
    const user = pick(activeUsers);
    let count = members.reduce((n, group) => n + (group.has(user.primaryEmail) ? 1 : 0), 0);
    for (const g of shuffle(groupPlans.map((_, i) => i), rng)) {
      if (count >= powerTarget) break;
      if (members[g]!.has(user.primaryEmail)) continue;
      addUser(g, user, chance(0.1) ? "OWNER" : "MEMBER");
      count++;
    }
  }

  // Owners on every non-trivial group, the way Google groups always have someone in charge.
  for (const [g, group] of members.entries()) {
    const first = [...group.values()].find((m) => m.type === "USER");
    if (first && g !== allStaff) first.role = "OWNER";
  }

  // External accounts: USER members at another domain, with no Directory user behind them.
  for (const l of listGroups) {
    if (!chance(0.12)) continue;
    for (let k = 1 + int(3); k > 0; k--) {
      const email = `${emailLocal(spell(pick(GIVEN_NAMES))[1])}.${1 + int(999)}@${pick(EXTERNAL_DOMAINS)}`;
      members[l]!.set(email, { email, type: "USER", role: "MEMBER", status: "ACTIVE" });
    }
  }
  const firstAws = awsGroups[0];
  if (firstAws !== undefined) members[firstAws]!.set(`consultant@${EXTERNAL_DOMAINS[0]}`, { email: `consultant@${EXTERNAL_DOMAINS[0]}`, type: "USER", role: "MEMBER", status: "ACTIVE" });
  // One announcement list whose audience is the whole customer, as Google lets you configure.
  const announce = listGroups[0];
  if (announce !== undefined) members[announce]!.set("\0customer", { type: "CUSTOMER", role: "MEMBER", status: "ACTIVE" });

  const groups: ScenarioGoogleGroup[] = groupPlans.map((plan, g) => ({
    id: groupId(),
    email: plan.email,
    name: plan.name,
    description: plan.description,
    members: [...members[g]!.values()],
  }));

  const scenario: Scenario = {
    google: { domain: DOMAIN, customerId: `C0${Array.from({ length: 7 }, () => BASE36[int(36)]).join("")}`, adminEmail: users[0]?.primaryEmail ?? `admin@${DOMAIN}`, users, groups },
    scim: generateScim(options.scimUsers ?? 0, users, rng),
  };
  return scenario;
}

type GroupKind = "all-staff" | "department" | "team" | "aws" | "list";

interface GroupPlan {
  kind: GroupKind;
  email: string;
  name: string;
  description: string;
  department?: string;
}

/** Decides which groups exist: one all-staff list, departments, AWS access groups, teams and mailing lists. */
function planGroups(count: number, rng: () => number): GroupPlan[] {
  const plans: GroupPlan[] = [];
  if (count === 0) return plans;
  plans.push({ kind: "all-staff", email: `all-staff@${DOMAIN}`, name: "All Staff", description: "Everyone at Example Corp" });
  const departmentCount = Math.min(DEPARTMENTS.length, Math.max(count >= 4 ? 1 : 0, Math.round(count * 0.04)));
  for (const department of DEPARTMENTS.slice(0, Math.min(departmentCount, count - plans.length))) {
    const slug = department.toLowerCase();
    plans.push({ kind: "department", email: `dept-${slug}@${DOMAIN}`, name: department, description: `${department} department`, department });
  }
  const awsNames = ["readers", "developers", "operators", "admins", "breakglass"];
  for (const role of awsNames.slice(0, Math.min(awsNames.length, Math.max(0, count - plans.length - 1), Math.ceil(count / 10)))) {
    const title = role[0]!.toUpperCase() + role.slice(1);
    plans.push({ kind: "aws", email: `aws-${role}@${DOMAIN}`, name: `AWS ${title}`, description: `AWS access: ${role}` });
  }
  const remaining = count - plans.length;
  const teamCount = Math.round(remaining * 0.55);
  for (let i = 0; i < remaining; i++) {
    const isTeam = i < teamCount;
    const word = TEAM_WORDS[Math.floor(rng() * TEAM_WORDS.length)]!;
    const slug = `${isTeam ? "team" : "list"}-${word}-${i + 1}`;
    const name = isTeam ? `Team ${word[0]!.toUpperCase()}${word.slice(1)} ${i + 1}` : `${word[0]!.toUpperCase()}${word.slice(1)} list ${i + 1}`;
    plans.push({ kind: isTeam ? "team" : "list", email: `${slug}@${DOMAIN}`, name, description: isTeam ? "Engineering team" : "Mailing list" });
  }
  return plans;
}

/**
 * The tenant before the first sync: users matching Google users by userName (to be adopted), some with
 * stale attributes or a different letter case, hand-made users, and Control Tower's groups.
 */
function generateScim(count: number, googleUsers: ScenarioGoogleUser[], rng: () => number): Scenario["scim"] {
  if (count <= 0) return { users: [], groups: [] };
  const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[Math.floor(rng() * 16)]).join("");
  const scimId = () => `9067729b3d-${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  const users: ScenarioScimUser[] = [];
  const handMade = Math.max(1, Math.round(count * 0.25));
  // AWS requires givenName and familyName: mononyms cannot have been provisioned, so they are never matches.
  const candidates = googleUsers.filter((u) => u.name?.familyName);
  const matching = shuffle(candidates, rng).slice(0, Math.max(0, count - handMade));
  for (const [k, google] of matching.entries()) {
    const stale = k % 5 === 1;
    const upper = k % 7 === 3;
    const givenName = google.name?.givenName ?? "Unknown";
    const familyName = stale ? "Old-Surname" : (google.name?.familyName ?? "Unknown");
    const userName = upper ? google.primaryEmail.toUpperCase() : google.primaryEmail;
    users.push({
      id: scimId(),
      // Earlier tools (ssosync) wrote no externalId; some tenants used the Google id.
      ...(k % 4 === 0 ? { externalId: google.id } : {}),
      userName,
      name: { givenName, familyName },
      displayName: `${givenName} ${familyName}`,
      emails: [{ value: google.primaryEmail, type: "work", primary: true }],
      active: !(k % 11 === 5),
    });
  }
  const handMadeNames: [string, string, string][] = [
    ["cloud-admin", "Cloud", "Admin"],
    ["breakglass", "Break", "Glass"],
    ["audit-robot", "Audit", "Robot"],
  ];
  for (let k = 0; users.length < count; k++) {
    const [local, givenName, familyName] = handMadeNames[k] ?? [`legacy-user-${k}`, "Legacy", `User ${k}`];
    const email = k % 3 === 2 ? `${local}@${EXTERNAL_DOMAINS[1]}` : `${local}@${DOMAIN}`;
    users.push({
      id: scimId(),
      userName: email,
      name: { givenName, familyName },
      displayName: `${givenName} ${familyName}`,
      emails: [{ value: email, type: "work", primary: true }],
      active: true,
    });
  }
  const byLocal = (local: string) => users.find((u) => u.userName.startsWith(`${local}@`))?.id;
  const admins = [byLocal("cloud-admin"), byLocal("breakglass"), users[0]?.id].filter((id): id is string => id !== undefined);
  const groups: ScenarioScimGroup[] = [
    { id: scimId(), displayName: "AWSControlTowerAdmins", externalId: null, members: [...new Set(admins)] },
    { id: scimId(), displayName: "AWSSecurityAuditors", externalId: null, members: users.slice(0, 3).map((u) => u.id) },
    { id: scimId(), displayName: "AWSAccountFactory", externalId: null, members: [] },
  ];
  return { users, groups };
}

function shuffle<T>(items: T[], rng: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Splits "Display|ascii" pool entries; without an explicit ASCII form, diacritics are stripped. */
function spell(entry: string): [string, string] {
  const [display = entry, ascii] = entry.split("|");
  return [display, ascii ?? display.normalize("NFD").replace(/[\u0300-\u036f]/g, "")];
}

function emailLocal(ascii: string): string {
  return ascii.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "user";
}

function parseArgs(argv: string[]): GenerateOrgOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.split("=", 2) as [string, string | undefined];
    if (!flag.startsWith("--")) throw new Error(`unexpected argument "${arg}"`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    values.set(flag.slice(2), value);
  }
  const number = (name: string, required: boolean): number | undefined => {
    const text = values.get(name);
    values.delete(name);
    if (text === undefined) {
      if (required) throw new Error(`--${name} is required`);
      return undefined;
    }
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${text}"`);
    return n;
  };
  const options = {
    users: number("users", true)!,
    groups: number("groups", true)!,
    seed: number("seed", true)!,
    scimUsers: number("scim-users", false),
  };
  const unknown = [...values.keys()];
  if (unknown.length > 0) throw new Error(`unknown option --${unknown[0]}`);
  return options;
}

if (import.meta.main) {
  const usage = "usage: bun run scripts/gen-org.ts --users N --groups G --seed S [--scim-users K] > org.json";
  let options: GenerateOrgOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`gen-org: ${(error as Error).message}\n${usage}\n`);
    process.exit(1);
  }
  const scenario = generateOrg(options);
  try {
    // Round-trip through the loader so nothing the emulators would reject is ever written.
    parseScenario(JSON.parse(JSON.stringify(scenario)), "generated scenario");
  } catch (error) {
    process.stderr.write(`gen-org: the generated scenario is invalid: ${error instanceof ScenarioError ? error.message : String(error)}\n`);
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(scenario, null, 1)}\n`);
}
