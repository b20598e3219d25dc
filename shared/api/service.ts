import * as v from 'valibot';
import type { RouteDefinition } from './define.js';

export const health = {
  method: 'GET', path: '/health', handler: 'health', public: 'liveness', table: 'none',
  tag: 'service', summary: 'Liveness',
  answers: { 200: { description: 'The service is up.', schema: v.object({ status: v.literal('ok') }), example: { status: 'ok' } } },
} as const satisfies RouteDefinition;

export const openapiDocument = {
  method: 'GET', path: '/openapi.json', handler: 'openapi', public: 'api-document', table: 'none',
  tag: 'service', summary: 'This document, as JSON',
  answers: {
    200: {
      description: 'The OpenAPI 3.1 document of this API.',
      schema: v.record(v.string(), v.unknown()),
      example: { openapi: '3.1.0', info: { title: 'OAuth Usage service', version: '0.3.0' }, paths: {} },
    },
  },
} as const satisfies RouteDefinition;
