import type { PrismaClient } from '../generated/prisma/client.ts';
import { ChatService } from './chats.ts';
import { ConversationService } from './conversations.ts';

/** The domain, shared by the GraphQL resolvers and the legacy REST routes. */
export interface Services {
  chats: ChatService;
  conversations: ConversationService;
}

export function createServices(prisma: PrismaClient): Services {
  return { chats: new ChatService(prisma), conversations: new ConversationService(prisma) };
}
