import * as v from 'valibot';
import { defineRoute } from './define.js';

export const health = defineRoute({
  method: 'GET', path: '/health', handler: 'health', public: 'liveness', table: 'none',
  tag: 'service', summary: 'Liveness',
  answers: { 200: { description: 'The service is up.', schema: v.object({ status: v.literal('ok') }), example: { status: 'ok' } } },
});

export const openapiDocument = defineRoute({
  method: 'GET', path: '/openapi.json', handler: 'openapi', public: 'api-document', table: 'none',
  tag: 'service', summary: 'This document, as JSON',
  answers: {
    200: {
      description: 'The OpenAPI 3.1 document of this API.',
      schema: v.record(v.string(), v.unknown()),
      example: { openapi: '3.1.0', info: { title: 'OAuth Usage service', version: '0.3.0' }, paths: {} },
    },
  },
});
