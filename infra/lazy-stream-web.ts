/**
 * What the function bundles get for `node:stream/web` (see `bundleAliases`). middy 6's core
 * imports `ReadableStream` from it when it loads, for its `streamifyResponse` mode alone, which the
 * service does not use. Loading that module is about 5% of a function's import, though the SDK
 * loads most of it on its first request anyway (bench/README.md). middy 7 moved that mode, and
 * the import, into a module of its own, but it needs Node.js 22, and the local server and the
 * tests also run on 20.
 * The stand-in is Node's own (global) `ReadableStream`, looked up only when it is used:
 * `instanceof`, `new` and its static members behave as the real class's. Nothing else in a bundle
 * imports `node:stream/web` (a test checks).
 */
// A plain function as the target: a class's `prototype` is read-only, and a proxy must then answer it as is.
export const ReadableStream: typeof globalThis.ReadableStream = new Proxy(function ReadableStream() {} as unknown as typeof globalThis.ReadableStream, {
  get: (_, name): unknown => Reflect.get(globalThis.ReadableStream, name),
  construct: (_, args): object => Reflect.construct(globalThis.ReadableStream, args) as object,
});
