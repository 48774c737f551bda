import type { Chat, Prisma, PrismaClient } from '../generated/prisma/client.ts';
import { notFound } from '../errors.ts';
import { CreateChatInput, isUuid, parseInput, UpdateChatInput } from './inputs.ts';
import { type ChatEventBus, publishChatEvent } from './events.ts';
import { isRecordMissing } from './prisma-errors.ts';

/** What a GraphQL resolver may add to a read (Pothos' selection), `{}` for REST. */
export type ChatQuery = { include?: Prisma.ChatInclude; select?: Prisma.ChatSelect };
export type ChatListQuery = ChatQuery & Pick<Prisma.ChatFindManyArgs, 'cursor' | 'take' | 'skip'>;

/** Most recently updated first; id breaks ties so that cursors are stable. */
export const CHAT_ORDER: Prisma.ChatOrderByWithRelationInput[] = [{ updatedAt: 'desc' }, { id: 'desc' }];

export class ChatService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: ChatEventBus,
  ) {}

  list(query: ChatListQuery = {}): Promise<Chat[]> {
    return this.prisma.chat.findMany({ ...query, orderBy: CHAT_ORDER });
  }

  /** The chat, or null when no chat has this id (malformed ids included). */
  async find(id: string, query: ChatQuery = {}): Promise<Chat | null> {
    if (!isUuid(id)) return null;
    return this.prisma.chat.findUnique({ ...query, where: { id } });
  }

  async get(id: string, query: ChatQuery = {}): Promise<Chat> {
    const chat = await this.find(id, query);
    if (!chat) throw notFound('Chat', id);
    return chat;
  }

  async create(input: unknown, query: ChatQuery = {}): Promise<Chat> {
    const { name } = parseInput(CreateChatInput, input);
    const chat = await this.prisma.chat.create({ ...query, data: { name } });
    publishChatEvent(this.events, { type: 'CHAT_CREATED', chatId: chat.id, chat });
    return chat;
  }

  /** Renames a chat; `updatedAt`, when given, is stored as given (legacy clients set it), else now. */
  async update(id: string, input: unknown, query: ChatQuery = {}): Promise<Chat> {
    const { name, updatedAt } = parseInput(UpdateChatInput, input);
    if (!isUuid(id)) throw notFound('Chat', id);
    let chat: Chat;
    try {
      chat = await this.prisma.chat.update({ ...query, where: { id }, data: { name, updatedAt: updatedAt ?? new Date() } });
    } catch (error) {
      throw isRecordMissing(error) ? notFound('Chat', id) : error;
    }
    publishChatEvent(this.events, { type: 'CHAT_UPDATED', chatId: id, chat });
    return chat;
  }

  /** Deletes a chat and, by cascade, its conversations; answers the chat as it was. */
  async delete(id: string, query: ChatQuery = {}): Promise<Chat> {
    if (!isUuid(id)) throw notFound('Chat', id);
    let chat: Chat;
    try {
      chat = await this.prisma.chat.delete({ ...query, where: { id } });
    } catch (error) {
      throw isRecordMissing(error) ? notFound('Chat', id) : error;
    }
    publishChatEvent(this.events, { type: 'CHAT_DELETED', chatId: id, chat });
    return chat;
  }
}
