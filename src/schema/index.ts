import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';
import './api-key.ts';
import './chat.ts';
import './chat-event.ts';
import './conversation.ts';
import './inference.ts';
import './node.ts';

export type { Context } from './builder.ts';

export const schema = lexicographicSortSchema(builder.toSchema());
