/**
 * The generated parts of docs/api.md: the problem-type table and one section per operation, from
 * the same definitions as the document. The page's prose stays hand-written around them, between
 * `<!-- generated: NAME -->` and `<!-- end: NAME -->` markers.
 */
import { tags, type RouteDefinition } from '../../shared/api/define.js';
import { orderedRoutes } from '../../shared/routes.js';

const scopeLine = (route: RouteDefinition) => (route.scopes
  ? `Scope: ${route.scopes.map((s) => `\`${s}\``).join(' or ')}${route.authenticate ? ' (the function verifies the caller itself)' : ''}.`
  : `Scope: none (public: ${route.public}).`);

function section(route: RouteDefinition, statuses: string[]): string {
  const own = Object.entries(route.answers).map(([status, answer]) => `- **${status}**: ${answer.description}`);
  return [
    `### \`${route.method} ${route.path}\``,
    `${route.summary}. ${scopeLine(route)}`,
    ...(route.description ? [route.description] : []),
    `Answers: ${statuses.join(', ')}.`,
    own.join('\n'),
  ].join('\n\n');
}

/** The operations grouped by tag, each with exactly the status codes the document lists. */
export function operationsMarkdown(document: { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }): string {
  const all = orderedRoutes().map(([, route]) => route);
  return Object.entries(tags).flatMap(([tag, { title }]) => {
    const inTag = all.filter((route) => route.tag === tag);
    if (inTag.length === 0) return [];
    const sections = inTag.map((route) => section(route, Object.keys(document.paths[route.path]?.[route.method.toLowerCase()]?.responses ?? {})));
    return [`## ${title}`, ...sections];
  }).join('\n\n');
}

/** `page` with the text between the markers of `name` replaced by `content`. */
export function replaceGenerated(page: string, name: string, content: string): string {
  const start = `<!-- generated: ${name} (npm run openapi) -->`;
  const end = `<!-- end: ${name} -->`;
  const from = page.indexOf(start);
  const to = page.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/api.md has no ${start} … ${end} block`);
  return `${page.slice(0, from + start.length)}\n\n${content}\n\n${page.slice(to)}`;
}

