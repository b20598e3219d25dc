/**
 * What the function bundles get for `node:stream/web` (see `functionBundling.alias`). middy 6's core
 * imports `ReadableStream` from it when it loads, for its `streamifyResponse` mode alone, which the
 * service does not use; loading that module is about 5% of a function's cold import. middy 7 moved
 * that mode, and the import, into a module of its own, but it needs Node.js 22 and the service also
 * runs on 20. `instanceof` still tests for the real class, which is the global one; nothing else in
 * a bundle imports `node:stream/web` (a test checks), and the build fails if something imports any
 * other name from it.
 */
export class ReadableStream {
  static [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof globalThis.ReadableStream;
  }
}
