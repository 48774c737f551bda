import type { InferenceConfig } from '../config.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { ChatModel } from '../inference/model.ts';
import type { WebSearch } from '../inference/search.ts';
import { InferenceService } from '../inference/service.ts';
import type { Limits } from '../limits/limits.ts';
import type { Logger } from '../logger.ts';
import { ChatService } from './chats.ts';
import { ConversationService } from './conversations.ts';
import type { ChatEventBus } from './events.ts';

/** The domain, shared by the GraphQL resolvers and the legacy REST routes. */
export interface Services {
  chats: ChatService;
  conversations: ConversationService;
  inference: InferenceService;
  events: ChatEventBus;
  limits: Limits;
}

export interface ServiceDependencies {
  prisma: PrismaClient;
  events: ChatEventBus;
  model: ChatModel | null;
  search: WebSearch | null;
  inference: InferenceConfig;
  limits: Limits;
  logger: Logger;
}

export function createServices({ prisma, events, model, search, inference, limits, logger }: ServiceDependencies): Services {
  return {
    chats: new ChatService(prisma, events),
    conversations: new ConversationService(prisma, events),
    inference: new InferenceService({
      prisma,
      model,
      search,
      config: inference,
      events,
      limits,
      logger: logger.child({ component: 'inference' }),
    }),
    events,
    limits,
  };
}
