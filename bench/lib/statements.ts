/**
 * SQL statements per list request, counted in this process: the gateway's app (createApp, as
 * main.ts builds it) on an in-memory PGlite whose Prisma client logs every query. No timing here.
 */
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logger.ts';
import { CHAT_ORDER } from '../../src/services/chats.ts';
import { NEWEST_CONVERSATION_FIRST } from '../../src/services/conversations.ts';
import { WITHOUT_LIMITS } from './processes.ts';
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
