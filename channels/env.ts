// Reading provider settings from the environment: what every provider module's config loader and
// config/*.ts share. A blank value counts as unset; an invalid one is a problem naming its variable.

export type Env = Record<string, string | undefined>;

/** The trimmed value, or undefined when unset or blank. */
export function readVar(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** The names among `names` that are not set. */
export const missingVars = (env: Env, names: readonly string[]): string[] => names.filter((n) => readVar(env, n) === undefined);

/** An http(s) URL without trailing slash; `originOnly` refuses a path (API endpoints). */
export function httpUrlVar(env: Env, name: string, problems: string[], def?: string, originOnly = false): string | undefined {
  const v = readVar(env, name);
  if (v === undefined) return def;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    problems.push(`${name}: must be an http(s) URL such as ${def ?? 'https://example.com'}`);
    return def;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    problems.push(`${name}: must use http or https`);
    return def;
  }
  if (u.search || u.hash || u.username) {
    problems.push(`${name}: must not carry a query, fragment or credentials`);
    return def;
  }
  if (originOnly && u.pathname !== '/') {
    problems.push(`${name}: must be an origin without a path, such as ${def ?? 'https://example.com'}`);
    return def;
  }
  return v.replace(/\/+$/, '');
}

/** ['a'] → 'a', ['a', 'b'] → 'a or b', ['a', 'b', 'c'] → 'a, b or c' (`word` = 'or' / 'and'). */
export function listing(items: readonly string[], word: string): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} ${word} ${items[items.length - 1]}`;
}
