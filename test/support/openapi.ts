/**
 * Checks a response against docs/openapi.json: its status is documented for the operation, its
 * media type is one the document lists (or it has no body where none is documented), its body
 * validates against that media type's schema (JSON Schema 2020-12, as OpenAPI 3.1 uses), and the
 * headers the document marks required are there.
 *
 * Ajv does the schema work. Off-the-shelf response validators were tried and left: openapi-backend 5
 * validates only `application/json` bodies and lets any status the document omits pass, which are
 * exactly the drifts this check exists to catch.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import document from '../../docs/openapi.json' with { type: 'json' };
import { matchRoute, routeKey, routes, type Route } from '../../shared/routes.js';

export interface CheckedResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  text: string;
}

interface ResponseObject {
  $ref?: string;
  headers?: Record<string, { $ref?: string; required?: boolean; schema?: { type?: string } }>;
  content?: Record<string, unknown>;
}
interface OperationObject {
  operationId: string;
  responses: Record<string, ResponseObject>;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
formats.default(ajv);
ajv.addSchema(document, 'openapi.json');

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const pointer = (...segments: string[]) => segments.map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** Every operation by its operationId, with the JSON pointer of its `responses`. */
const operations = new Map<string, { operation: OperationObject; at: string }>();
for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, unknown>>)) {
  for (const method of METHODS) {
    const operation = item[method] as OperationObject | undefined;
    if (operation) operations.set(operation.operationId, { operation, at: `#/${pointer('paths', path, method, 'responses')}` });
  }
}

const refTarget = (ref: string) => ref.slice(2).split('/').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key.replaceAll('~1', '/').replaceAll('~0', '~')], document);

const validators = new Map<string, ReturnType<typeof ajv.compile>>();
function validatorAt(schemaPointer: string) {
  let validate = validators.get(schemaPointer);
  if (!validate) {
    validate = ajv.compile({ $ref: `openapi.json${schemaPointer}` });
    validators.set(schemaPointer, validate);
  }
  return validate;
}

/** What is wrong with `response` as an answer of `responses` (at `at`); empty when it is documented. */
function check(responses: Record<string, ResponseObject>, at: string, label: string, response: CheckedResponse): string[] {
  const status = String(response.status);
  let documented = responses[status];
  let where = `${at}/${status}`;
  if (!documented) return [`${label}: status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`];
  if (documented.$ref) {
    where = documented.$ref;
    documented = refTarget(documented.$ref) as ResponseObject;
  }
  const problems: string[] = [];
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    const spec = header.$ref ? (refTarget(header.$ref) as typeof header) : header;
    const value = response.headers[name.toLowerCase()];
    if (value === undefined) {
      if (spec.required) problems.push(`${label} ${status}: header ${name} is required`);
    } else if (spec.schema?.type === 'integer' && !/^\d+$/.test(value)) {
      problems.push(`${label} ${status}: header ${name} must be an integer, got ${value}`);
    }
  }
  if (!documented.content) {
    if (response.text !== '') problems.push(`${label} ${status}: no body is documented, got ${response.text.slice(0, 200)}`);
    return problems;
  }
  const mediaType = (response.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  if (!(mediaType in documented.content)) {
    return [...problems, `${label} ${status}: media type "${mediaType}" is not documented (documented: ${Object.keys(documented.content).join(', ')})`];
  }
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    return [...problems, `${label} ${status}: the body is not JSON: ${response.text.slice(0, 200)}`];
  }
  const validate = validatorAt(`${where}/${pointer('content', mediaType, 'schema')}`);
  if (!validate(body)) {
    problems.push(`${label} ${status} ${mediaType}: ${ajv.errorsText(validate.errors, { dataVar: 'body' })} in ${JSON.stringify(body).slice(0, 400)}`);
  }
  return problems;
}

/** What is wrong with `response` as an answer of the operation `operationId`; empty when it is documented. */
export function responseProblems(operationId: string, response: CheckedResponse): string[] {
  const found = operations.get(operationId);
  if (!found) return [`operation ${operationId} is not documented`];
  return check(found.operation.responses, found.at, operationId, response);
}

/**
 * The same for an answer over HTTP: its operation is found from the method and path as the gateway
 * routes them; everything no route takes (the gateway's 401, the catch-all's 404 and 405) is checked
 * against the shared responses those answers use.
 */
export function httpResponseProblems(method: string, path: string, response: CheckedResponse): string[] {
  const match = matchRoute(method, path);
  if ('route' in match) {
    const name = Object.entries(routes as Record<string, Route>).find(([, route]) => routeKey(route) === routeKey(match.route))?.[0] as string;
    return responseProblems(name, response);
  }
  const shared = { '401': { $ref: '#/components/responses/Unauthorized' }, '404': { $ref: '#/components/responses/NotFound' }, '405': { $ref: '#/components/responses/MethodNotAllowed' } };
  return check(shared, '#/components/responses', `${method} ${path}`, response);
}

/** Throws when the response is not documented: every reply the integration tests receive goes through this. */
export function assertDocumented(problems: string[]): void {
  if (problems.length > 0) throw new Error(`Response not as docs/openapi.json documents it:\n${problems.join('\n')}`);
}

/** Every example in the document with the schema it must satisfy, for the document's own test. */
export function documentExamples(): { where: string; schemaPointer: string; value: unknown }[] {
  const found: { where: string; schemaPointer: string; value: unknown }[] = [];
  const visit = (node: unknown, at: string) => {
    if (!node || typeof node !== 'object') return;
    const media = node as { schema?: unknown; example?: unknown; examples?: Record<string, { value: unknown }> };
    if (media.schema && !Array.isArray(node)) {
      if ('example' in media) found.push({ where: at, schemaPointer: `${at}/schema`, value: media.example });
      for (const [name, example] of Object.entries(media.examples && !Array.isArray(media.examples) ? media.examples : {})) {
        found.push({ where: `${at}/examples/${name}`, schemaPointer: `${at}/schema`, value: example.value });
      }
    }
    for (const [key, child] of Object.entries(node)) visit(child, `${at}/${pointer(key)}`);
  };
  visit(document.paths, '#/paths');
  visit(document.components.responses, '#/components/responses');
  return found;
}

export function schemaProblems(schemaPointer: string, value: unknown): string[] {
  const validate = validatorAt(schemaPointer);
  return validate(value) ? [] : [ajv.errorsText(validate.errors, { dataVar: 'example' })];
}

/** A fetch for a client of the running service whose every answer is checked against docs/openapi.json (as `call` checks the handlers'). */
export function documentedFetch(fetchImpl: (request: Request) => Promise<Response> = (request) => fetch(request)): (request: Request) => Promise<Response> {
  return async (request) => {
    const method = request.method;
    const { pathname } = new URL(request.url);
    const response = await fetchImpl(request);
    const text = await response.clone().text();
    assertDocumented(httpResponseProblems(method, pathname, { status: response.status, headers: Object.fromEntries(response.headers), text }));
    return response;
  };
}
