/**
 * SQL statements per list request, counted in this process: the gateway's app (createApp, as
 * main.ts builds it) on an in-memory PGlite whose Prisma client logs every query. And what one list
 * costs when its chats are short or long (measureListCost).
 */
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logger.ts';
import { ANONYMOUS_OWNER } from '../../src/services/caller.ts';
import { CHAT_ORDER } from '../../src/services/chats.ts';
import { NEWEST_CONVERSATION_FIRST } from '../../src/services/conversations.ts';
import { postgresSchema, WITHOUT_LIMITS } from './processes.ts';
import { restSeedWriter, seedChats } from './seed.ts';

export interface StatementCounts {
  /** GraphQL `chats(first: n)` with each chat's last 10 conversations. */
  graphqlList: { chats: number; statements: number; sql: string[] }[];
  /** `GET /chats/`: every chat, no conversations. */
  restList: number;
  /** The raw handler's single Prisma read of 20 chats with their last 10 conversations. */
  rawList: number;
}

export const listQuery = (first: number) =>
  `query Chats { chats(first: ${first}) { edges { node { id name createdAt updatedAt ` +
  'conversations(last: 10) { edges { node { id role chatId message createdAt updatedAt } } } } } } }';

export async function countListStatements(): Promise<StatementCounts> {
  const config = loadConfig({ DATABASE_URL: 'memory://', LOG_LEVEL: 'silent', ...WITHOUT_LIMITS });
  const database = await openDatabase('memory://', { log: [{ emit: 'event', level: 'query' }] });
  const statements: string[] = [];
  (database.prisma as unknown as { $on(event: 'query', listener: (e: { query: string }) => void): void }).$on('query', (event) =>
    statements.push(event.query),
  );
  try {
    await migrate(database);
    const { fetch } = createApp({ config, database, logger: createLogger(config) });
    const appFetch = async (request: Request) => fetch(request);
    const call = (path: string, init?: RequestInit) => appFetch(new Request(`http://bench${path}`, init));
    // Seeded through the app's REST routes, as the gateway benchmark seeds.
    await seedChats(restSeedWriter('http://bench', appFetch));

    const counted = async (work: () => Promise<unknown>) => {
      statements.length = 0;
      await work();
      return [...statements];
    };
    const graphqlList = [];
    for (const chats of [1, 20]) {
      const sql = await counted(async () => {
        const response = await call('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: listQuery(chats) }),
        });
        const body = (await response.json()) as { errors?: unknown };
        if (body.errors) throw new Error(`GraphQL list failed: ${JSON.stringify(body.errors)}`);
      });
      graphqlList.push({ chats, statements: sql.length, sql });
    }
    const restList = (await counted(() => call('/chats/').then((r) => r.text()))).length;
    const rawList = (
      await counted(() =>
        database.prisma.chat.findMany({
          take: 20,
          orderBy: CHAT_ORDER,
          include: { conversations: { orderBy: NEWEST_CONVERSATION_FIRST, take: 10 } },
        }),
      )
    ).length;
    return { graphqlList, restList, rawList };
  } finally {
    await database.close();
  }
}

export interface ListCost {
  store: 'pglite' | 'postgres';
  messagesPerChat: number;
  /** CPU of this process (the app, and PGlite's engine when it is the store) per GraphQL list of 20 chats. */
  cpuMsPerList: number;
  wallMsPerList: number;
}

/**
 * GraphQL `chats(first: 20)` with each chat's last 10 conversations, in process through the app, when
 * the 20 chats hold 10 messages each and when they hold 1,000: a list should cost the same.
 */
export async function measureListCost(requests: number): Promise<ListCost[]> {
  const costs: ListCost[] = [];
  for (const store of ['pglite', 'postgres'] as const) {
    for (const messagesPerChat of [10, 1000]) {
      const schema = store === 'postgres' ? postgresSchema(`list${messagesPerChat}`) : undefined;
      const url = schema?.url ?? 'memory://';
      const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent', ...WITHOUT_LIMITS });
      const database = await openDatabase(url);
      try {
        await migrate(database);
        for (let chat = 0; chat < 20; chat += 1) {
          const { id: chatId } = await database.prisma.chat.create({ data: { name: `Chat ${chat}`, ownerId: ANONYMOUS_OWNER } });
          const start = Date.now() - messagesPerChat * 1000;
          await database.prisma.conversation.createMany({
            data: Array.from({ length: messagesPerChat }, (_, index) => ({
              chatId,
              role: index % 2 === 0 ? ('Human' as const) : ('Assistant' as const),
              message: `Message ${index}: ${'a realistic sentence length. '.repeat(3)}`,
              createdAt: new Date(start + index * 1000),
            })),
          });
        }
        const { fetch } = createApp({ config, database, logger: createLogger(config) });
        const list = async () => {
          const response = await fetch(
            new Request('http://bench/graphql', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ query: listQuery(20) }),
            }),
          );
          const body = (await response.json()) as { errors?: unknown };
          if (body.errors) throw new Error(`GraphQL list failed: ${JSON.stringify(body.errors)}`);
        };
        for (let warmup = 0; warmup < 5; warmup += 1) await list();
        const cpu = process.cpuUsage();
        const started = performance.now();
        for (let request = 0; request < requests; request += 1) await list();
        const used = process.cpuUsage(cpu);
        costs.push({
          store,
          messagesPerChat,
          cpuMsPerList: (used.user + used.system) / 1000 / requests,
          wallMsPerList: (performance.now() - started) / requests,
        });
      } finally {
        await database.close();
        await schema?.drop();
      }
    }
  }
  return costs;
}
