import type { Conversation, Prisma, PrismaClient } from '../generated/prisma/client.ts';
import { notFound } from '../errors.ts';
import { CreateConversationInput, isUuid, parseInput } from './inputs.ts';
import { type ChatEventBus, publishChatEvent } from './events.ts';
import { isForeignKeyViolation } from './prisma-errors.ts';

export type ConversationQuery = { include?: Prisma.ConversationInclude; select?: Prisma.ConversationSelect };

/** A chat's messages read oldest first, in insertion order within one millisecond. */
export const CONVERSATION_ORDER: Prisma.ConversationOrderByWithRelationInput[] = [{ createdAt: 'asc' }, { seq: 'asc' }];
/** The reverse: newest first. */
export const NEWEST_CONVERSATION_FIRST: Prisma.ConversationOrderByWithRelationInput[] = [{ createdAt: 'desc' }, { seq: 'desc' }];

export class ConversationService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: ChatEventBus,
  ) {}

  async find(id: string, query: ConversationQuery = {}): Promise<Conversation | null> {
    if (!isUuid(id)) return null;
    return this.prisma.conversation.findUnique({ ...query, where: { id } });
  }

  /** Every message of a chat, oldest first; NOT_FOUND when the chat does not exist. */
  async listByChat(chatId: string): Promise<Conversation[]> {
    const chat = isUuid(chatId)
      ? await this.prisma.chat.findUnique({ where: { id: chatId }, include: { conversations: { orderBy: CONVERSATION_ORDER } } })
      : null;
    if (!chat) throw notFound('Chat', chatId);
    return chat.conversations;
  }

  async create(input: unknown, query: ConversationQuery = {}): Promise<Conversation> {
    const data = parseInput(CreateConversationInput, input);
    let conversation: Conversation;
    try {
      // The foreign key decides whether the chat exists: no read-then-write race with a delete.
      conversation = await this.prisma.conversation.create({ ...query, data });
    } catch (error) {
      throw isForeignKeyViolation(error) ? notFound('Chat', data.chatId) : error;
    }
    publishChatEvent(this.events, { type: 'CONVERSATION_CREATED', chatId: data.chatId, conversation });
    return conversation;
  }
}
