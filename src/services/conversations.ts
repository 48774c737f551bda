import { notFound } from '../errors.ts';
import { type Conversation, Prisma, type PrismaClient } from '../generated/prisma/client.ts';
import type { Caller } from './caller.ts';
import { visibleChats } from './chats.ts';
import { type ChatEventBus, publishChatEvent } from './events.ts';
import { CreateConversationInput, isUuid, parseInput } from './inputs.ts';
import { isForeignKeyViolation } from './prisma-errors.ts';

export type ConversationQuery = { include?: Prisma.ConversationInclude; select?: Prisma.ConversationSelect };

/**
 * A page of a chat's messages as Prisma's findMany reads one (plugin-prisma's connection arguments): `take` > 0,
 * the first `take` after `cursor`; `take` < 0, the last `-take` before it; the cursor's own message excluded.
 */
export type ConversationPage = { take: number; cursor?: Pick<Prisma.ConversationWhereUniqueInput, 'id'> };

/** A chat's messages read oldest first, in insertion order within one millisecond. */
export const CONVERSATION_ORDER: Prisma.ConversationOrderByWithRelationInput[] = [{ createdAt: 'asc' }, { seq: 'asc' }];
/** The reverse: newest first. */
export const NEWEST_CONVERSATION_FIRST: Prisma.ConversationOrderByWithRelationInput[] = [{ createdAt: 'desc' }, { seq: 'desc' }];

/** Every column of a message (table alias `alias`) under its Prisma field name, enums as text as Prisma reads them. */
export function conversationColumns(alias: string): Prisma.Sql {
  const m = alias;
  return Prisma.raw(
    [
      `${m}.id, ${m}.seq, ${m}.role::text AS role, ${m}.chat_id AS "chatId", ${m}.message`,
      `${m}.created_at AS "createdAt", ${m}.updated_at AS "updatedAt", ${m}.reply_to_id AS "replyToId", ${m}.status::text AS status`,
      `${m}.finish_reason AS "finishReason", ${m}.prompt_tokens AS "promptTokens", ${m}.completion_tokens AS "completionTokens"`,
      `${m}.total_tokens AS "totalTokens", ${m}.error_code AS "errorCode", ${m}.error_detail AS "errorDetail", ${m}.internet`,
      `${m}.search_query AS "searchQuery", ${m}.sources, ${m}.search_error_code AS "searchErrorCode"`,
      `${m}.search_error_detail AS "searchErrorDetail", ${m}.lease_owner AS "leaseOwner", ${m}.lease_expires_at AS "leaseExpiresAt"`,
    ].join(', '),
  );
}

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

  /**
   * The same page of each chat's messages, oldest first (CONVERSATION_ORDER), for all the chats in one statement
   * that reads only the pages' rows from the index of a chat's messages in order: Prisma's nested read would fetch
   * every message of every chat and cut the pages in memory. A chat the caller may not see gets an empty page, and
   * so does a chat that holds no message named by the cursor (another chat's, another owner's, an unknown one),
   * as an unknown cursor does with Prisma, instead of a page placed by a message of somewhere else.
   */
  async pageOfEachChat(caller: Caller, chatIds: readonly string[], { take, cursor }: ConversationPage): Promise<Conversation[][]> {
    if (cursor?.id !== undefined && !isUuid(cursor.id)) return chatIds.map(() => []);
    const backward = take < 0;
    const position =
      cursor?.id === undefined
        ? Prisma.empty
        : Prisma.sql`AND (m.created_at, m.seq) ${Prisma.raw(backward ? '<' : '>')}
            (SELECT c.created_at, c.seq FROM conversations AS c WHERE c.id = ${cursor.id}::uuid AND c.chat_id = chat.id)`;
    const rows = await this.prisma.$queryRaw<Conversation[]>`
      SELECT page.* FROM chats AS chat CROSS JOIN LATERAL (
        SELECT ${conversationColumns('m')} FROM conversations AS m
        WHERE m.chat_id = chat.id ${position}
        ORDER BY ${Prisma.raw(backward ? 'm.created_at DESC, m.seq DESC' : 'm.created_at, m.seq')}
        LIMIT ${Math.abs(take)}
      ) AS page
      WHERE chat.id = ANY(${chatIds}::uuid[]) ${caller.admin ? Prisma.empty : Prisma.sql`AND chat.owner_id = ${caller.owner}`}
      ORDER BY page."createdAt", page.seq`;
    const pages = new Map<string, Conversation[]>(chatIds.map((id) => [id, []]));
    for (const row of rows) pages.get(row.chatId)!.push(row);
    return chatIds.map((id) => pages.get(id)!);
  }

  /**
   * pageOfEachChat's page, of messages held in memory (a deleted chat's, which the database no longer
   * has): the same order, the same reading of `take` and `cursor`.
   */
  pageOf(messages: readonly Conversation[], { take, cursor }: ConversationPage): Conversation[] {
    const ordered = [...messages].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || Number(a.seq - b.seq));
    const at = cursor?.id === undefined ? undefined : ordered.findIndex((message) => message.id === cursor.id);
    if (at === -1) return [];
    if (take > 0) {
      const from = at === undefined ? 0 : at + 1;
      return ordered.slice(from, from + take);
    }
    const to = at ?? ordered.length;
    return ordered.slice(Math.max(0, to + take), to);
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
