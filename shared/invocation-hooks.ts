/**
 * Work every invocation awaits before its own, registered by the modules that need it (so a
 * function that does not load such a module runs none): the service secret's refresh
 * (shared/service-secret.ts). A frozen Lambda container runs nothing in the background, so what
 * must be fresh is checked at the start of each invocation.
 */
const hooks: (() => Promise<void>)[] = [];

export function beforeEachInvocation(hook: () => Promise<void>): void {
  hooks.push(hook);
}

export async function runInvocationHooks(): Promise<void> {
  if (hooks.length > 0) await Promise.all(hooks.map((hook) => hook()));
}
