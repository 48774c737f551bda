import type { ApiKeyInfo, CreatedApiKey } from '../services/api-keys.ts';
import { ANONYMOUS_OWNER, requireAdmin } from '../services/caller.ts';
import { builder } from './builder.ts';

const ApiKeyRef = builder.objectRef<ApiKeyInfo>('ApiKey').implement({
  description: 'A credential for the API. Its secret is shown once, when it is created, and never stored.',
  fields: (t) => ({
    id: t.exposeID('id'),
    owner: t.exposeString('owner', { description: 'Whose chats the key reaches.' }),
    admin: t.exposeBoolean('admin', { description: 'Whether the key may manage keys and see every chat.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreatedApiKeyRef = builder.objectRef<CreatedApiKey>('CreatedApiKey').implement({
  description: 'A new API key: `key` is shown this once; send it as `Authorization: Bearer <key>`.',
  fields: (t) => ({
    key: t.exposeString('key'),
    id: t.id({ resolve: ({ record }) => record.id }),
    owner: t.string({ resolve: ({ record }) => record.owner }),
    admin: t.boolean({ resolve: ({ record }) => record.admin }),
    createdAt: t.field({ type: 'DateTime', resolve: ({ record }) => record.createdAt }),
  }),
});

const ViewerRef = builder.objectRef<{ owner: string; admin: boolean; anonymous: boolean }>('Viewer').implement({
  description: 'Who the request is made as.',
  fields: (t) => ({
    owner: t.exposeString('owner'),
    admin: t.exposeBoolean('admin'),
    anonymous: t.exposeBoolean('anonymous', { description: 'No credential was sent: the chats are shared by every such caller.' }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    resolve: (_root, _args, { caller }) => ({ owner: caller.owner, admin: caller.admin, anonymous: caller.owner === ANONYMOUS_OWNER }),
  }),
  apiKeys: t.field({
    description: 'Admins only: every API key (revoked ones included), or those of `owner`.',
    type: [ApiKeyRef],
    args: { owner: t.arg.string() },
    resolve: (_root, { owner }, { caller, services }) => {
      requireAdmin(caller);
      return services.apiKeys.list(owner ?? undefined);
    },
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    description: 'Admins only: a new API key for `owner` (an admin key also manages keys and sees every chat).',
    type: CreatedApiKeyRef,
    args: { owner: t.arg.string({ required: true }), admin: t.arg.boolean({ defaultValue: false, required: true }) },
    resolve: (_root, { owner, admin }, { caller, services }) => {
      requireAdmin(caller);
      return services.apiKeys.create({ owner, admin });
    },
  }),
  revokeApiKey: t.field({
    description: 'Admins only: revokes a key at once on this instance, within API_KEY_CACHE_TTL_MS on others.',
    type: ApiKeyRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { caller, services }) => {
      requireAdmin(caller);
      return services.apiKeys.revoke(id);
    },
  }),
}));
