/**
 * The request/response baseline: a bare `node:http` server doing the same Prisma reads as the
 * gateway's services, serialized with the REST representation, and nothing else (no router,
 * validation, logging or GraphQL). Started by bench/request-response.ts in its own process:
 *
 *   PORT=… DATABASE_URL=… [RAW_SEED=1] node --import tsx bench/raw-handler.ts
 *
 * RAW_SEED=1 migrates and seeds its own database (PGlite in memory cannot be shared with the gateway).
 *
 *   GET /chats/<id>                 one chat, as the REST route and `chat(id)` read it
 *   GET /chats                      every chat, as `GET /chats/` reads it
 *   GET /chats-with-conversations   20 chats with their last 10 messages, as the GraphQL list reads it
 */
import { createServer, type ServerResponse } from 'node:http';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { chatJson, conversationJson } from '../src/rest/representation.ts';
import { ANONYMOUS_OWNER } from '../src/services/caller.ts';
import { CHAT_ORDER } from '../src/services/chats.ts';
import { NEWEST_CONVERSATION_FIRST } from '../src/services/conversations.ts';
import { isUuid } from '../src/services/inputs.ts';
import { seedChats } from './lib/seed.ts';

const database = await openDatabase(process.env.DATABASE_URL ?? 'memory://', {
  poolSize: Number(process.env.DATABASE_POOL_SIZE ?? 10),
});
const { prisma } = database;

if (process.env.RAW_SEED === '1') {
  await migrate(database);
  await seedChats({
    createChat: async (name) => (await prisma.chat.create({ data: { name, ownerId: ANONYMOUS_OWNER } })).id,
    createConversation: async (chatId, role, message) => (await prisma.conversation.create({ data: { chatId, role, message } })).id,
  });
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

const server = createServer(async (req, res) => {
  try {
    const path = req.url ?? '/';
    if (path === '/chats') {
      send(res, 200, (await prisma.chat.findMany({ where: { ownerId: ANONYMOUS_OWNER }, orderBy: CHAT_ORDER })).map(chatJson));
    } else if (path === '/chats-with-conversations') {
      const chats = await prisma.chat.findMany({
        where: { ownerId: ANONYMOUS_OWNER },
        take: 20,
        orderBy: CHAT_ORDER,
        include: { conversations: { orderBy: NEWEST_CONVERSATION_FIRST, take: 10 } },
      });
      send(
        res,
        200,
        chats.map((chat) => ({ ...chatJson(chat), conversations: chat.conversations.reverse().map(conversationJson) })),
      );
    } else if (path.startsWith('/chats/')) {
      const id = path.slice('/chats/'.length);
      const chat = isUuid(id) ? await prisma.chat.findUnique({ where: { id, ownerId: ANONYMOUS_OWNER } }) : null;
      if (chat) send(res, 200, chatJson(chat));
      else send(res, 404, { detail: `Chat ${JSON.stringify(id)} not found`, code: 'NOT_FOUND' });
    } else {
      send(res, 404, { detail: 'no such route', code: 'NOT_FOUND' });
    }
  } catch (error) {
    send(res, 500, { detail: String(error), code: 'INTERNAL_SERVER_ERROR' });
  }
});

server.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void database.close();
});
