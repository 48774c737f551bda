import { notFound } from '../errors.ts';
import type { Conversation, Prisma, PrismaClient } from '../generated/prisma/client.ts';
import type { Caller } from './caller.ts';
import { visibleChats } from './chats.ts';
import { type ChatEventBus, publishChatEvent } from './events.ts';
import { CreateConversationInput, isUuid, parseInput } from './inputs.ts';
import { isForeignKeyViolation } from './prisma-errors.ts';

export type ConversationQuery = { include?: Prisma.ConversationInclude; select?: Prisma.ConversationSelect };

/** A chat's messages read oldest first, in insertion order within one millisecond. */
export const CONVERSATION_ORDER: Prisma.ConversationOrderByWithRelationInput[] = [{ createdAt: 'asc' }, { seq: 'asc' }];
/** The reverse: newest first. */
export const NEWEST_CONVERSATION_FIRST: Prisma.ConversationOrderByWithRelationInput[] = [{ createdAt: 'desc' }, { seq: 'desc' }];

/** The messages `caller` may see: those of the chats they may see. */
export function visibleConversations(caller: Caller): { chat?: { ownerId?: string } } {
  return caller.admin ? {} : { chat: visibleChats(caller) };
}

export class ConversationService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: ChatEventBus,
  ) {}

  async find(caller: Caller, id: string, query: ConversationQuery = {}): Promise<Conversation | null> {
    if (!isUuid(id)) return null;
    return this.prisma.conversation.findUnique({ ...query, where: { id, ...visibleConversations(caller) } });
  }

  /** Every message of a chat, oldest first; NOT_FOUND when the caller has no such chat. */
  async listByChat(caller: Caller, chatId: string): Promise<Conversation[]> {
    const chat = isUuid(chatId)
      ? await this.prisma.chat.findUnique({
          where: { id: chatId, ...visibleChats(caller) },
          include: { conversations: { orderBy: CONVERSATION_ORDER } },
        })
      : null;
    if (!chat) throw notFound('Chat', chatId);
    return chat.conversations;
  }

  async create(caller: Caller, input: unknown, query: ConversationQuery = {}): Promise<Conversation> {
    const data = parseInput(CreateConversationInput, input);
    const chat = await this.prisma.chat.findUnique({ where: { id: data.chatId, ...visibleChats(caller) }, select: { ownerId: true } });
    if (!chat) throw notFound('Chat', data.chatId);
    let conversation: Conversation;
    try {
      // The foreign key still decides against a delete that lands between the read and the write.
      conversation = await this.prisma.conversation.create({ ...query, data });
    } catch (error) {
      throw isForeignKeyViolation(error) ? notFound('Chat', data.chatId) : error;
    }
    publishChatEvent(this.events, { type: 'CONVERSATION_CREATED', ownerId: chat.ownerId, chatId: data.chatId, conversation });
    return conversation;
  }
}
