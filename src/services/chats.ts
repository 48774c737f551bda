import { notFound } from '../errors.ts';
import type { Chat, Conversation, Prisma, PrismaClient } from '../generated/prisma/client.ts';
import type { Caller } from './caller.ts';
import { type ChatEventBus, publishChatEvent } from './events.ts';
import { CreateChatInput, isUuid, parseInput, UpdateChatInput } from './inputs.ts';
import { isRecordMissing } from './prisma-errors.ts';

/** What a GraphQL resolver may add to a read (Pothos' selection), `{}` for REST. */
export type ChatQuery = { include?: Prisma.ChatInclude; select?: Prisma.ChatSelect };
export type ChatListQuery = ChatQuery & Pick<Prisma.ChatFindManyArgs, 'cursor' | 'take' | 'skip'>;

/** Most recently updated first; id breaks ties so that cursors are stable. */
export const CHAT_ORDER: Prisma.ChatOrderByWithRelationInput[] = [{ updatedAt: 'desc' }, { id: 'desc' }];

/**
 * The chats `caller` may see: their own, or every chat for an admin. Another owner's chat is simply not
 * there (404, never 403), so that nobody learns it exists.
 */
export function visibleChats(caller: Caller): { ownerId?: string } {
  return caller.admin ? {} : { ownerId: caller.owner };
}

export class ChatService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: ChatEventBus,
  ) {}

  list(caller: Caller, query: ChatListQuery = {}): Promise<Chat[]> {
    // A cursor naming another owner's chat is no cursor at all (an empty page, as for an unknown id):
    // else the page's position would tell that the chat exists, and when it was last updated.
    const cursor = query.cursor && { ...query.cursor, ...visibleChats(caller) };
    return this.prisma.chat.findMany({ ...query, cursor, where: visibleChats(caller), orderBy: CHAT_ORDER });
  }

  /** The chat, or null when the caller has no chat with this id (malformed ids included). */
  async find(caller: Caller, id: string, query: ChatQuery = {}): Promise<Chat | null> {
    if (!isUuid(id)) return null;
    return this.prisma.chat.findUnique({ ...query, where: { id, ...visibleChats(caller) } });
  }

  async get(caller: Caller, id: string, query: ChatQuery = {}): Promise<Chat> {
    const chat = await this.find(caller, id, query);
    if (!chat) throw notFound('Chat', id);
    return chat;
  }

  async create(caller: Caller, input: unknown, query: ChatQuery = {}): Promise<Chat> {
    const { name } = parseInput(CreateChatInput, input);
    const chat = await this.prisma.chat.create({ ...query, data: { name, ownerId: caller.owner } });
    publishChatEvent(this.events, { type: 'CHAT_CREATED', ownerId: caller.owner, chatId: chat.id, chat });
    return chat;
  }

  /** Renames a chat; `updatedAt`, when given, is stored as given (legacy clients set it), else now. */
  async update(caller: Caller, id: string, input: unknown, query: ChatQuery = {}): Promise<Chat> {
    const { name, updatedAt } = parseInput(UpdateChatInput, input);
    if (!isUuid(id)) throw notFound('Chat', id);
    let chat: Chat;
    try {
      chat = await this.prisma.chat.update({
        ...withOwner(query),
        where: { id, ...visibleChats(caller) },
        data: { name, updatedAt: updatedAt ?? new Date() },
      });
    } catch (error) {
      throw isRecordMissing(error) ? notFound('Chat', id) : error;
    }
    publishChatEvent(this.events, { type: 'CHAT_UPDATED', ownerId: chat.ownerId, chatId: id, chat });
    return chat;
  }

  /**
   * Deletes a chat and, by cascade, its conversations; answers the chat as it was, with its
   * conversations when asked (`withConversations`: they can no longer be read afterwards).
   */
  async delete(caller: Caller, id: string, query: ChatQuery = {}, { withConversations = false } = {}): Promise<Chat | ChatAsDeleted> {
    if (!isUuid(id)) throw notFound('Chat', id);
    let chat: Chat | ChatAsDeleted;
    try {
      chat = await this.prisma.chat.delete({
        ...(withConversations ? includingConversations(withOwner(query)) : withOwner(query)),
        where: { id, ...visibleChats(caller) },
      });
    } catch (error) {
      throw isRecordMissing(error) ? notFound('Chat', id) : error;
    }
    // The event carries the chat alone: a long chat's messages are not sent to every subscriber and instance.
    const { conversations: _conversations, ...deleted } = chat as Partial<ChatAsDeleted> & Chat;
    publishChatEvent(this.events, { type: 'CHAT_DELETED', ownerId: chat.ownerId, chatId: id, chat: deleted });
    return chat;
  }
}

/** A deleted chat, with the conversations deleted with it. */
export type ChatAsDeleted = Chat & { conversations: Conversation[] };

function includingConversations(query: ChatQuery): ChatQuery {
  return query.select
    ? { ...query, select: { ...query.select, conversations: true } }
    : { ...query, include: { ...query.include, conversations: true } };
}

/** A GraphQL selection narrowed with `select` still reads the owner, whom the chat's event is for. */
function withOwner(query: ChatQuery): ChatQuery {
  return query.select ? { ...query, select: { ...query.select, ownerId: true } } : query;
}
