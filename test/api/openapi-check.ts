import type { App } from '../../src/api/app.ts';

/*
 * Checks an actual response against what the OpenAPI document declares for its route and
 * status. The body is parsed with the route's own zod schema (the one the document is
 * generated from: types, formats, enums, nullability), and compared with the document's
 * JSON Schema for fields it does not declare at all (zod strips unknown keys and JSON
 * Schema allows them, so neither would notice a field that the document never mentions).
 */

// biome-ignore lint: JSON Schema and OpenAPI objects are walked generically
type Json = any;
interface ZodLike {
  safeParse(value: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } };
}

export type RouteKey = `${'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT'} ${string}`;

export interface OpenApi {
  doc: Json;
  /** Every route of the document, as "METHOD /path/{param}". */
  routes: RouteKey[];
  /** Problems of one response; empty when it matches the declaration. */
  check(route: RouteKey, res: Response): Promise<string[]>;
}

export async function loadOpenApi(app: App): Promise<OpenApi> {
  const doc: Json = await (await app.request('/openapi.json')).json();
  const routes = Object.entries<Json>(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}` as RouteKey),
  );
  // The zod schemas behind the document, by route: the registry createApp filled.
  const zodOf = new Map<string, Json>();
  for (const d of app.openAPIRegistry.definitions) {
    if (d.type === 'route') zodOf.set(`${d.route.method.toUpperCase()} ${d.route.path}`, d.route.responses);
  }
  const resolve = (s: Json): Json => (s?.$ref ? resolve(doc.components.schemas[s.$ref.split('/').pop()]) : s);

  async function check(route: RouteKey, res: Response): Promise<string[]> {
    const [method, path] = route.split(' ') as [string, string];
    const declared = doc.paths[path]?.[method.toLowerCase()];
    if (!declared) return [`${route} is not in the document`];
    const status = String(res.status);
    const response = declared.responses[status];
    const text = await res.clone().text();
    if (!response) return [`${route} answered ${status}, which it does not declare (declared: ${Object.keys(declared.responses).join(', ')}): ${text.slice(0, 200)}`];
    if (!response.content) return text === '' ? [] : [`${route} ${status} declares no body but sent ${text.slice(0, 100)}`];
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const content = response.content[mediaType];
    if (!content) return [`${route} ${status} sent ${mediaType || 'no content type'}; declared ${Object.keys(response.content).join(', ')}`];
    let body: unknown = text;
    if (mediaType.endsWith('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        return [`${route} ${status}: body is not JSON: ${text.slice(0, 100)}`];
      }
    }
    const zod: ZodLike | undefined = zodOf.get(route)?.[status]?.content?.[mediaType]?.schema;
    if (!zod?.safeParse) return [`${route} ${status} ${mediaType}: no zod schema in the registry`];
    const problems: string[] = [];
    const parsed = zod.safeParse(body);
    for (const i of parsed.error?.issues.slice(0, 5) ?? []) {
      problems.push(`${route} ${status}: ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    }
    for (const at of undeclared(content.schema, body, '$')) problems.push(`${route} ${status}: ${at} is not in the declared schema`);
    return problems;
  }

  /** Paths in the value of fields the schema does not declare (where it lists properties). */
  function undeclared(schema: Json, value: unknown, at: string): string[] {
    const s = resolve(schema);
    if (!s || typeof s !== 'object') return [];
    const branches: Json[] | undefined = s.anyOf ?? s.oneOf;
    if (branches) {
      // The value belongs to a branch whose type admits it; fine if any such branch declares it all.
      const results = branches.filter((b) => admits(resolve(b), value)).map((b) => undeclared(b, value, at));
      return results.find((r) => r.length === 0) ?? results[0] ?? [];
    }
    if (s.allOf) return s.allOf.flatMap((b: Json) => undeclared(b, value, at));
    if (Array.isArray(value)) return s.items ? value.flatMap((v, i) => undeclared(s.items, v, `${at}[${i}]`)) : [];
    if (!value || typeof value !== 'object') return [];
    const out: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (s.properties && k in s.properties) out.push(...undeclared(s.properties[k], v, `${at}.${k}`));
      else if (s.additionalProperties !== undefined && s.additionalProperties !== false) out.push(...undeclared(s.additionalProperties, v, `${at}.${k}`));
      else if (s.properties || s.additionalProperties === false) out.push(`${at}.${k}`);
    }
    return out;
  }

  return { doc, routes, check };
}

function admits(s: Json, value: unknown): boolean {
  if (!s?.type) return true;
  const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
  const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return types.some((t) => t === actual || (t === 'integer' && actual === 'number'));
}
