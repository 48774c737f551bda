import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AuthConfig } from '../config.ts';
import { QUERY_TOKEN_ROUTES } from '../http/authenticate.ts';
import type { AppEnv } from '../http/env.ts';

type Document = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

/**
 * The OpenAPI 3.1 description served at /openapi.json: the route table of `app`, with how this deployment
 * takes credentials. Server URLs are relative (`/`), so the document is right behind any proxy.
 */
export function openApiDocument(app: OpenAPIHono<AppEnv>, auth: AuthConfig): Document {
  const document = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'chat-gateway legacy REST API',
      version: '1.0.0',
      description:
        'The chat API of the original seed document, kept for legacy clients. GraphQL at /graphql is the primary API. ' +
        'Errors are `{"detail", "code"}` with the HTTP status and codes listed per route; a method a path does not ' +
        'take answers 405 `METHOD_NOT_ALLOWED` with `Allow`.',
    },
    servers: [{ url: '/', description: 'This gateway' }],
  });
  document.components = { ...document.components, securitySchemes: securitySchemes(auth) };

  const credentials = [{ apiKey: [] }, ...(auth.jwt ? [{ oidc: [] }] : [])];
  // `{}`: no credential needed (AUTH=none); requests without one act as the shared anonymous owner.
  const anonymous = auth.required ? [] : [{}];
  document.security = [...credentials, ...anonymous];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    if (!QUERY_TOKEN_ROUTES.test(path) || !item.get) continue;
    item.get.security = [...credentials, { accessToken: [] }, ...anonymous];
  }
  return document;
}

function securitySchemes(auth: AuthConfig): NonNullable<Document['components']>['securitySchemes'] {
  return {
    apiKey: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'API key',
      description:
        '`Authorization: Bearer cgk_…`: an API key made by an admin (`npm run keys create`, or the GraphQL mutation ' +
        '`createApiKey`), or the ADMIN_API_KEY.',
    },
    ...(auth.jwt && {
      oidc: {
        type: 'openIdConnect',
        openIdConnectUrl: `${auth.jwt.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
        description: `\`Authorization: Bearer <JWT>\`: an access token of ${auth.jwt.issuer} for the audience ${auth.jwt.audience}.`,
      },
    }),
    accessToken: {
      type: 'apiKey',
      in: 'query',
      name: 'access_token',
      description: 'The same credential as a query parameter, on the two streaming routes only (EventSource cannot send headers).',
    },
  };
}
