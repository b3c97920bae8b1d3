/**
 * @module Nested groups flattened (pure): each top-level group's users, through every group nested
 * in it, with cycle protection and a depth limit. A source whose server does not flatten (LDAP,
 * Active Directory without LDAP_MATCHING_RULE_IN_CHAIN) hands its graph here; Google flattens
 * server-side (includeDerivedMembership) and does not need it.
 */

/** One group as read: its direct user members and the keys of the groups directly in it. */
export interface GroupNode {
  /** What messages call it (its name). */
  name: string;
  users: readonly string[];
  groups: readonly string[];
}

export interface Flattened {
  /** Each root's users through every nesting level (up to the limit), unique, in discovery order. */
  members: Map<string, string[]>;
  /** One line per problem: each cycle once (by the groups' names), each root nested too deep once. */
  warnings: string[];
}

/**
 * How deep a nesting is followed. Deeper chains are almost always a loop through groups the read
 * cannot see, or a mistake; the members below the limit are left out with a warning.
 */
export const MAX_NESTING_DEPTH = 16;

/**
 * Flattens `roots` through `nodes`. A group reached twice (a diamond) counts once; a group reached
 * again on its own path is a cycle: reported once however many roots pass through it, never
 * followed round. A key with no node (a member that is not a group the read found) adds nothing.
 *
 * @example flattenGroups(["a"], new Map([["a", { name: "A", users: ["u1"], groups: ["b"] }], ["b", { name: "B", users: ["u2"], groups: ["a"] }]]))
 * // members a → [u1, u2]; warnings: one cycle, "A > B > A"
 */
export function flattenGroups(roots: readonly string[], nodes: ReadonlyMap<string, GroupNode>, maxDepth = MAX_NESTING_DEPTH): Flattened {
  const members = new Map<string, string[]>();
  const warnings: string[] = [];
  const cyclesSeen = new Set<string>();
  for (const root of roots) {
    const users = new Set<string>();
    const visited = new Set<string>();
    const path: string[] = [];
    let tooDeep: string[] | undefined;
    const visit = (key: string): void => {
      const node = nodes.get(key);
      if (node === undefined) return;
      if (path.includes(key)) {
        reportCycle([...path.slice(path.indexOf(key)), key], nodes, cyclesSeen, warnings);
        return;
      }
      if (visited.has(key)) return;
      if (path.length > maxDepth) {
        tooDeep ??= [...path, key];
        return;
      }
      visited.add(key);
      path.push(key);
      for (const user of node.users) users.add(user);
      for (const inner of node.groups) visit(inner);
      path.pop();
    };
    visit(root);
    if (tooDeep !== undefined) {
      warnings.push(
        `group ${nameOf(root, nodes)}: groups are nested more than ${maxDepth} levels deep (${tooDeep.map((k) => nameOf(k, nodes)).join(" > ")}); the members of the deeper groups are not counted`,
      );
    }
    members.set(root, [...users]);
  }
  return { members, warnings };
}

function nameOf(key: string, nodes: ReadonlyMap<string, GroupNode>): string {
  return JSON.stringify(nodes.get(key)?.name ?? key);
}

/** A cycle is the same cycle whichever group it was entered by: keyed by its set of groups. */
function reportCycle(cycle: string[], nodes: ReadonlyMap<string, GroupNode>, seen: Set<string>, warnings: string[]): void {
  const id = [...new Set(cycle)].sort().join("\n");
  if (seen.has(id)) return;
  seen.add(id);
  warnings.push(`groups nested in a cycle: ${cycle.map((k) => nameOf(k, nodes)).join(" > ")}; each group's members are counted once`);
}
