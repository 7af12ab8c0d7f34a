import { Router } from 'express';
import { buildOpenApiDocument } from '../openapi/openapi-document';

/**
 * GET /api/openapi.json: the OpenAPI 3.1 document of the REST API (public: it describes the API, it grants
 * nothing). Built once; the document of a running server never changes.
 */
export function openapiRouter(opts: { version: string }): Router {
  const r = Router();
  let body: string | undefined;
  r.get('/openapi.json', (_req, res) => {
    body ??= JSON.stringify(buildOpenApiDocument(opts));
    res.setHeader('Cache-Control', 'no-cache');
    res.type('application/json').send(body);
  });
  return r;
}
