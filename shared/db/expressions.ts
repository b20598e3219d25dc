/**
 * Builds `SET a = :v, …` / `REMOVE a, …` clauses for attribute maps whose names come from the
 * table definition (index attributes), with placeholders that cannot collide with a caller's.
 */
export function setClause(attributes: Record<string, unknown>, tag: string) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const parts = Object.entries(attributes).map(([name, value], i) => {
    names[`#${tag}${i}`] = name;
    values[`:${tag}${i}`] = value;
    return `#${tag}${i} = :${tag}${i}`;
  });
  return { parts, names, values };
}

export function removeClause(attributes: readonly string[], tag: string) {
  const names: Record<string, string> = {};
  const parts = attributes.map((name, i) => {
    names[`#${tag}${i}`] = name;
    return `#${tag}${i}`;
  });
  return { parts, names };
}
